/*
  GFNeuralNet: the data, the teacher and the two dense passes of the mean_field_nn model.

  Data (-nn_data):
    gaussian  inputs x ~ N(0, I) labelled by a teacher (-nn_teacher): for linear neurons the
              vector beta (y = beta . x; default (1, -0.5, 0.25) cut to the dimension), else K
              teacher neurons given as one flat list of K theta's, with output weights
              -nn_teacher_weights (default 1/K each: a teacher of mass 1, which a student of
              mass 1 can represent), y = sum_k a_k phi(x; theta_k). Linear neurons use the
              population expectation (E x x^T = I) unless -nn_samples M > 0; other neurons an
              M-point sample (default 1000) drawn once from the counter-based generator with
              -nn_seed, the same on every rank.
    file      -nn_data_file: CSV or NPY rows (x_1 .. x_k, y), k the neuron's input dimension.

  The passes (M samples, n points theta_i of weight w_i, on every rank its own points):
    outputs     f(x_m) = sum_i w_i phi(x_m; theta_i): O(M n) per rank, one Allreduce of M numbers;
    variation   dR/drho(theta_i) = (1/M) sum_m (f(x_m) - y_m) phi(x_m; theta_i): O(M n), local.
  Linear neurons need only the first moment m = sum_i w_i theta_i: f(x_m) = m . x_m and
  dR/drho(theta) = theta . g, g = (1/M) sum_m r_m x_m: O(n + M), with samples or without.
*/
#include "mean_field_nn.h"
#include "../io/io.h"

static const char *const GFNeuralDataTypes[] = {"gaussian", "file"};

PETSC_INTERN PetscErrorCode GFNeuralNetCreate(MPI_Comm comm, GFNeuralNet *net)
{
  GFNeuralNet n;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&n));
  n->comm    = comm;
  n->samples = -1;
  n->seed    = 1;
  PetscCall(PetscStrncpy(n->neuron_name, "linear", sizeof(n->neuron_name)));
  *net = n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -nn_neuron, -nn_data, -nn_data_file, -nn_teacher, -nn_teacher_weights, -nn_samples, -nn_seed, -nn_weight_decay for neurons theta in R^dim; the data is made in GFNeuralNetSetUp. */
