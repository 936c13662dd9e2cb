/* The subcommands of the gradflow binary. */
#ifndef GRADFLOW_COMMANDS_H
#define GRADFLOW_COMMANDS_H

#include <gradflow.h>

PetscErrorCode GFCommandRun(const char[]);
PetscErrorCode GFCommandStudy(const char[]);
PetscErrorCode GFCommandParticles(const char[]);
PetscErrorCode GFCommandCompare(void);
PetscErrorCode GFBenchConvolution(void);
PetscErrorCode GFBenchStep(void);
PetscErrorCode GFBenchJKO(void);
PetscErrorCode GFBenchRun(const char[], PetscReal *, GFRunStatistics *, PetscLogDouble *, GFDiagnostics *);
PetscErrorCode GFCommandBench(const char[]);
PetscErrorCode GFCommandPlot(const char[], const char[], const char[]);

#endif
