/*
  Strict options. PETSc reads "-da_grid_x 4294967360" as 64 (a 32-bit wrap), "-ts_max_time
  nan" as NaN and an option nobody asks for as nothing at all; gradflow's readers check
  the raw text first: the whole value must be a number (an integer where one is asked
  for), finite, inside the option's range, a list must not be longer than its use, a
  string must fit its buffer. Each failure is a user-input error that names the option,
  the value and what is valid. The names asked for are remembered, so that an option
  nobody read can be reported with the nearest known name.
*/
#include "base.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <strings.h>

#define GF_MAX_KNOWN_OPTIONS 512

/* Names asked for by gradflow's readers in this process: the candidates of "did you mean". */
static char known_names[GF_MAX_KNOWN_OPTIONS][GF_NAME_LEN];
static int  known_count;

static void RememberName(const char name[])
{
  for (int k = 0; k < known_count; k++)
    if (!strcmp(known_names[k], name)) return;
  if (known_count < GF_MAX_KNOWN_OPTIONS) snprintf(known_names[known_count++], GF_NAME_LEN, "%s", name);
}

/* A real number written whole (strtod's syntax, surrounding blanks allowed); false for "", "1.5x", "DEFAULT". */
PETSC_INTERN PetscBool GFParseReal(const char text[], PetscReal *value)
{
  char  *end;
  double v;

  if (!text) return PETSC_FALSE;
  while (isspace((unsigned char)*text)) text++;
  if (!*text) return PETSC_FALSE;
  errno = 0;
  v     = strtod(text, &end);
  if (end == text) return PETSC_FALSE;
  while (isspace((unsigned char)*end)) end++;
  if (*end) return PETSC_FALSE;
  *value = (PetscReal)v;
  return PETSC_TRUE;
}

/* A decimal integer written whole that fits 64 bits; false for "64.5", "1e6", "abc". */
PETSC_INTERN PetscBool GFParseInt(const char text[], PetscInt64 *value)
{
  char     *end;
  long long v;

  if (!text) return PETSC_FALSE;
  while (isspace((unsigned char)*text)) text++;
  if (!*text) return PETSC_FALSE;
  errno = 0;
  v     = strtoll(text, &end, 10);
  if (end == text || errno == ERANGE) return PETSC_FALSE;
  while (isspace((unsigned char)*end)) end++;
  if (*end) return PETSC_FALSE;
  *value = (PetscInt64)v;
  return PETSC_TRUE;
}

/* "in [a, b]", "> a", ">= a", "<= b" or "any finite number": the valid values, for messages. */
static void RealRangeText(PetscReal min, PetscReal max, int flags, char text[], size_t len)
{
  const PetscBool low = (PetscBool)(min > -PETSC_MAX_REAL), high = (PetscBool)(max < PETSC_MAX_REAL);

  if (low && high)
    snprintf(text, len, "in %c%.6g, %.6g%c", flags & GF_RANGE_OPEN_MIN ? '(' : '[', (double)min, (double)max, flags & GF_RANGE_OPEN_MAX ? ')' : ']');
  else if (low)
    snprintf(text, len, "%s %.6g", flags & GF_RANGE_OPEN_MIN ? ">" : ">=", (double)min);
  else if (high)
    snprintf(text, len, "%s %.6g", flags & GF_RANGE_OPEN_MAX ? "<" : "<=", (double)max);
  else
    snprintf(text, len, "any finite number");
}

static PetscBool RealInRange(PetscReal v, PetscReal min, PetscReal max, int flags)
{
  if (flags & GF_RANGE_OPEN_MIN ? !(v > min) : !(v >= min)) return PETSC_FALSE;
  if (flags & GF_RANGE_OPEN_MAX ? !(v < max) : !(v <= max)) return PETSC_FALSE;
  return PETSC_TRUE;
}

static void IntRangeText(PetscInt64 min, PetscInt64 max, char text[], size_t len)
{
  if (min > PETSC_MIN_INT && max < PETSC_MAX_INT)
    snprintf(text, len, "an integer in [%lld, %lld]", (long long)min, (long long)max);
  else if (min > PETSC_MIN_INT)
    snprintf(text, len, "an integer >= %lld", (long long)min);
  else
    snprintf(text, len, "an integer <= %lld", (long long)max);
}

