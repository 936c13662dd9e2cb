/*
  The gradflow binary: gradflow [run|study|...] [PETSc options].
  The first argument names the subcommand (run when omitted); every setting is a
  PETSc option, usually from -options_file problems/NAME.yaml.
*/
#include "commands.h"
#include <libgen.h>

static const char usage[] = "gradflow: finite-volume solvers for the continuum limits of particle dynamics\n"
                            "(Fokker-Planck, porous medium, McKean-Vlasov, SVGD) on distributed grids.\n\n"
                            "usage: [mpirun -n N] gradflow [run] [-options_file problems/NAME.yaml] [options]\n"
                            "       gradflow run -help      lists every option of a run\n"
                            "       gradflow study [-options_file problems/study_NAME.yaml] [options]\n"
                            "                               errors and observed orders on a ladder of grids or steps\n"
                            "       gradflow particles [-options_file problems/NAME.yaml] [options]\n"
                            "                               the model's N-particle system, from the same options as run\n"
                            "       gradflow compare -pde DIR [-particles SOURCE]\n"
                            "                               particle clouds (gradflow's, or .h5/.csv/.npy) against a PDE run\n"
                            "       gradflow compare -pde DIR -particle_counts N1,N2,.. -particle_replicas R\n"
                            "                               N-sweep: replicated particle runs, standard errors, rates in N\n"
                            "       gradflow bench step|convolution|porous_medium|particles|jko [options]   timings\n\n"
                            "Examples:\n"
                            "  mpirun -n 2 gradflow run -options_file problems/fokker_planck_2d.yaml\n"
                            "  gradflow study -options_file problems/study_fokker_planck_1d.yaml -study_levels 5\n"
                            "  gradflow particles -options_file problems/particles_ou_1d.yaml && gradflow compare -pde output/particles_ou_1d\n"
                            "  gradflow run -model fokker_planck -potential quadratic -init_mean 1 -init_variance 0.25 -exact\n\n";

/* The problem's name from -options_file DIR/NAME.yaml in the arguments (last one wins), or "" when absent. */
static void ProblemName(int argc, char **argv, char name[], size_t len)
{
  name[0] = 0;
  for (int i = 1; i + 1 < argc; i++) {
    if (strcmp(argv[i], "-options_file") && strcmp(argv[i], "-options_file_yaml")) continue;
    char copy[PETSC_MAX_PATH_LEN], *base, *dot;
    snprintf(copy, sizeof(copy), "%s", argv[i + 1]);
    base = basename(copy);
    dot  = strrchr(base, '.');
    if (dot && dot != base) *dot = 0;
    snprintf(name, len, "%s", base);
  }
}

/*
  PETSc's own messages name the value but not the option ("Input string abc has no numeric
  value", "Unable to find requested PC type nonsense"): find the one option whose value the
  message names, as a whole word, and name it: " (-pc_type nonsense)". "" when none or several.
*/
static void GFOptionForMessage(const char message[], char option[], size_t len)
{
  char    *all, *token, *save = NULL, *previous = NULL;
  PetscInt found = 0;
  char     match[256];

  option[0] = 0;
  if (!message || PetscOptionsGetAll(NULL, &all)) return;
  for (token = strtok_r(all, " ", &save); token; previous = token, token = strtok_r(NULL, " ", &save)) {
    const char  *at;
    const size_t n = strlen(token);
    if (!previous || previous[0] != '-' || token[0] == '-' || n < 2) continue;
    for (at = strstr(message, token); at; at = strstr(at + 1, token)) {
      const char before = at == message ? ' ' : at[-1], after = at[n];
      if ((before == ' ' || before == '\'') && (after == 0 || after == ' ' || after == '\'' || after == '.' || after == ',')) break;
    }
    if (at && !strstr(message, previous)) {
      snprintf(match, sizeof(match), " (%s %s)", previous, token);
      found++;
    }
  }
  PetscFree(all);
  if (found == 1) snprintf(option, len, "%s", match);
}

/* Run one subcommand; errors come back as codes, their message kept by PETSc. */
static PetscErrorCode Dispatch(const char command[], const char argument[], const char problem[])
{
  PetscFunctionBeginUser;
  if (!strcmp(command, "run"))
    PetscCall(GFCommandRun(problem));
  else if (!strcmp(command, "study"))
    PetscCall(GFCommandStudy(problem));
  else if (!strcmp(command, "particles"))
    PetscCall(GFCommandParticles(problem));
  else if (!strcmp(command, "compare"))
    PetscCall(GFCommandCompare());
  else if (!strcmp(command, "bench"))
    PetscCall(GFCommandBench(argument));
  else
    SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "unknown command '%s'; valid are run, study, particles, compare, bench", command);
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  const char    *command = "run", *argument = "";
  char           problem[256];
  PetscErrorCode ierr;
  PetscMPIInt    rank = 0;

  if (argc > 1 && argv[1][0] != '-') {
    command = argv[1];
    argv[1] = argv[0];
    argv++;
    argc--;
    if (argc > 1 && argv[1][0] != '-') {
      argument = argv[1];
      argv[1]  = argv[0];
      argv++;
      argc--;
    }
  }
  ProblemName(argc, argv, problem, sizeof(problem));
  ierr = GFInitialize(&argc, &argv, usage);
  if (ierr) return GFExitCode(ierr);
  ierr = Dispatch(command, argument, problem);
  if (ierr) {
    const char *text;
    char       *message;
    PetscErrorMessage(ierr, &text, &message);
    MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
    if (GFErrorIsCollective(ierr)) {
      char option[256] = "";
      /* gradflow's own messages name their option or file; PETSc's (other codes) may not */
      if (ierr != PETSC_ERR_USER_INPUT && ierr != PETSC_ERR_FILE_OPEN && ierr != PETSC_ERR_FILE_READ && ierr != PETSC_ERR_FILE_WRITE && ierr != PETSC_ERR_FILE_UNEXPECTED) GFOptionForMessage(message, option, sizeof(option));
      if (rank == 0) fprintf(stderr, "gradflow: error: %s%s\n", message && message[0] ? message : text, option);
      fflush(stderr);
      GFFinalize();
      return GFExitCode(ierr);
    }
    fprintf(stderr, "gradflow: error on rank %d: %s (%s; -error_traceback shows where)\n", rank, message && message[0] ? message : text, text ? text : "");
    fflush(stderr);
    MPI_Abort(PETSC_COMM_WORLD, 1);
  }
  ierr = GFFinalize();
  return ierr ? 1 : 0;
}
