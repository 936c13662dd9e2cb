/*
  GFSolver: finite volumes in time for a GFProblem, the transport operator under PETSc's
  TS, and the run directory. Set-up here; the equation and its schemes in schemes.c, the
  step rules as TS hooks in step_control.c, diagnostics, monitor and snapshots in
  diagnostics.c.
*/
#include "solver.h"
#include <unistd.h>

PetscErrorCode GFSolverCreate(MPI_Comm comm, GFSolver *solver)
{
  GFSolver s;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&s));
  s->comm            = comm;
  s->cfl             = 0.45;
  s->max_retries     = 12;
  s->blowup_fraction = 0.25;
  s->blowup_time     = -1;
  s->linear          = PETSC_TRUE; /* where the equation is (GFSolverSetUp) */
  s->pc_reuse        = PETSC_TRUE;
  s->progress_mark   = 0.1;
  s->reconstruction  = GF_RECONSTRUCTION_MINMOD;
  s->sg_curvature    = PETSC_TRUE;
  PetscCall(GFOutputOptionsDefault(&s->out));
  PetscCall(GFProblemCreate(comm, &s->problem));
  s->grid  = s->problem->grid;
  s->model = s->problem->model;
  PetscCall(TSCreate(comm, &s->ts));
  *solver = s;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Solve this problem (set from options or not) instead of the solver's own; before GFSolverSetFromOptions. */