/*
  Pass ierr on, ending the caller's PetscOptionsBegin block first when it is an error:
  PetscOptionsBegin copies the block's title and prefix, which only PetscOptionsEnd frees,
  and an error returned from inside the block skips it.
*/
PETSC_INTERN PetscErrorCode GFOptionsEndOnError(PetscOptionItems *o, PetscErrorCode ierr)
{
  if (ierr) (void)PetscOptionsEnd_Private(o);
  return ierr;
}

/* The raw text of an option (NULL when it has none) and whether it is given at all. */
static PetscErrorCode RawValue(PetscOptionItems *o, const char name[], const char **raw, PetscBool *given)
{
  PetscFunctionBeginUser;
  RememberName(name);
  PetscCall(PetscOptionsFindPair(o->options, o->prefix, name, raw, given));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One number of a real option's text: finite and in range, else the error that says why. */
static PetscErrorCode CheckRealText(MPI_Comm comm, const char name[], const char whole[], const char text[], PetscReal min, PetscReal max, int flags, PetscReal *value)
{
  char      valid[96];
  PetscReal v = 0;

  PetscFunctionBeginUser;
  RealRangeText(min, max, flags, valid, sizeof(valid));
  PetscCheck(GFParseReal(text, &v), comm, PETSC_ERR_USER_INPUT, "%s %s: '%s' is not a number (valid: %s)", name, whole, text, valid);
  PetscCheck(!PetscIsInfOrNanReal(v), comm, PETSC_ERR_USER_INPUT, "%s %s: not a finite number (valid: %s)", name, whole, valid);
  PetscCheck(RealInRange(v, min, max, flags), comm, PETSC_ERR_USER_INPUT, "%s %s: out of range (valid: %s)", name, whole, valid);
  if (value) *value = v;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckIntText(MPI_Comm comm, const char name[], const char whole[], const char text[], PetscInt64 min, PetscInt64 max)
{
  char       valid[96];
  PetscInt64 v = 0;
  PetscReal  r;

  PetscFunctionBeginUser;
  IntRangeText(min, max, valid, sizeof(valid));
  if (!GFParseInt(text, &v)) {
    PetscCheck(!GFParseReal(text, &r), comm, PETSC_ERR_USER_INPUT, "%s %s: '%s' is not an integer; write it with digits only (valid: %s)", name, whole, text, valid);
    SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s %s: '%s' is not an integer (valid: %s)", name, whole, text, valid);
  }
  PetscCheck(v >= min && v <= max, comm, PETSC_ERR_USER_INPUT, "%s %s: out of range (valid: %s)", name, whole, valid);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The text of an integer option, when given: an integer in [min, max]. */
static PetscErrorCode ValidateInt(PetscOptionItems *o, const char name[], PetscInt min, PetscInt max)
{
  const char *raw;
  PetscBool   given;
  char        valid[96];

  PetscFunctionBeginUser;
  PetscCall(RawValue(o, name, &raw, &given));
  if (!given) PetscFunctionReturn(PETSC_SUCCESS);
  IntRangeText(min, max, valid, sizeof(valid));
  PetscCheck(raw && raw[0], o->comm, PETSC_ERR_USER_INPUT, "%s needs a value (%s)", name, valid);
  PetscCall(CheckIntText(o->comm, name, raw, raw, min, max));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The text of a real option, when given: a finite number in the range. */
static PetscErrorCode ValidateReal(PetscOptionItems *o, const char name[], PetscReal min, PetscReal max, int flags)
{
  const char *raw;
  PetscBool   given;
  char        valid[96];

  PetscFunctionBeginUser;
  PetscCall(RawValue(o, name, &raw, &given));
  if (!given) PetscFunctionReturn(PETSC_SUCCESS);
  RealRangeText(min, max, flags, valid, sizeof(valid));
  PetscCheck(raw && raw[0], o->comm, PETSC_ERR_USER_INPUT, "%s needs a value (%s)", name, valid);
  PetscCall(CheckRealText(o->comm, name, raw, raw, min, max, flags, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The text of a truth-value option, when given with a value: one PETSc understands. */
static PetscErrorCode ValidateBool(PetscOptionItems *o, const char name[])
{
  const char *const valid[] = {"1", "0", "true", "false", "yes", "no", "on", "off"};
  const char       *raw;
  PetscBool         given, ok = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(RawValue(o, name, &raw, &given));
  if (!given || !raw || !raw[0]) PetscFunctionReturn(PETSC_SUCCESS);
  for (size_t k = 0; k < sizeof(valid) / sizeof(valid[0]); k++) ok = (PetscBool)(ok || !strcasecmp(raw, valid[k]));
  PetscCheck(ok, o->comm, PETSC_ERR_USER_INPUT, "%s %s: not a truth value (valid: true or false, 1 or 0, yes or no, on or off; alone it means true)", name, raw);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A string option's text, when given: not empty, and short enough for a buffer of len characters. */
static PetscErrorCode ValidateString(PetscOptionItems *o, const char name[], size_t len)
{
  const char *raw;
  PetscBool   given;

  PetscFunctionBeginUser;
  PetscCall(RawValue(o, name, &raw, &given));
  if (!given) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(raw && raw[0], o->comm, PETSC_ERR_USER_INPUT, "%s needs a value", name);
  PetscCheck(strlen(raw) < len, o->comm, PETSC_ERR_USER_INPUT, "%s: the value has %zu characters, more than the %zu this option holds", name, strlen(raw), len - 1);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Split a list option's text at commas and check each entry with check(): at most capacity of them. */
static PetscErrorCode ValidateList(PetscOptionItems *o, const char name[], PetscInt capacity, PetscErrorCode (*check)(MPI_Comm, const char[], const char[], const char[], const void *), const void *ctx)
{
  const char *raw;
  PetscBool   given;
  char       *copy, *item, *rest;
  PetscInt    n = 0;

  PetscFunctionBeginUser;
  PetscCall(RawValue(o, name, &raw, &given));
  if (!given) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(raw && raw[0], o->comm, PETSC_ERR_USER_INPUT, "%s needs a value: a comma-separated list", name);
  PetscCall(PetscStrallocpy(raw, &copy));
  for (rest = copy; rest;) {
    char *comma = strchr(rest, ',');
    item        = rest;
    if (comma) *comma = 0;
    rest = comma ? comma + 1 : NULL;
    if (++n <= capacity) {
      PetscErrorCode ierr = check(o->comm, name, raw, item, ctx);
      if (ierr) {
        PetscCall(PetscFree(copy));
        PetscCall(ierr);
      }
    }
  }
  PetscCall(PetscFree(copy));
  PetscCheck(n <= capacity, o->comm, PETSC_ERR_USER_INPUT, "%s %s: %" PetscInt_FMT " values, more than the %" PetscInt_FMT " this option takes", name, raw, n, capacity);
  PetscFunctionReturn(PETSC_SUCCESS);
}

typedef struct {
  PetscReal min, max;
  int       flags;
} RealBounds;

static PetscErrorCode CheckRealItem(MPI_Comm comm, const char name[], const char whole[], const char item[], const void *ctx)
{
  const RealBounds *b = (const RealBounds *)ctx;

  PetscFunctionBeginUser;
  PetscCall(CheckRealText(comm, name, whole, item, b->min, b->max, b->flags, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CheckIntItem(MPI_Comm comm, const char name[], const char whole[], const char item[], const void *ctx)
{
  const PetscInt *bounds = (const PetscInt *)ctx;

  PetscFunctionBeginUser;
  PetscCall(CheckIntText(comm, name, whole, item, bounds[0], bounds[1]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFOptionsInt_Private(PetscOptionItems *o, const char name[], const char help[], const char manual[], PetscInt current, PetscInt *value, PetscBool *set, PetscInt min, PetscInt max)
{
  PetscFunctionBeginUser;
  PetscCall(GFOptionsEndOnError(o, ValidateInt(o, name, min, max)));
  PetscCall(PetscOptionsInt_Private(o, name, help, manual, current, value, set, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFOptionsReal_Private(PetscOptionItems *o, const char name[], const char help[], const char manual[], PetscReal current, PetscReal *value, PetscBool *set, PetscReal min, PetscReal max, int flags)
{
  PetscFunctionBeginUser;
  PetscCall(GFOptionsEndOnError(o, ValidateReal(o, name, min, max, flags)));
  PetscCall(PetscOptionsReal_Private(o, name, help, manual, current, value, set));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFOptionsBool_Private(PetscOptionItems *o, const char name[], const char help[], const char manual[], PetscBool current, PetscBool *value, PetscBool *set)
{
  PetscFunctionBeginUser;
  PetscCall(GFOptionsEndOnError(o, ValidateBool(o, name)));
  PetscCall(PetscOptionsBool_Private(o, name, help, manual, current, value, set));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFOptionsString_Private(PetscOptionItems *o, const char name[], const char help[], const char manual[], const char current[], char value[], size_t len, PetscBool *set)
{
  PetscFunctionBeginUser;
  PetscCall(GFOptionsEndOnError(o, ValidateString(o, name, len)));
  PetscCall(PetscOptionsString_Private(o, name, help, manual, current, value, len, set));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A name from a function list (-model, -potential): an unknown name is refused by the list's SetType. */
PETSC_INTERN PetscErrorCode GFOptionsFList_Private(PetscOptionItems *o, const char name[], const char help[], const char manual[], PetscFunctionList list, const char current[], char value[], size_t len, PetscBool *set)
{
  PetscFunctionBeginUser;
  PetscCall(GFOptionsEndOnError(o, ValidateString(o, name, len)));
  PetscCall(PetscOptionsFList_Private(o, name, help, manual, list, current, value, len, set));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A comma list of at most *n reals; on return *n is the number given. */
PETSC_INTERN PetscErrorCode GFOptionsRealArray_Private(PetscOptionItems *o, const char name[], const char help[], const char manual[], PetscReal values[], PetscInt *n, PetscBool *set, PetscReal min, PetscReal max, int flags)
{
  const RealBounds bounds = {min, max, flags};

  PetscFunctionBeginUser;
  PetscCall(GFOptionsEndOnError(o, ValidateList(o, name, *n, CheckRealItem, &bounds)));
  PetscCall(PetscOptionsRealArray_Private(o, name, help, manual, values, n, set));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFOptionsIntArray_Private(PetscOptionItems *o, const char name[], const char help[], const char manual[], PetscInt values[], PetscInt *n, PetscBool *set, PetscInt min, PetscInt max)
{
  const PetscInt bounds[2] = {min, max};

  PetscFunctionBeginUser;
  PetscCall(GFOptionsEndOnError(o, ValidateList(o, name, *n, CheckIntItem, bounds)));
  PetscCall(PetscOptionsIntArray_Private(o, name, help, manual, values, n, set));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The index of value among names, or an error listing them. */
static PetscErrorCode FindChoice(MPI_Comm comm, const char option[], const char value[], const char *const names[], PetscInt n, const char valid[], PetscInt *choice)
{
  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < n; k++)
    if (!strcmp(value, names[k])) {
      *choice = k;
      PetscFunctionReturn(PETSC_SUCCESS);
    }
  SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s %s: valid are %s", option, value, valid);
}

/*
  A choice among names: "-option value: valid are a, b, c" for any other (PetscOptionsEList
  refuses with an error that is not a user-input error). Collective.
*/
PETSC_INTERN PetscErrorCode GFOptionsChoice_Private(PetscOptionItems *o, const char option[], const char help[], const char manual[], const char *const names[], PetscInt n, PetscInt *choice, PetscBool *set)
{
  char      value[GF_NAME_LEN], valid[256] = "", text[512];
  PetscBool given;

  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < n; k++) {
    PetscCall(PetscStrlcat(valid, names[k], sizeof(valid)));
    if (k + 1 < n) PetscCall(PetscStrlcat(valid, ", ", sizeof(valid)));
  }
  PetscCall(PetscSNPrintf(text, sizeof(text), "%s: %s", help, valid));
  PetscCall(GFOptionsString_Private(o, option, text, manual, names[*choice], value, sizeof(value), &given));
  if (set) *set = given;
  if (given) PetscCall(GFOptionsEndOnError(o, FindChoice(o->comm, option, value, names, n, valid, choice)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Levenshtein distance of two short strings (at most GF_NAME_LEN characters are compared). */
static int EditDistance(const char a[], const char b[])
{
  int       row[GF_NAME_LEN + 1];
  const int la = (int)PetscMin(strlen(a), GF_NAME_LEN), lb = (int)PetscMin(strlen(b), GF_NAME_LEN);

  for (int j = 0; j <= lb; j++) row[j] = j;
  for (int i = 1; i <= la; i++) {
    int diagonal = row[0];
    row[0]       = i;
    for (int j = 1; j <= lb; j++) {
      const int above = row[j];
      row[j]          = PetscMin(PetscMin(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] != b[j - 1]));
      diagonal        = above;
    }
  }
  return row[lb];
}

/* The known option nearest to name (within a third of its length), as " (did you mean -x?)", or "". */
PETSC_INTERN PetscErrorCode GFOptionsSuggest(const char name[], char suggestion[], size_t len)
{
  int best = -1, distance = INT_MAX;

  PetscFunctionBeginUser;
  suggestion[0] = 0;
  for (int k = 0; k < known_count; k++) {
    const int d = EditDistance(name, known_names[k]);
    if (d < distance) {
      distance = d;
      best     = k;
    }
  }
  if (best >= 0 && distance > 0 && distance <= PetscMax(1, (int)strlen(name) / 3)) snprintf(suggestion, len, " (did you mean %s?)", known_names[best]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* PETSc's own start-up and shut-down options, and those its solvers read only when they first solve or view: never reported here. */
static PetscBool ReadLate(const char name[])
{
  const char *const prefixes[] = {"help",
                                  "version",
                                  "info",
                                  "log",
                                  "malloc",
                                  "options_",
                                  "memory_",
                                  "objects_",
                                  "citations",
                                  "on_error",
                                  "error_traceback",
                                  "fp_trap",
                                  "check_pointer",
                                  "no_signal_handler",
                                  "start_in_debugger",
                                  "debugger",
                                  "stop_for_debugger",
                                  "display",
                                  "nox",
                                  "x_virtual",
                                  "viewer_",
                                  "mpi_",
                                  "saws",
                                  "get_total_flops",
                                  "history",
                                  "skip_petscrc",
                                  "checkstack",
                                  "use_gpu_aware_mpi",
                                  "device_",
                                  "mg_levels_",
                                  "mg_coarse_",
                                  "sub_",
                                  "fieldsplit_",
                                  "options_left"};

  for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++)
    if (!strncmp(name, prefixes[k], strlen(prefixes[k]))) return PETSC_TRUE;
  return (PetscBool)(strstr(name, "view") != NULL);
}

static PetscBool HasPrefix(const char name[], const char *const prefixes[])
{
  for (const char *const *p = prefixes; p && *p; p++)
    if (!strncmp(name, *p, strlen(*p))) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* Whether option name (no dash) is unused in every database of dbs. */
static PetscErrorCode UnusedEverywhere(const char name[], PetscInt ndb, PetscOptions dbs[], PetscBool *unused)
{
  PetscFunctionBeginUser;
  *unused = PETSC_TRUE;
  for (PetscInt d = 1; d < ndb && *unused; d++) {
    PetscInt  n;
    char    **names;
    PetscBool found = PETSC_FALSE, used_here;
    PetscCall(PetscOptionsLeftGet(dbs[d], &n, &names, NULL));
    for (PetscInt k = 0; k < n && !found; k++) found = (PetscBool)!strcmp(names[k], name);
    PetscCall(PetscOptionsLeftRestore(dbs[d], &n, &names, NULL));
    {
      char dashed[GF_NAME_LEN + 2];
      PetscCall(PetscSNPrintf(dashed, sizeof(dashed), "-%s", name));
      PetscCall(PetscOptionsHasName(dbs[d], NULL, dashed, &used_here));
    }
    /* present and used in this database: the option was read there */
    if (used_here && !found) *unused = PETSC_FALSE;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  After a command has read all its options (its objects set up, before any work or file):
  every option given but read by nobody is an error, unless it belongs to another
  command (foreign, e.g. -particles_n in a problem file that `gradflow run` reads too),
  is one PETSc reads at start-up, shut-down or first solve, or -options_left no is
  given. dbs[0] is the command's database, the others those of nested runs (a study's
  levels); an option counts as read when any of them read it. Collective.
*/
PetscErrorCode GFOptionsCheckUnused(MPI_Comm comm, PetscInt ndb, PetscOptions dbs[], const char *const foreign[])
{
  PetscBool check = PETSC_TRUE, set;
  PetscInt  n, reported = 0;
  char    **names, **values, message[4096] = "";

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetBool(dbs[0], NULL, "-options_left", &check, &set));
  if (set && !check) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscOptionsLeftGet(dbs[0], &n, &names, &values));
  for (PetscInt k = 0; k < n; k++) {
    PetscBool unused;
    char      line[GF_NAME_LEN + 256], dashed[GF_NAME_LEN + 2], suggestion[GF_NAME_LEN + 32];

    if (ReadLate(names[k]) || HasPrefix(names[k], foreign)) continue;
    PetscCall(UnusedEverywhere(names[k], ndb, dbs, &unused));
    if (!unused) continue;
    PetscCall(PetscSNPrintf(dashed, sizeof(dashed), "-%s", names[k]));
    PetscCall(GFOptionsSuggest(dashed, suggestion, sizeof(suggestion)));
    PetscCall(PetscSNPrintf(line, sizeof(line), "%s%s%s%s%s", reported ? "; " : "", dashed, values[k] ? " " : "", values[k] ? values[k] : "", suggestion));
    PetscCall(PetscStrlcat(message, line, sizeof(message)));
    reported++;
  }
  PetscCall(PetscOptionsLeftRestore(dbs[0], &n, &names, &values));
  PetscCheck(!reported, comm, PETSC_ERR_USER_INPUT, "%s %s: %s not read by this command with these settings (misspelt, or meant for another model, scheme or command); remove %s, or add -options_left no to allow unused options",
             reported > 1 ? "options" : "option", message, reported > 1 ? "they are" : "it is", reported > 1 ? "them" : "it");
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  A per-axis list of reals inside a PetscOptionsBegin/End block: one finite value (for
  every axis) or exactly dim. Entries of values[] keep their defaults when the option is
  absent.
*/
PetscErrorCode GFOptionsAxisReals_Private(PetscOptionItems *PetscOptionsObject, const char name[], const char help[], PetscInt dim, PetscReal values[], PetscBool *set)
{
  PetscReal read[GRADFLOW_MAX_DIM];
  PetscInt  n = GRADFLOW_MAX_DIM;
  PetscBool found;

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < dim; a++) read[a] = values[a];
  PetscCall(GFOptionsRealArray(name, help, "", read, &n, &found, GF_REAL_ANY));
  if (set) *set = found;
  if (!found) PetscFunctionReturn(PETSC_SUCCESS);
  GFOptionsCheck(n == 1 || n == dim, PetscOptionsObject->comm, PETSC_ERR_USER_INPUT, "%s has %" PetscInt_FMT " entries, but -dim %" PetscInt_FMT " needs %" PetscInt_FMT " (one per axis) or 1 (the same for every axis)", name, n, dim, dim);
  for (PetscInt a = 0; a < dim; a++) values[a] = read[n == 1 ? 0 : a];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* "a, b, c" from the names in a function list. */
PETSC_INTERN PetscErrorCode GFNameList(PetscFunctionList list, char buf[], size_t len)
{
  const char **names;
  int          n;

  PetscFunctionBeginUser;
  buf[0] = 0;
  PetscCall(PetscFunctionListGet(list, &names, &n));
  for (int i = 0; i < n && names[i]; i++) {
    if (i) PetscCall(PetscStrlcat(buf, ", ", len));
    PetscCall(PetscStrlcat(buf, names[i], len));
  }
  PetscCall(PetscFree(names));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The function registered under type in list, or a user-input error "OPTION TYPE: unknown WHAT; valid are A, B, ...". */
PETSC_INTERN PetscErrorCode GFRegistryFind(MPI_Comm comm, PetscFunctionList list, const char option[], const char what[], const char type[], PetscVoidFunction *fn)
{
  char names[512];

  PetscFunctionBeginUser;
  PetscCall(PetscFunctionListFind(list, type, fn));
  if (*fn) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFNameList(list, names, sizeof(names)));
  SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s %s: unknown %s; valid are %s", option, type, what, names);
}

/* The raw value of an option of the global database that PETSc reads itself (-ts_dt): a number, finite, in range. Collective. */
PETSC_INTERN PetscErrorCode GFOptionsCheckReal(MPI_Comm comm, const char name[], PetscReal min, PetscReal max, int flags)
{
  const char *raw;
  PetscBool   given;
  char        valid[96];

  PetscFunctionBeginUser;
  RememberName(name);
  PetscCall(PetscOptionsFindPair(NULL, NULL, name, &raw, &given));
  if (!given) PetscFunctionReturn(PETSC_SUCCESS);
  RealRangeText(min, max, flags, valid, sizeof(valid));
  PetscCheck(raw && raw[0], comm, PETSC_ERR_USER_INPUT, "%s needs a value (%s)", name, valid);
  PetscCall(CheckRealText(comm, name, raw, raw, min, max, flags, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Likewise for an integer option PETSc reads itself (-ts_max_steps). Collective. */
PETSC_INTERN PetscErrorCode GFOptionsCheckInt(MPI_Comm comm, const char name[], PetscInt min, PetscInt max)
{
  const char *raw;
  PetscBool   given;
  char        valid[96];

  PetscFunctionBeginUser;
  RememberName(name);
  PetscCall(PetscOptionsFindPair(NULL, NULL, name, &raw, &given));
  if (!given) PetscFunctionReturn(PETSC_SUCCESS);
  IntRangeText(min, max, valid, sizeof(valid));
  PetscCheck(raw && raw[0], comm, PETSC_ERR_USER_INPUT, "%s needs a value (%s)", name, valid);
  PetscCall(CheckIntText(comm, name, raw, raw, min, max));
  PetscFunctionReturn(PETSC_SUCCESS);
}
