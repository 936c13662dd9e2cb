/*
  Option and mesh files, checked before PETSc reads them: PETSc stops with a traceback on
  a missing file, a YAML syntax error ("YAML parser loading error", no file, no line), a
  top-level list or binary junk. Here each problem is one message with the file and the
  line: a regular, readable text file of at most 1 MiB; YAML (.yaml, .yml) as a flat
  mapping of option: value, value a scalar or a list of scalars, each key once; PETSc's
  plain format as lines of -option [value].
*/
#include "base.h"
#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define GF_OPTIONS_FILE_MAX_BYTES (1 << 20)

/* The whole file as a NUL-terminated string (free() it); 0, or a PETSc error code with msg filled. */
static int ReadText(const char path[], char **text, size_t *size, char msg[], size_t len)
{
  struct stat st;
  FILE       *f;
  char       *buffer;
  const char *nul;

  *text = NULL;
  if (stat(path, &st)) {
    snprintf(msg, len, "%s: %s", path, strerror(errno));
    return PETSC_ERR_FILE_OPEN;
  }
  if (S_ISDIR(st.st_mode)) {
    snprintf(msg, len, "%s: is a directory, not a file", path);
    return PETSC_ERR_FILE_OPEN;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(msg, len, "%s: not a regular file", path);
    return PETSC_ERR_FILE_OPEN;
  }
  if (st.st_size > GF_OPTIONS_FILE_MAX_BYTES) {
    snprintf(msg, len, "%s: %lld bytes, more than an options file may hold (%d)", path, (long long)st.st_size, GF_OPTIONS_FILE_MAX_BYTES);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  if (!(f = fopen(path, "rb"))) {
    snprintf(msg, len, "%s: cannot open it: %s", path, strerror(errno));
    return PETSC_ERR_FILE_OPEN;
  }
  buffer = (char *)malloc((size_t)st.st_size + 1);
  if (!buffer || fread(buffer, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
    snprintf(msg, len, "%s: cannot read it", path);
    free(buffer);
    fclose(f);
    return PETSC_ERR_FILE_READ;
  }
  fclose(f);
  buffer[st.st_size] = 0;
  if ((nul = memchr(buffer, 0, (size_t)st.st_size))) {
    snprintf(msg, len, "%s: holds binary data (a NUL byte at offset %lld), not the text of options", path, (long long)(nul - buffer));
    free(buffer);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  *text = buffer;
  *size = (size_t)st.st_size;
  return 0;
}

/* Whether path names a YAML file (PETSc's rule: the extension). */
static PetscBool IsYAML(const char path[])
{
  const char *dot = strrchr(path, '.');
  return (PetscBool)(dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml")));
}

static const char *NodeText(const yaml_node_t *node)
{
  return (const char *)node->data.scalar.value;
}

/* The flat mapping of a YAML options document: 0, or the code with msg naming file, line and key. */
static int CheckYAMLDocument(const char path[], yaml_document_t *doc, char msg[], size_t len)
{
  yaml_node_t *root = yaml_document_get_root_node(doc);

  if (!root || (root->type == YAML_SCALAR_NODE && !NodeText(root)[0])) return 0;
  if (root->type != YAML_MAPPING_NODE) {
    snprintf(msg, len, "%s: line %lu: the file must be a mapping of options (key: value lines), not a %s", path, (unsigned long)root->start_mark.line + 1, root->type == YAML_SEQUENCE_NODE ? "list" : "single value");
    return PETSC_ERR_USER_INPUT;
  }
  for (yaml_node_pair_t *pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
    yaml_node_t        *key = yaml_document_get_node(doc, pair->key), *value = yaml_document_get_node(doc, pair->value);
    const unsigned long line = key ? (unsigned long)key->start_mark.line + 1 : 0;

    if (!key || !value || key->type != YAML_SCALAR_NODE || !NodeText(key)[0]) {
      snprintf(msg, len, "%s: line %lu: a key must be an option name", path, line);
      return PETSC_ERR_USER_INPUT;
    }
    if (NodeText(key)[0] == '-' || NodeText(key)[0] == '$' || !strcmp(NodeText(key), "<<")) {
      snprintf(msg, len, "%s: line %lu: key '%s': write option names without the leading '-', and no YAML merge keys or anchors", path, line, NodeText(key));
      return PETSC_ERR_USER_INPUT;
    }
    for (yaml_node_pair_t *earlier = root->data.mapping.pairs.start; earlier < pair; earlier++) {
      yaml_node_t *other = yaml_document_get_node(doc, earlier->key);
      if (other && other->type == YAML_SCALAR_NODE && !strcmp(NodeText(other), NodeText(key))) {
        snprintf(msg, len, "%s: line %lu: key '%s' is set twice (also on line %lu)", path, line, NodeText(key), (unsigned long)other->start_mark.line + 1);
        return PETSC_ERR_USER_INPUT;
      }
    }
    if (value->type == YAML_MAPPING_NODE) {
      snprintf(msg, len, "%s: line %lu: key '%s' holds nested keys; options files are flat (key: value, or key: [a, b])", path, line, NodeText(key));
      return PETSC_ERR_USER_INPUT;
    }
    if (value->type == YAML_SCALAR_NODE && !NodeText(value)[0]) {
      snprintf(msg, len, "%s: line %lu: key '%s' has no value (write %s: true for a switch)", path, line, NodeText(key), NodeText(key));
      return PETSC_ERR_USER_INPUT;
    }
    if (value->type == YAML_SEQUENCE_NODE) {
      if (value->data.sequence.items.start == value->data.sequence.items.top) {
        snprintf(msg, len, "%s: line %lu: key '%s' holds an empty list", path, line, NodeText(key));
        return PETSC_ERR_USER_INPUT;
      }
      for (yaml_node_item_t *item = value->data.sequence.items.start; item < value->data.sequence.items.top; item++) {
        yaml_node_t *entry = yaml_document_get_node(doc, *item);
        if (!entry || entry->type != YAML_SCALAR_NODE || !NodeText(entry)[0]) {
          snprintf(msg, len, "%s: line %lu: key '%s': a list may hold only plain values", path, entry ? (unsigned long)entry->start_mark.line + 1 : line, NodeText(key));
          return PETSC_ERR_USER_INPUT;
        }
      }
    }
  }
  return 0;
}

static int CheckYAML(const char path[], const char text[], size_t size, char msg[], size_t len)
{
  yaml_parser_t   parser;
  yaml_document_t doc;
  int             code = 0, documents = 0;

  if (!yaml_parser_initialize(&parser)) {
    snprintf(msg, len, "%s: cannot start the YAML parser", path);
    return PETSC_ERR_LIB;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
  while (!code) {
    yaml_node_t *root;
    if (!yaml_parser_load(&parser, &doc)) {
      if (parser.context)
        snprintf(msg, len, "%s: line %lu, column %lu: not valid YAML: %s %s that begins on line %lu", path, (unsigned long)parser.problem_mark.line + 1, (unsigned long)parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error",
                 parser.context, (unsigned long)parser.context_mark.line + 1);
      else
        snprintf(msg, len, "%s: line %lu, column %lu: not valid YAML: %s", path, (unsigned long)parser.problem_mark.line + 1, (unsigned long)parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error");
      code = PETSC_ERR_USER_INPUT;
      break;
    }
    root = yaml_document_get_root_node(&doc);
    if (!root) {
      yaml_document_delete(&doc);
      break;
    }
    if (++documents > 1) {
      snprintf(msg, len, "%s: line %lu: a second YAML document ('---'); an options file holds one", path, (unsigned long)root->start_mark.line + 1);
      code = PETSC_ERR_USER_INPUT;
    } else
      code = CheckYAMLDocument(path, &doc, msg, len);
    yaml_document_delete(&doc);
  }
  yaml_parser_delete(&parser);
  return code;
}

/* PETSc's plain format: every line blank, a '#' comment, "-option [value]" or "alias -a -b". */
static int CheckPlain(const char path[], char text[], char msg[], size_t len)
{
  unsigned long line = 0;

  for (char *rest = text; rest && *rest;) {
    char *end = strchr(rest, '\n'), *s = rest;
    if (end) *end = 0;
    rest = end ? end + 1 : NULL;
    line++;
    while (isspace((unsigned char)*s)) s++;
    if (!*s || *s == '#' || *s == '!' || *s == '%' || !strncmp(s, "alias", 5)) continue;
    if (*s != '-' || !isalpha((unsigned char)s[1])) {
      char token[48];
      snprintf(token, sizeof(token), "%.*s", (int)strcspn(s, " \t\r"), s);
      snprintf(msg, len, "%s: line %lu: '%s' is not an option (lines read -option value; a YAML file needs the extension .yaml)", path, line, token);
      return PETSC_ERR_USER_INPUT;
    }
  }
  return 0;
}

/* Check an options or mesh file (YAML when yaml or its extension says so): 0, or a PETSc error code with msg. Needs no PETSc. */
PETSC_INTERN int GFOptionsFileCheck(const char path[], PetscBool yaml, char msg[], size_t len)
{
  char  *text;
  size_t size = 0;
  int    code = ReadText(path, &text, &size, msg, len);

  if (code) return code;
  code = yaml || IsYAML(path) ? CheckYAML(path, text, size, msg, len) : CheckPlain(path, text, msg, len);
  free(text);
  return code;
}

/* Every -options_file and -options_file_yaml of the command line, checked in order: 0, or the first problem. */
PETSC_INTERN int GFOptionsFilesCheckArgs(int argc, char **argv, char msg[], size_t len)
{
  for (int i = 1; i < argc; i++) {
    const PetscBool plain = (PetscBool)!strcmp(argv[i], "-options_file"), yaml = (PetscBool)!strcmp(argv[i], "-options_file_yaml");
    char            detail[PETSC_MAX_PATH_LEN + 512];
    int             code;

    if (!plain && !yaml) continue;
    if (i + 1 >= argc || argv[i + 1][0] == '-') {
      snprintf(msg, len, "%s needs a file name", argv[i]);
      return PETSC_ERR_USER_INPUT;
    }
    code = GFOptionsFileCheck(argv[i + 1], yaml, detail, sizeof(detail));
    if (code) {
      snprintf(msg, len, "%s %s", argv[i], detail);
      return code;
    }
    i++;
  }
  return 0;
}