PETSC_INTERN PetscErrorCode GFNeuralNetSetFromOptions(GFNeuralNet n, PetscOptionItems *PetscOptionsObject, PetscInt dim)
{
  PetscInt  data = GF_NN_DATA_GAUSSIAN, nt = 64, nw = 32;
  PetscBool set, wset;
  char      names[256];

  PetscFunctionBeginUser;
  n->dim = dim;
  PetscCall(GFNeuronListTypes(names, sizeof(names)));
  PetscOptionsHeadBegin(PetscOptionsObject, "Mean-field neural network");
  PetscCall(GFOptionsString("-nn_neuron", names, "GFNeuralNetSetFromOptions", n->neuron_name, n->neuron_name, sizeof(n->neuron_name), NULL));
  PetscCall(GFOptionsEndOnError(PetscOptionsObject, GFNeuronFind(n->comm, n->neuron_name, &n->neuron)));
  GFOptionsCheck(!n->neuron->theta_dim || n->neuron->theta_dim == dim, n->comm, PETSC_ERR_USER_INPUT, "-nn_neuron %s: its neurons are theta = (a, w) in R^%" PetscInt_FMT ", so it needs -dim %" PetscInt_FMT ", not %" PetscInt_FMT, n->neuron_name,
                 n->neuron->theta_dim, n->neuron->theta_dim, dim);
  n->input_dim = n->neuron->input_dim ? n->neuron->input_dim : dim;
  PetscCall(GFOptionsChoice("-nn_data", "Training data: gaussian inputs with a teacher, or a file of (x, y) rows", "GFNeuralNetSetFromOptions", GFNeuralDataTypes, 2, &data, NULL));
  n->data = (GFNeuralDataType)data;
  PetscCall(GFOptionsString("-nn_data_file", "-nn_data file: CSV or NPY rows (x_1, .., x_k, y)", "GFNeuralNetSetFromOptions", n->file, n->file, sizeof(n->file), &set));
  GFOptionsCheck(n->data == GF_NN_DATA_FILE || !set, n->comm, PETSC_ERR_USER_INPUT, "-nn_data_file %s belongs to -nn_data file", n->file);
  GFOptionsCheck(n->data != GF_NN_DATA_FILE || n->file[0], n->comm, PETSC_ERR_USER_INPUT, "-nn_data file needs -nn_data_file PATH (CSV or NPY rows x_1, .., x_%" PetscInt_FMT ", y)", n->input_dim);
  PetscCall(GFOptionsRealArray("-nn_teacher", "Teacher: beta (linear neurons), else its neurons' theta as one flat list", "GFNeuralNetSetFromOptions", n->teacher, &nt, &set, GF_REAL_ANY));
  n->nteacher = set ? nt : 0;
  PetscCall(GFOptionsRealArray("-nn_teacher_weights", "Output weights of the teacher's neurons (default 1/K each)", "GFNeuralNetSetFromOptions", n->teacher_weights, &nw, &wset, GF_REAL_ANY));
  n->nteacher_weights = wset ? nw : 0;
  GFOptionsCheck(n->data == GF_NN_DATA_GAUSSIAN || !(set || wset), n->comm, PETSC_ERR_USER_INPUT, "-nn_teacher and -nn_teacher_weights belong to -nn_data gaussian: -nn_data file takes the labels from the file");
  PetscCall(GFOptionsInt("-nn_samples", "Data points M (0: the population expectation, linear neurons only; default: 0 for linear neurons, else 1000)", "GFNeuralNetSetFromOptions", n->samples, &n->samples, &set, 0, PETSC_MAX_INT));
  if (!set) n->samples = n->neuron->linear ? 0 : 1000;
  GFOptionsCheck(n->samples > 0 || n->neuron->linear, n->comm, PETSC_ERR_USER_INPUT, "-nn_samples 0: the population expectation has a closed form for linear neurons only; -nn_neuron %s needs M > 0 samples", n->neuron_name);
  GFOptionsCheck(n->data == GF_NN_DATA_GAUSSIAN || !set, n->comm, PETSC_ERR_USER_INPUT, "-nn_samples belongs to -nn_data gaussian: -nn_data file takes every row of the file");
  PetscCall(GFOptionsInt("-nn_seed", "Seed of the Gaussian sample", "GFNeuralNetSetFromOptions", n->seed, &n->seed, NULL, 0, PETSC_MAX_INT));
  PetscCall(GFOptionsReal("-nn_weight_decay", "Weight decay lambda: lambda |theta|^2/2 in xi", "GFNeuralNetSetFromOptions", n->weight_decay, &n->weight_decay, NULL, GF_REAL_NONNEGATIVE));
  {
    /* the probes: by default the unit vectors e_1 .. e_k and -e_1 */
    PetscInt np = GRADFLOW_MAX_PROBES * n->input_dim;
    PetscCall(
        GFOptionsRealArray("-nn_probes", "Inputs x_p (one flat list, input dimension each) where diagnostics.csv reports the network's output f_probe1, ..; default e_1 .. e_k, -e_1", "GFNeuralNetSetFromOptions", n->probe_x, &np, &set, GF_REAL_ANY));
    if (set) {
      GFOptionsCheck(np > 0 && np % n->input_dim == 0, n->comm, PETSC_ERR_USER_INPUT, "-nn_probes has %" PetscInt_FMT " values: the inputs are x in R^%" PetscInt_FMT ", so it takes a multiple of %" PetscInt_FMT " (at most %d probes)", np,
                     n->input_dim, n->input_dim, GRADFLOW_MAX_PROBES);
      n->nprobes = np / n->input_dim;
    } else {
      n->nprobes = n->input_dim + 1;
      PetscCall(PetscArrayzero(n->probe_x, n->nprobes * n->input_dim));
      for (PetscInt a = 0; a < n->input_dim; a++) n->probe_x[a * n->input_dim + a] = 1;
      n->probe_x[n->input_dim * n->input_dim] = -1;
    }
  }
  PetscOptionsHeadEnd();
  n->population = (PetscBool)(n->data == GF_NN_DATA_GAUSSIAN && n->samples == 0);
  if (n->data == GF_NN_DATA_GAUSSIAN && n->neuron->linear) {
    PetscCheck(!n->nteacher_weights, n->comm, PETSC_ERR_USER_INPUT, "-nn_teacher_weights: linear neurons take the teacher as one vector beta (-nn_teacher), y = beta . x, without weights");
    PetscCheck(!n->nteacher || n->nteacher == n->input_dim, n->comm, PETSC_ERR_USER_INPUT, "-nn_teacher has %" PetscInt_FMT " values, but the linear teacher beta lives in R^%" PetscInt_FMT " (-dim %" PetscInt_FMT ")", n->nteacher, n->input_dim, dim);
  } else if (n->data == GF_NN_DATA_GAUSSIAN) {
    PetscCheck(n->nteacher % dim == 0, n->comm, PETSC_ERR_USER_INPUT, "-nn_teacher has %" PetscInt_FMT " values: the teacher's neurons are theta in R^%" PetscInt_FMT ", so it takes a multiple of %" PetscInt_FMT " (one flat list of neurons)",
               n->nteacher, dim, dim);
    PetscCheck(n->nteacher / dim <= 32, n->comm, PETSC_ERR_USER_INPUT, "-nn_teacher: %" PetscInt_FMT " teacher neurons, at most 32", n->nteacher / dim);
    PetscCheck(!n->nteacher_weights || n->nteacher_weights == PetscMax(n->nteacher / dim, 1), n->comm, PETSC_ERR_USER_INPUT, "-nn_teacher_weights has %" PetscInt_FMT " values for %" PetscInt_FMT " teacher neurons: give one output weight per neuron",
               n->nteacher_weights, PetscMax(n->nteacher / dim, 1));
  }
  if (n->data == GF_NN_DATA_GAUSSIAN && !n->nteacher) {
    const PetscReal preset[3] = {1, -0.5, 0.25};
    n->nteacher               = n->neuron->linear ? n->input_dim : dim;
    for (PetscInt k = 0; k < n->nteacher; k++) n->teacher[k] = preset[k];
  }
  for (PetscInt k = 0; k < n->nteacher + n->nteacher_weights; k++) {
    const PetscReal v = k < n->nteacher ? n->teacher[k] : n->teacher_weights[k - n->nteacher];
    PetscCheck(PetscIsNormalReal(v) || v == 0, n->comm, PETSC_ERR_USER_INPUT, "%s: value %" PetscInt_FMT " is %g, not a finite number", k < n->nteacher ? "-nn_teacher" : "-nn_teacher_weights", (k < n->nteacher ? k : k - n->nteacher) + 1, (double)v);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The teacher's label at x: beta . x (linear), else sum_k a_k phi(x; theta_k). */
static PetscReal TeacherLabel(GFNeuralNet n, const PetscReal x[])
{
  PetscReal y = 0;

  if (n->neuron->linear) return n->neuron->phi(n->input_dim, n->teacher, x, NULL);
  for (PetscInt k = 0; k < n->nteacher / n->dim; k++) {
    const PetscReal a = n->nteacher_weights ? n->teacher_weights[k] : 1.0 / (n->nteacher / n->dim);
    y += a * n->neuron->phi(n->dim, n->teacher + k * n->dim, x, NULL);
  }
  return y;
}

/* -nn_data file: rank 0 reads the rows, every rank gets them; the width must be the neuron's input dimension plus the label. */
static PetscErrorCode GFNeuralNetReadFile(GFNeuralNet n)
{
  GFParticleFileInfo info;
  PetscReal         *rows = NULL;
  PetscErrorCode     ierr;

  PetscFunctionBeginUser;
  ierr = GFParticleFileRead(n->comm, n->file, "data", -1, &info, &rows);
  if (ierr) {
    const char *text;
    char       *specific;
    PetscErrorMessage(ierr, &text, &specific);
    SETERRQ(n->comm, ierr, "-nn_data_file %s: training data must be rows (x_1, .., x_%" PetscInt_FMT ", y) of finite numbers (CSV or NPY); reading it: %s", n->file, n->input_dim, specific && specific[0] ? specific : text);
  }
  if (info.dim != n->input_dim + 1) {
    PetscCall(PetscFree(rows));
    SETERRQ(n->comm, PETSC_ERR_USER_INPUT,
            "-nn_data_file %s: rows have %" PetscInt_FMT " columns, but -nn_neuron %s with -dim %" PetscInt_FMT " takes inputs x in R^%" PetscInt_FMT ": each row must be x_1, .., x_%" PetscInt_FMT ", y (%" PetscInt_FMT " columns)", n->file, info.dim,
            n->neuron_name, n->dim, n->input_dim, n->input_dim, n->input_dim + 1);
  }
  n->samples = info.n;
  PetscCall(PetscMalloc2(n->samples * n->input_dim, &n->x, n->samples, &n->y));
  for (PetscInt m = 0; m < n->samples; m++) {
    for (PetscInt a = 0; a < n->input_dim; a++) n->x[m * n->input_dim + a] = rows[m * info.dim + a];
    n->y[m] = rows[m * info.dim + n->input_dim];
  }
  PetscCall(PetscFree(rows));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The data: the file's rows, or M Gaussian inputs (sample m from the stream (seed, m): the same on every rank) with the teacher's labels; the work arrays. */
PETSC_INTERN PetscErrorCode GFNeuralNetSetUp(GFNeuralNet n)
{
  PetscFunctionBeginUser;
  if (n->x || n->population) PetscFunctionReturn(PETSC_SUCCESS);
  if (n->data == GF_NN_DATA_FILE) {
    PetscCall(GFNeuralNetReadFile(n));
  } else {
    char what[128];
    PetscCall(PetscSNPrintf(what, sizeof(what), "-nn_samples %" PetscInt_FMT ": the training sample", n->samples));
    PetscCall(GFMemoryCheck(n->comm, (PetscReal)n->samples * (n->input_dim + 3) * 8, what, "take fewer samples"));
    PetscCall(PetscMalloc2(n->samples * n->input_dim, &n->x, n->samples, &n->y));
    for (PetscInt m = 0; m < n->samples; m++) {
      PetscReal z[4];
      GFRandomNormals((uint64_t)n->seed, (uint64_t)m, 0, GF_RANDOM_BLOCK_INITIAL, z);
      GFRandomNormals((uint64_t)n->seed, (uint64_t)m, 0, GF_RANDOM_BLOCK_INITIAL + 1, z + 2);
      for (PetscInt a = 0; a < n->input_dim; a++) n->x[m * n->input_dim + a] = z[a];
      n->y[m] = TeacherLabel(n, n->x + m * n->input_dim);
    }
  }
  PetscCall(PetscMalloc2(n->samples + n->nprobes, &n->output, n->samples, &n->residual));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* R = 1/2 |beta - m|^2 (population) or 1/(2M) sum_m r_m^2, after the residuals. */
static void Risk(GFNeuralNet n)
{
  PetscReal s = 0;

  if (n->population) {
    for (PetscInt a = 0; a < n->input_dim; a++) s += PetscSqr(n->teacher[a] - n->moment[a]);
    n->risk = 0.5 * s;
    return;
  }
  for (PetscInt m = 0; m < n->samples; m++) s += n->residual[m] * n->residual[m];
  n->risk = 0.5 * s / n->samples;
}

/*
  The run of points from i that share one pass over the data, ending before *end, and the
  point to pass: for scaled neurons (phi(x; (a, w)) = a phi(x; (1, w))) the consecutive points
  with the same w (a row of the neuron grid; a particle alone), passed as unit = (1, w) with
  *weight the sum of their scale w_i a_i; otherwise point i itself, of weight scale w_i.
*/
static const PetscReal *Run(GFNeuralNet n, PetscInt np, const PetscReal theta[], const PetscReal w[], PetscReal scale, PetscInt i, PetscInt *end, PetscReal unit[2], PetscReal *weight)
{
  const PetscInt d = n->dim;

  *end = i + 1;
  if (!n->neuron->scaled) {
    if (weight) *weight = scale * (w ? w[i] : 1);
    return theta + i * d;
  }
  while (*end < np && theta[*end * d + 1] == theta[i * d + 1]) (*end)++;
  if (weight) {
    *weight = 0;
    for (PetscInt j = i; j < *end; j++) *weight += scale * (w ? w[j] : 1) * theta[j * d];
  }
  unit[0] = 1;
  unit[1] = theta[i * d + 1];
  return unit;
}

PETSC_INTERN PetscErrorCode GFNeuralNetSetMeasure(GFNeuralNet n, MPI_Comm comm, PetscInt np, const PetscReal theta[], const PetscReal w[], PetscReal scale, PetscReal *risk)
{
  const PetscInt d = n->dim, k = n->input_dim;

  PetscFunctionBeginUser;
  if (n->neuron->linear) {
    PetscReal local[3] = {0, 0, 0};
    for (PetscInt i = 0; i < np; i++) {
      const PetscReal wi = scale * (w ? w[i] : 1);
      for (PetscInt a = 0; a < d; a++) local[a] += wi * theta[i * d + a];
    }
    PetscCall(MPIU_Allreduce(local, n->moment, 3, MPIU_REAL, MPIU_SUM, comm));
    for (PetscInt m = 0; !n->population && m < n->samples; m++) n->output[m] = n->neuron->phi(k, n->moment, n->x + m * k, NULL);
    for (PetscInt q = 0; q < n->nprobes; q++) n->probe_output[q] = n->neuron->phi(k, n->moment, n->probe_x + q * k, NULL);
  } else {
    /* the data's outputs, then the probes' (output[samples + q]): one Allreduce */
    PetscCall(PetscArrayzero(n->output, n->samples + n->nprobes));
    for (PetscInt i = 0, end; i < np; i = end) {
      PetscReal        unit[2], weight;
      const PetscReal *point = Run(n, np, theta, w, scale, i, &end, unit, &weight);
      if (weight == 0) continue;
      for (PetscInt m = 0; m < n->samples; m++) n->output[m] += weight * n->neuron->phi(d, point, n->x + m * k, NULL);
      for (PetscInt q = 0; q < n->nprobes; q++) n->output[n->samples + q] += weight * n->neuron->phi(d, point, n->probe_x + q * k, NULL);
    }
    PetscCall(MPIU_Allreduce(MPI_IN_PLACE, n->output, (PetscMPIInt)(n->samples + n->nprobes), MPIU_REAL, MPIU_SUM, comm));
    PetscCall(PetscArraycpy(n->probe_output, n->output + n->samples, n->nprobes));
  }
  for (PetscInt m = 0; !n->population && m < n->samples; m++) n->residual[m] = n->output[m] - n->y[m];
  Risk(n);
  if (risk) *risk = n->risk;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFNeuralNetFirstVariation(GFNeuralNet n, PetscInt np, const PetscReal theta[], PetscReal psi[], PetscReal grad[])
{
  const PetscInt  d = n->dim, k = n->input_dim;
  const PetscReal inv = n->population ? 0 : 1.0 / n->samples;

  PetscFunctionBeginUser;
  if (n->neuron->linear) {
    /* dR/drho(theta) = theta . g, g = m - beta (population) or (1/M) sum_m r_m x_m */
    PetscReal g[3] = {0, 0, 0};
    if (n->population)
      for (PetscInt a = 0; a < d; a++) g[a] = n->moment[a] - n->teacher[a];
    else
      for (PetscInt m = 0; m < n->samples; m++)
        for (PetscInt a = 0; a < d; a++) g[a] += inv * n->residual[m] * n->x[m * k + a];
    for (PetscInt i = 0; i < np; i++) {
      if (psi) psi[i] = n->neuron->phi(d, g, theta + i * d, NULL);
      for (PetscInt a = 0; grad && a < d; a++) grad[i * d + a] = g[a];
    }
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  for (PetscInt i = 0, end; i < np; i = end) {
    PetscReal        value = 0, gsum[3] = {0, 0, 0}, gm[3], unit[2];
    const PetscReal *point = Run(n, np, theta, NULL, 1, i, &end, unit, NULL);
    for (PetscInt m = 0; m < n->samples; m++) {
      const PetscReal r = n->residual[m];
      value += r * n->neuron->phi(d, point, n->x + m * k, grad ? gm : NULL);
      for (PetscInt a = 0; grad && a < d; a++) gsum[a] += r * gm[a];
    }
    for (PetscInt j = i; j < end; j++) {
      /* scaled: psi = a G(w), its gradient (G(w), a G'(w)) from the pass at (1, w) */
      const PetscReal a = n->neuron->scaled ? theta[j * d] : 1;
      if (psi) psi[j] = inv * a * value;
      for (PetscInt b = 0; grad && b < d; b++) grad[j * d + b] = n->neuron->scaled && b == 0 ? inv * value : inv * a * gsum[b];
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFNeuralNetView(GFNeuralNet n, PetscViewer viewer)
{
  PetscFunctionBeginUser;
  PetscCall(PetscViewerASCIIPrintf(viewer, "  neuron %s (theta in R^%" PetscInt_FMT ", x in R^%" PetscInt_FMT "), weight decay %.6g, data %s", n->neuron_name, n->dim, n->input_dim, (double)n->weight_decay, GFNeuralDataTypes[n->data]));
  if (n->population)
    PetscCall(PetscViewerASCIIPrintf(viewer, " (population expectation)\n"));
  else
    PetscCall(PetscViewerASCIIPrintf(viewer, " (%" PetscInt_FMT " samples)\n", n->samples));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFNeuralNetDestroy(GFNeuralNet *net)
{
  PetscFunctionBeginUser;
  if (!*net) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree2((*net)->x, (*net)->y));
  PetscCall(PetscFree2((*net)->output, (*net)->residual));
  PetscCall(PetscFree(*net));
  PetscFunctionReturn(PETSC_SUCCESS);
}