PetscErrorCode GFSolverSetProblem(GFSolver s, GFProblem problem)
{
  PetscFunctionBeginUser;
  PetscCheck(!s->set_up, s->comm, PETSC_ERR_ORDER, "GFSolverSetProblem: the solver is already set up");
  PetscCall(GFProblemReference(problem));
  PetscCall(GFProblemDestroy(&s->problem));
  s->problem = problem;
  s->grid    = problem->grid;
  s->model   = problem->model;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverGetProblem(GFSolver s, GFProblem *problem)
{
  PetscFunctionBeginUser;
  *problem = s->problem;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The problem's name: the default output directory is output/NAME. */
PetscErrorCode GFSolverSetProblemName(GFSolver s, const char name[])
{
  PetscFunctionBeginUser;
  PetscCall(GFProblemSetName(s->problem, name));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The TS: gradflow's defaults (SSP-RK3, or backward Euler for stiff models; Newton to 1e-12), then -ts_* options, classified. */
static PetscErrorCode GFSolverSetTSFromOptions(GFSolver s)
{
  SNES      snes;
  PetscBool set;
  PetscReal t_end;

  PetscFunctionBeginUser;
  /* PETSc's own time options, strictly: it would take -ts_dt nan or -ts_max_steps 4294967360 */
  PetscCall(GFOptionsCheckReal(s->comm, "-ts_dt", GF_REAL_POSITIVE));
  PetscCall(GFOptionsCheckInt(s->comm, "-ts_max_steps", 1, PETSC_MAX_INT));
  if (s->traits.implicit_default)
    PetscCall(TSSetType(s->ts, TSBEULER));
  else if (s->traits.flux == GF_FLUX_SCHARFETTER_GUMMEL && s->traits.drift_static)
    PetscCall(TSSetType(s->ts, GF_TS_FUSED_SSP));
  else {
    PetscCall(TSSetType(s->ts, TSRK));
    PetscCall(TSRKSetType(s->ts, "ssprk43"));
  }
  PetscCall(GFProblemGetTimeSpan(s->problem, NULL, &t_end));
  PetscCall(TSSetMaxTime(s->ts, t_end));
  /* Newton to 1e-12: with a coloured finite-difference Jacobian the residual, hence the mass, is exact only to the tolerance */
  PetscCall(TSGetSNES(s->ts, &snes));
  PetscCall(SNESSetTolerances(snes, PETSC_DEFAULT, 1e-12, PETSC_DEFAULT, PETSC_DEFAULT, PETSC_DEFAULT));
  PetscCall(TSSetFromOptions(s->ts));
  {
    /* -ts_type rk means gradflow's SSP-RK3 unless -ts_rk_type says otherwise (PETSc's own default, 3bs, is not SSP) */
    PetscBool rk, rk_type = PETSC_FALSE;
    PetscCall(PetscObjectTypeCompare((PetscObject)s->ts, TSRK, &rk));
    if (rk) PetscCall(PetscOptionsHasName(NULL, NULL, "-ts_rk_type", &rk_type));
    if (rk && !rk_type) PetscCall(TSRKSetType(s->ts, "ssprk43"));
  }
  PetscCall(PetscOptionsHasName(NULL, NULL, "-ts_dt", &set));
  if (set) PetscCall(TSGetTimeStep(s->ts, &s->fixed_dt));
  PetscCall(GFSolverClassifyTS(s));
  s->dt_adapt = (PetscBool)(s->implicit && !set);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  -ts_type jko: the method, its tolerance and iteration limit; by default (auto, decided with
  the model at set-up) the exact quantile solver in 1D with walls, diffusion and no
  interaction, the primal-dual grid solver elsewhere, with Newton to round-off (quantile) or
  the first-order primal-dual method to 1e-5.
*/
static PetscErrorCode GFSolverSetJKOFromOptions(GFSolver s)
{
  PetscInt method = GF_JKO_AUTO;

  PetscFunctionBeginUser;
  PetscOptionsBegin(s->comm, NULL, "JKO (Wasserstein proximal) steps: -ts_type jko, tau = -ts_dt", "GFSolver");
  PetscCall(GFOptionsChoice("-jko_method", "Solver of each step: primal_dual (Benamou-Brenier form, 1D-3D), quantile (exact, 1D), bfm (back-and-forth, 1D-3D, walls), auto (quantile where it applies)", "GFSolverSetFromOptions", GFJKOMethods, 4,
                            &method, NULL));
  s->jko_method = (GFJKOMethodType)method;
  PetscCall(GFOptionsReal("-jko_rtol", "Relative tolerance of each step's solver (also the JKO inequality's; 0: the method's default, 1e-12 quantile, 1e-5 primal_dual and bfm)", "GFSolverSetFromOptions", s->jko_rtol, &s->jko_rtol, NULL,
                          GF_REAL_NONNEGATIVE));
  PetscCall(GFOptionsInt("-jko_max_it", "Iterations of each step's solver before the run stops as not converged (0: the method's default, 100 quantile, 20000 primal_dual, 1000 bfm)", "GFSolverSetFromOptions", s->jko_max_it, &s->jko_max_it, NULL, 0,
                         PETSC_MAX_INT));
  s->jko_order = 1;
  PetscCall(GFOptionsInt("-jko_order", "1: JKO steps (first order); 2: half a JKO step, then the Wasserstein geodesic through it extended to twice its length (the implicit midpoint rule, second order)", "GFSolverSetFromOptions", s->jko_order,
                         &s->jko_order, NULL, 1, 2));
  PetscOptionsEnd();
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every option of a run: the problem's (unless it was set from options already), time stepping, output. */
PetscErrorCode GFSolverSetFromOptions(GFSolver s)
{
  PetscInt    reconstruction = s->reconstruction;
  const char *name;

  PetscFunctionBeginUser;
  if (!s->problem->from_options) PetscCall(GFProblemSetFromOptions(s->problem));
  /* the DMDA (set up by the problem) before anything asks the TS for its DM or SNES: a
     default shell DM there leaves a copy-on-write DMTS/DMSNES pointing at a freed DM, whose
     address may be reused on some ranks only, and the ranks then create different objects */
  PetscCall(TSSetDM(s->ts, s->grid->da));
  PetscCall(GFModelGetTraits(s->model, &s->traits));
  PetscCall(GFProblemGetName(s->problem, &name));
  PetscOptionsBegin(s->comm, NULL, "Time stepping", "GFSolver");
  PetscCall(GFOptionsReal("-cfl", "Courant number: dt = cfl h / max|u| (positivity needs <= 0.5)", "GFSolverSetFromOptions", s->cfl, &s->cfl, NULL, GF_REAL_ANY));
  GFOptionsCheck(s->cfl > 0 && s->cfl <= 1, s->comm, PETSC_ERR_USER_INPUT, "-cfl %.6g: the Courant number must be in (0, 1]", (double)s->cfl);
  PetscCall(GFOptionsChoice("-fv_reconstruction", "Face reconstruction of the upwind fluxes (minmod: second order, constant: first order)", "GFTransportSetReconstruction", GFReconstructions, 2, &reconstruction, NULL));
  s->reconstruction = (GFReconstruction)reconstruction;
  PetscCall(GFOptionsBool("-fv_sg_curvature", "Scharfetter-Gummel flux with the curvature factor 1 + h^2 psi''/(6 sigma): means to O(h^4) in quadratic potentials (0: the classical flux)", "GFTransportSetCurvatureCorrection", s->sg_curvature,
                          &s->sg_curvature, NULL));
  PetscCall(GFOptionsBool("-exact", "Report the error against the exact solution", "GFSolverSetFromOptions", s->exact_requested, &s->exact_requested, NULL));
  PetscCall(GFOptionsInt("-max_step_retries", "Halvings of a rejected step before giving up", "GFSolverSetFromOptions", s->max_retries, &s->max_retries, NULL, 0, 60));
  PetscCall(GFOptionsReal("-blowup_fraction", "Stop when one cell holds this fraction of the mass (interacting models: concentration below the grid scale)", "GFSolverSetFromOptions", s->blowup_fraction, &s->blowup_fraction, NULL, GF_REAL_ANY));
  GFOptionsCheck(s->blowup_fraction > 0 && s->blowup_fraction <= 1, s->comm, PETSC_ERR_USER_INPUT, "-blowup_fraction %.6g must be in (0, 1]", (double)s->blowup_fraction);
  PetscCall(GFOptionsInt("-diagnostics_interval",
                         "Energy, moments and errors every this many steps and at every output time (0: every step up to 4096 cells, else every cells/4096 steps, at most 100); step, time, mass, its drift, min and max every step",
                         "GFSolverSetFromOptions", s->diag_interval, &s->diag_interval, NULL, 0, PETSC_MAX_INT));
  PetscCall(GFOptionsBool("-jacobian_fd", "Implicit steps: Jacobian by coloured finite differences instead of the assembled one", "GFSolverSetFromOptions", s->jacobian_fd, &s->jacobian_fd, NULL));
  PetscOptionsEnd();
  PetscCall(GFOutputOptionsSetFromOptions(s->comm, name, &s->out));
  PetscCall(GFSolverSetTSFromOptions(s));
  if (s->jko) PetscCall(GFSolverSetJKOFromOptions(s));
  PetscOptionsBegin(s->comm, NULL, "Implicit time steps", "GFSolver");
  PetscCall(GFOptionsBool("-dt_adapt", "Implicit: adapt dt to Newton's iteration count (default when -ts_dt is not given)", "GFSolverSetFromOptions", s->dt_adapt, &s->dt_adapt, NULL));
  PetscCall(GFOptionsReal("-dt_max", "Implicit: largest adapted step (default a tenth of the run)", "GFSolverSetFromOptions", s->dt_max, &s->dt_max, &s->dt_max_set, GF_REAL_POSITIVE));
  PetscCall(GFOptionsBool("-implicit_pc_reuse", "Nonlinear implicit steps: keep the multigrid preconditioner from one Jacobian to the next until the linear solves slow down", "GFSolverSetFromOptions", s->pc_reuse, &s->pc_reuse, NULL));
  PetscCall(GFOptionsBool(
      "-implicit_linear",
      "Linear equations (static drift, Scharfetter-Gummel flux): one linear solve per stage with the operator assembled once per shift, instead of Newton (with LU on one rank up to 140000 cells, or with your -pc_type; elsewhere Newton)",
      "GFSolverSetFromOptions", s->linear, &s->linear, NULL));
  PetscOptionsEnd();
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The time stepper's state from the restart snapshot, so that the run continues as the
  uninterrupted one would: the adaptive controller's next step and cap, the multistep
  history. Without one (a fresh start, or a snapshot from before this was stored) the
  controller starts from a hundredth of the run.
*/
static PetscErrorCode GFSolverRestoreStepper(GFSolver s)
{
  const GFProblem         p    = s->problem;
  const GFSnapshotHeader *h    = &p->init_header;
  const PetscReal         span = p->t_end - p->init.time;

  PetscFunctionBeginUser;
  if (!s->dt_max_set) s->dt_max = span / 10;
  s->dt_next = s->fixed_dt > 0 ? s->fixed_dt : span / 100; /* also the JKO step without -ts_dt */
  if (p->init.type != GF_INIT_FILE || !h->has_state) PetscFunctionReturn(PETSC_SUCCESS);
  if (!s->dt_max_set && h->dt_max > 0) s->dt_max = h->dt_max;
  if (s->dt_adapt && h->dt_next > 0) s->dt_next = PetscMin(h->dt_next, s->dt_max);
  if (h->history_length) {
    PetscReal times[GF_MAX_HISTORY];
    for (PetscInt k = 0; k < h->history_length; k++) times[k] = h->history_time[k];
    PetscCall(GFBDFSetHistory(s->ts, (PetscInt)h->history_order, (PetscInt)h->history_length, p->history, times));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The transport operators and work vectors of the equation: all of the drift, and (IMEX) its local part and the explicit rest. */
static PetscErrorCode GFSolverCreateOperators(GFSolver s)
{
  const GFModelTraits *m = &s->traits;

  PetscFunctionBeginUser;
  PetscCall(GFTransportCreate(s->grid, &s->transport));
  PetscCall(GFTransportSetFluxType(s->transport, m->flux, m->sigma));
  PetscCall(GFTransportSetReconstruction(s->transport, s->reconstruction));
  PetscCall(GFTransportSetCurvatureCorrection(s->transport, s->sg_curvature));
  PetscCall(GFProblemTakeInitialDensity(s->problem, &s->rho));
  PetscCall(PetscObjectSetName((PetscObject)s->rho, "density"));
  PetscCall(DMCreateLocalVector(s->grid->da, &s->rho_local));
  if (!s->fused) PetscCall(VecDuplicate(s->rho, &s->rho_prev));
  if (m->drift_dof == 1)
    PetscCall(VecDuplicate(s->rho_local, &s->drift_local));
  else {
    DM vda;
    PetscCall(DMDACreateCompatibleDMDA(s->grid->da, m->drift_dof, &vda));
    PetscCall(DMCreateLocalVector(vda, &s->drift_local));
    PetscCall(DMDestroy(&vda));
  }
  if (s->exact_requested) PetscCall(VecDuplicate(s->rho, &s->exact));
  if (s->imex) {
    /* the implicit local part, and the CFL bound of the explicit nonlocal one */
    PetscCall(GFTransportCreate(s->grid, &s->local_transport));
    PetscCall(GFTransportSetFluxType(s->local_transport, m->flux, m->sigma));
    PetscCall(GFTransportSetReconstruction(s->local_transport, s->reconstruction));
    PetscCall(GFTransportSetCurvatureCorrection(s->local_transport, s->sg_curvature));
    PetscCall(GFTransportCreate(s->grid, &s->explicit_transport));
    PetscCall(GFTransportSetFluxType(s->explicit_transport, GF_FLUX_UPWIND_POTENTIAL, 0));
    PetscCall(VecDuplicate(s->rho_local, &s->local_drift_local));
    PetscCall(VecDuplicate(s->rho_local, &s->explicit_potential_local));
    PetscCall(VecDuplicate(s->rho, &s->work));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The fused scheme needs, of a static drift, only the transport's face coefficients: they are
  computed here (with the first rate bound), and the ghosted density and drift that served
  for it are released before the scheme's registers are allocated. What stays of an explicit
  run is the solution, three registers, two coefficients per face and the model's potential.
*/
static PetscErrorCode GFSolverReleaseDriftWork(GFSolver s)
{
  PetscReal dt;

  PetscFunctionBeginUser;
  PetscCall(GFSolverChooseTimeStep(s, s->problem->init.time, s->problem->t_end, &dt));
  PetscCheck(s->drift_ready, s->comm, PETSC_ERR_PLIB, "the fused scheme needs a static drift");
  PetscCall(VecDestroy(&s->rho_local));
  PetscCall(VecDestroy(&s->drift_local));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The run directory, opened (a continuation when the problem starts from one of its snapshots). */
static PetscErrorCode GFSolverOpenWriter(GFSolver s)
{
  const GFProblem     p     = s->problem;
  const PetscReal     tol   = 1e-9 * s->out.interval;
  const PetscBool     file  = (PetscBool)(p->init.type == GF_INIT_FILE);
  const GFWriterSetup setup = {s->out.dir,
                               s->traits.type,
                               s->out.overwrite,
                               s->exact_requested,
                               s->traits.stein,
                               s->jko,
                               s->traits.risk,
                               s->traits.probes,
                               s->out.interval > 0 ? PetscMax((PetscInt)PetscFloorReal((p->init.time + tol) / s->out.interval), 0) : 0,
                               file ? p->init.file : "",
                               p->init_header.step,
                               p->init.time,
                               (PetscBool)(file && p->init_mass_set)};

  PetscFunctionBeginUser;
  PetscCall(GFWriterCreate(s->grid, &setup, &s->writer));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Build the problem's data, the operators, the TS and the run directory; refuse what will not fit or not run, before anything is written. */
PetscErrorCode GFSolverSetUp(GFSolver s)
{
  const GFProblem p = s->problem;
  PetscBool       has_exact;
  const char     *why;

  PetscFunctionBeginUser;
  if (s->set_up) PetscFunctionReturn(PETSC_SUCCESS);
  {
    const PetscReal cells = (PetscReal)s->grid->cells[0] * s->grid->cells[1] * s->grid->cells[2];
    PetscMPIInt     size;
    char            what[128];
    PetscCallMPI(MPI_Comm_size(s->comm, &size));
    PetscCall(PetscSNPrintf(what, sizeof(what), "the run on %.0f cells (%s, %s)", (double)cells, s->traits.type, s->implicit ? "implicit" : "explicit"));
    PetscCall(GFMemoryCheck(s->comm, cells / size * GFRunBytesPerCell(s->grid->dim, s->implicit, s->traits.convolutions), what, "use a coarser grid (-da_grid_x ...) or more ranks"));
  }
  PetscCall(GFProblemSetUp(p));
  PetscCall(GFModelGetTraits(s->model, &s->traits));
  PetscCall(GFSolverDecideLinear(s));
  PetscCheck(!s->implicit || s->traits.flux != GF_FLUX_UPWIND_VELOCITY, s->comm, PETSC_ERR_USER_INPUT,
             "implicit -ts_type with -model %s: the model moves the density by a nonlocal velocity, which has no local part to take implicitly; use an explicit -ts_type (rk, the default)", s->traits.type);
  PetscCall(GFProblemHasExact(p, &has_exact, &why));
  PetscCheck(!s->exact_requested || has_exact, s->comm, PETSC_ERR_USER_INPUT, "-exact: model %s with potential %s has no exact solution: %s", s->traits.type, s->traits.potential, why);
  if (!s->diag_interval) {
    /* automatic: full diagnostics (a logarithm per cell for the energy, the moments) cost about an explicit step; beyond 4096 cells they are spread out to a few per cent of the run */
    const PetscReal cells = (PetscReal)s->grid->cells[0] * s->grid->cells[1] * s->grid->cells[2];
    s->diag_interval      = (PetscInt)PetscMin(100, PetscCeilReal(cells / 4096));
  }
  PetscCall(GFSolverCreateOperators(s));
  PetscCall(GFSolverSetUpEquation(s));
  PetscCall(GFSolverSetUpStepControl(s));
  if (s->fused) PetscCall(GFSolverReleaseDriftWork(s));
  PetscCall(TSSetTime(s->ts, p->init.time));
  PetscCall(TSSetStepNumber(s->ts, p->step0));
  PetscCall(TSSetSolution(s->ts, s->rho));
  PetscCall(TSSetUp(s->ts));
  PetscCall(GFSolverRestoreStepper(s));
  {
    /* the first step's size: an explicit -ts_dt beyond the stability bound is refused here, not after output began */
    PetscReal dt;
    PetscCall(GFSolverChooseTimeStep(s, p->init.time, p->t_end, &dt));
  }
  if (s->out.output) PetscCall(GFSolverOpenWriter(s));
  s->is_tty = (PetscBool)isatty(fileno(stdout));
  s->set_up = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  After TSSolve stopped on a failed step: keep the last good state (in the run directory
  when it may be written) and say so in the error.
*/
static PetscErrorCode GFSolverReportFailure(GFSolver s)
{
  char      where[PETSC_MAX_PATH_LEN + 128];
  PetscBool committed = PETSC_FALSE, has_old = PETSC_FALSE;
  PetscReal t, dt;
  PetscInt  step;

  PetscFunctionBeginUser;
  if (s->rho_prev) PetscCall(VecCopy(s->rho_prev, s->rho)); /* the fused scheme restored it itself */
  PetscCall(TSGetTime(s->ts, &t));
  PetscCall(TSGetTimeStep(s->ts, &dt));
  PetscCall(TSGetStepNumber(s->ts, &step));
  if (s->writer) PetscCall(GFWriterGetState(s->writer, &committed, &has_old));
  if (s->writer && !committed && !has_old) {
    /* no earlier run to keep: the run so far is worth keeping */
    PetscCall(GFWriterCommit(s->writer));
    committed = PETSC_TRUE;
  }
  if (committed) {
    const char *dir;
    PetscInt    index;
    PetscCall(GFWriterGetDirectory(s->writer, &dir, NULL, &index));
    if (s->diag.partial) {
      const PetscInt step0 = s->diag.step;
      PetscCall(GFSolverComputeDiagnostics(s, s->rho, &s->diag));
      s->diag.step = step0;
    }
    s->diag.dt = 0;
    PetscCall(GFSolverWriteSnapshot(s));
    PetscCall(PetscSNPrintf(where, sizeof(where), "the last good state at t = %.6g is saved as %s/snap_%05d.h5", (double)t, dir, (int)index));
  } else if (s->writer) {
    const char *dir;
    PetscCall(GFWriterGetDirectory(s->writer, &dir, NULL, NULL));
    PetscCall(PetscSNPrintf(where, sizeof(where), "no step succeeded, so the earlier run in %s is kept as it was", dir));
  } else
    PetscCall(PetscSNPrintf(where, sizeof(where), "the last good state at t = %.6g is not saved (-output 0)", (double)t));
  PetscCheck(!s->jko, s->comm, PETSC_ERR_NOT_CONVERGED,
             "JKO step %" PetscInt_FMT " at t = %.6g (tau = %.6g): -jko_method %s did not converge in %" PetscInt_FMT " iterations (relative residuals %.3e and %.3e, -jko_rtol %.3g); %s. Raise -jko_max_it or -jko_rtol, or take a smaller -ts_dt",
             step + 1, (double)t, (double)dt, GFJKOMethods[s->jko_method], s->jko_result.iterations, (double)s->jko_result.residual[0], (double)s->jko_result.residual[1], (double)s->jko_rtol, where);
  SETERRQ(s->comm, PETSC_ERR_NOT_CONVERGED, "step %" PetscInt_FMT " at t = %.6g failed %" PetscInt_FMT " times (%s) down to dt = %.6g; %s", step, (double)t, s->no_adapter ? 1 : s->max_retries + 1,
          s->implicit ? "Newton did not converge or rho became negative" : "rho became negative or not finite", (double)dt, where);
}

/* Run from the start time to -ts_max_time (or -ts_max_steps), writing snapshots and diagnostics. */
PetscErrorCode GFSolverSolve(GFSolver s)
{
  const GFProblem   p = s->problem;
  TSConvergedReason reason;
  PetscReal         t;
  PetscInt          max_steps;

  PetscFunctionBeginUser;
  PetscCall(GFSolverSetUp(s));
  PetscCall(TSGetMaxSteps(s->ts, &max_steps));
  PetscCall(GFProblemCheckTimeSpan(p, s->fixed_dt, max_steps, &s->out));
  PetscCall(TSGetTime(s->ts, &t));
  PetscCall(PetscTime(&s->wall_start));
  s->last_progress = s->wall_start;
  if (s->out.interval > 0) s->next_output = (PetscInt)PetscFloorReal((t + 1e-9 * s->out.interval) / s->out.interval) + 1;
  s->diag.dt = 0;
  PetscCall(TSGetStepNumber(s->ts, &s->diag.step));
  PetscCall(GFSolverComputeDiagnostics(s, s->rho, &s->diag));
  /* a restart measures the drift from its run's initial mass, when this state conserved it to round-off */
  s->diag.mass_initial = s->diag.mass;
  if (p->init.type == GF_INIT_FILE && !p->init_mass_set && PetscAbsReal(p->init_header.initial_mass - s->diag.mass) <= 1e-8 * s->diag.mass) s->diag.mass_initial = p->init_header.initial_mass;
  s->diag.mass_drift = (s->diag.mass - s->diag.mass_initial) / s->diag.mass_initial;
  s->lowest_density  = s->diag.min_density;
  PetscCall(TSSolve(s->ts, NULL));
  PetscCall(TSGetConvergedReason(s->ts, &reason));
  if (reason < 0) PetscCall(GFSolverReportFailure(s));
  if (s->writer) PetscCall(GFWriterCommit(s->writer));
  if (s->out.summary) PetscCall(GFSolverPrintSummary(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Call hook(solver, t, rho, ctx) wherever a snapshot is due (the first and last state, every output time), with or without -output. */
PetscErrorCode GFSolverSetOutputHook(GFSolver s, GFOutputHook hook, void *ctx)
{
  PetscFunctionBeginUser;
  s->output_hook     = hook;
  s->output_hook_ctx = ctx;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverGetGrid(GFSolver s, GFGrid *grid)
{
  PetscFunctionBeginUser;
  *grid = s->grid;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverGetModel(GFSolver s, GFModel *model)
{
  PetscFunctionBeginUser;
  *model = s->model;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverGetTS(GFSolver s, TS *ts)
{
  PetscFunctionBeginUser;
  *ts = s->ts;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverGetSolution(GFSolver s, Vec *rho)
{
  PetscFunctionBeginUser;
  *rho = s->rho;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverGetDiagnostics(GFSolver s, GFDiagnostics *d)
{
  PetscFunctionBeginUser;
  *d = s->diag;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverGetStatistics(GFSolver s, GFRunStatistics *stats)
{
  PetscFunctionBeginUser;
  stats->steps            = s->steps_taken;
  stats->worst_mass_drift = s->worst_mass_drift;
  stats->lowest_density   = s->lowest_density;
  stats->energy_rises     = s->energy_rises;
  stats->max_energy_rise  = s->max_energy_rise;
  stats->blowup_time      = s->blowup_time;
  stats->tail_fixes       = s->tail_fixes;
  PetscCall(TSGetStepRejections(s->ts, &stats->rejected));
  PetscCall(TSGetSNESIterations(s->ts, &stats->newton_iterations));
  PetscCall(TSGetKSPIterations(s->ts, &stats->linear_iterations));
  stats->operator_builds = s->operator_builds;
  stats->jko_iterations  = s->jko_iterations;
  stats->jko_violations  = s->jko_violations;
  stats->jko_worst_gap   = s->jko_worst_gap;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverDestroy(GFSolver *solver)
{
  GFSolver s = *solver;

  PetscFunctionBeginUser;
  if (!s) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFWriterDestroy(&s->writer));
  PetscCall(TSDestroy(&s->ts));
  PetscCall(VecDestroy(&s->rho));
  PetscCall(VecDestroy(&s->rho_local));
  PetscCall(VecDestroy(&s->drift_local));
  PetscCall(VecDestroy(&s->local_drift_local));
  PetscCall(VecDestroy(&s->explicit_potential_local));
  PetscCall(VecDestroy(&s->work));
  PetscCall(VecDestroy(&s->dxi_local));
  PetscCall(VecDestroy(&s->rho_prev));
  PetscCall(VecDestroy(&s->exact));
  PetscCall(GFTransportDestroy(&s->transport));
  PetscCall(GFTransportDestroy(&s->local_transport));
  PetscCall(GFTransportDestroy(&s->explicit_transport));
  PetscCall(GFProblemDestroy(&s->problem));
  PetscCall(PetscFree(s));
  *solver = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}
