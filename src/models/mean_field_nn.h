/*
  The learning problem of the mean_field_nn model, shared by the model (the density of neurons
  on the grid), the particle system (the width-N network) and compare (the risk gap).

  A two-layer network in the mean-field scaling is a measure rho over neurons theta in R^D:
  f(x) = int phi(x; theta) rho(dtheta). Its risk on data (x, y) is
      R(rho) = 1/2 E (y - f(x))^2,
  and the first variation of R is dR/drho(theta) = E[(f(x) - y) phi(x; theta)]
  = V(theta) + int W(theta, theta') rho(dtheta'), V = -E[y phi], W = E[phi phi'].
  E is the mean over an M-point sample (drawn once, or read from a file), or for linear
  neurons with Gaussian inputs the population expectation, where only the first moment
  m = int theta rho enters: f(x) = m . x, R = |beta - m|^2 / 2, dR/drho = theta . (m - beta).
*/
#ifndef GRADFLOW_MEAN_FIELD_NN_H
#define GRADFLOW_MEAN_FIELD_NN_H

#include "models.h"

/* phi(x; theta) for theta in R^dim and an input x, with grad_theta phi into grad when not NULL. */
typedef PetscReal (*GFNeuronFn)(PetscInt dim, const PetscReal theta[], const PetscReal x[], PetscReal grad[]);

/* A neuron type of -nn_neuron: its function and where its inputs live. */
typedef struct {
  GFNeuronFn phi;
  PetscInt   input_dim; /* 0: x in R^dim (theta = input weights w); k > 0: x in R^k */
  PetscInt   theta_dim; /* 0: any -dim; else the only one (theta = (a, w) in R^2) */
  PetscBool  linear;    /* phi = theta . x: the population closed form applies */
  PetscBool  scaled;    /* phi(x; (a, w)) = a phi(x; (1, w)): points with the same w share their pass over the data */
} GFNeuron;
typedef const GFNeuron *(*GFNeuronGetter)(void);

PETSC_INTERN PetscErrorCode GFNeuronRegister(const char[], GFNeuronGetter);
PETSC_INTERN PetscErrorCode GFNeuronRegisterAll(void);
PETSC_INTERN PetscErrorCode GFNeuronFind(MPI_Comm, const char[], const GFNeuron **);
PETSC_INTERN PetscErrorCode GFNeuronListTypes(char[], size_t);

typedef enum { GF_NN_DATA_GAUSSIAN, GF_NN_DATA_FILE } GFNeuralDataType;

struct _p_GFNeuralNet {
  MPI_Comm         comm;
  char             neuron_name[GF_NAME_LEN];
  const GFNeuron  *neuron;
  PetscInt         dim, input_dim; /* theta in R^dim, x in R^input_dim */
  PetscReal        weight_decay;   /* lambda */
  GFNeuralDataType data;
  char             file[PETSC_MAX_PATH_LEN];
  PetscReal        teacher[64], teacher_weights[32];                                    /* linear: beta; else the teacher neurons, flat */
  PetscInt         nteacher, nteacher_weights;                                          /* values given */
  PetscInt         samples, seed;                                                       /* -nn_samples (0: population closed form), -nn_seed */
  PetscBool        population;                                                          /* linear neurons, Gaussian inputs, no sample */
  PetscReal       *x, *y;                                                               /* samples x input_dim inputs and their labels, on every rank */
  PetscReal       *output, *residual;                                                   /* f(x_m) and f(x_m) - y_m of the last measure */
  PetscReal        moment[3];                                                           /* population: m = int theta rho of the last measure */
  PetscReal        risk;                                                                /* R of the last measure */
  PetscInt         nprobes;                                                             /* -nn_probes: inputs x_p (input_dim each) where the network's output is reported */
  PetscReal        probe_x[GRADFLOW_MAX_PROBES * 3], probe_output[GRADFLOW_MAX_PROBES]; /* ... and f(x_p) of the last measure */
};

PETSC_INTERN PetscErrorCode GFNeuralNetCreate(MPI_Comm, GFNeuralNet *);
PETSC_INTERN PetscErrorCode GFNeuralNetSetFromOptions(GFNeuralNet, PetscOptionItems *, PetscInt);
PETSC_INTERN PetscErrorCode GFNeuralNetSetUp(GFNeuralNet);
/* The network of the measure sum_i (scale w_i) delta_{theta_i} over every rank's points (w NULL: all w_i = 1): outputs, residuals, risk. Collective on comm. */
PETSC_INTERN PetscErrorCode GFNeuralNetSetMeasure(GFNeuralNet, MPI_Comm, PetscInt, const PetscReal[], const PetscReal[], PetscReal, PetscReal *);
/* dR/drho(theta_i) of the last measure for n points, and its gradient (n x dim) when grad is not NULL. */
PETSC_INTERN PetscErrorCode GFNeuralNetFirstVariation(GFNeuralNet, PetscInt, const PetscReal[], PetscReal[], PetscReal[]);
PETSC_INTERN PetscErrorCode GFNeuralNetView(GFNeuralNet, PetscViewer);
PETSC_INTERN PetscErrorCode GFNeuralNetDestroy(GFNeuralNet *);

#endif
