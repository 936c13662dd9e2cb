#!/usr/bin/python3
"""FEniCSx peer of gradflow's equal-accuracy race: a 2D Ornstein-Uhlenbeck Fokker-Planck.

Solves d_t rho = div(grad rho + rho grad V), V = ((x - 0.5)^2 + 3 (y + 0.5)^2) / 2
(stiffness 1 and 3, centre (0.5, -0.5), sigma = 1), from the Gaussian of mean (-1, 1) and
variances (0.3, 0.2), on [-6, 6]^2 with no-flux walls (the natural boundary condition
(grad rho + rho grad V) . n = 0 of the weak form), to t = 0.7. The exact solution is a
Gaussian with m_a(t) = c_a + (m0_a - c_a) e^{-k_a t} and
v_a(t) = v0_a e^{-2 k_a t} + (1 - e^{-2 k_a t}) / k_a; at t <= 0.7 it is more than six
standard deviations away from every wall.

Discretisation: Q1 ("Lagrange", degree 1) on an N x N quadrilateral mesh, the initial
density interpolated at the nodes; Crank-Nicolson with a fixed dt = 0.7 / steps,
steps = round(0.7 / (DT_PER_H h)), h = 12 / N:
    (M + dt/2 K) rho^{n+1} = (M - dt/2 K) rho^n,
    M = (u, v), K = (grad u + u grad V, grad v),
both matrices assembled once, one LU factorisation (PETSc KSP preonly + LU, MUMPS)
reused for every step; a step is one matrix-vector product and one pair of triangular
solves. DT_PER_H = 0.25 keeps the time error (it is all of the mean error: Q1 holds x
and y, so the semi-discrete means are exact) below the spatial error of the variance
at every N.

Errors at t = 0.7, with the FE quadrature: mean error |m_h - m| (Euclidean, both axes),
variance error max_a |v_h,a - v_a|, moments of rho_h normalised by its mass (conserved
by the scheme; the interpolated initial density has mass 1 + O(h^2)), and the L1 error
int |rho_h - rho| (the exact mass is 1, so it is also the relative one).

Run:    /usr/bin/python3 bench/fenicsx_ou.py [N ...]            (default 32 64 128 256)
PETSc's own LU with nested dissection instead of MUMPS (faster triangular solves):
        PETSC_OPTIONS="-pc_factor_mat_solver_type petsc -pc_factor_mat_ordering_type nd" \
        /usr/bin/python3 bench/fenicsx_ou.py
Prints the interpreter start-up plus imports once, then one line per N: dt, steps,
the three errors, the set-up seconds (mesh, function space, forms: JIT-compiled on the
first run ever, from the cache after; initial interpolation), the solve seconds
(assembly, factorisation, time loop), and the total of one run at that N alone:
start-up + set-up + solve. The forms are the same for every N, so only the first N of
a run pays the loading of the compiled forms from the cache.
"""
import os
import sys
import time

IMPORT_START = time.perf_counter()

import numpy as np  # noqa: E402
import ufl  # noqa: E402
from dolfinx import fem, mesh  # noqa: E402
from dolfinx.fem.petsc import assemble_matrix  # noqa: E402
from mpi4py import MPI  # noqa: E402
from petsc4py import PETSc  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - IMPORT_START

HALF_WIDTH = 6.0
STIFFNESS = (1.0, 3.0)
CENTRE = (0.5, -0.5)
MEAN0 = (-1.0, 1.0)
VARIANCE0 = (0.3, 0.2)
T_FINAL = 0.7
DT_PER_H = 0.25
# defaults of the PETSc options database; PETSC_OPTIONS in the environment overrides them
SOLVER_OPTIONS = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}


def interpreter_seconds():
    """Seconds from the process start to the first line of this script (Linux, 10 ms ticks)."""
    with open("/proc/self/stat") as stat:
        start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
    since_start = time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    return since_start - (time.perf_counter() - IMPORT_START)


def exact_moments(t):
    """Per-axis mean and variance of the exact solution at time t."""
    mean = [c + (m0 - c) * np.exp(-k * t) for k, c, m0 in zip(STIFFNESS, CENTRE, MEAN0)]
    variance = [v0 * np.exp(-2 * k * t) + (1 - np.exp(-2 * k * t)) / k
                for k, v0 in zip(STIFFNESS, VARIANCE0)]
    return mean, variance


def gaussian(x, mean, variance):
    """The Gaussian density with diagonal covariance at the points x (UFL or NumPy rows)."""
    exp = np.exp if isinstance(x, np.ndarray) else ufl.exp
    arg = sum((x[a] - mean[a]) ** 2 / (2 * variance[a]) for a in range(2))
    return exp(-arg) / (2 * np.pi * np.sqrt(variance[0] * variance[1]))


def integrate(comm, integrand, measure):
    return comm.allreduce(fem.assemble_scalar(fem.form(integrand * measure)), op=MPI.SUM)


def run(n):
    """Solve on an n x n mesh; return dt, steps, errors and the set-up and solve seconds."""
    comm = MPI.COMM_WORLD
    start = time.perf_counter()
    domain = mesh.create_rectangle(
        comm, [np.array([-HALF_WIDTH, -HALF_WIDTH]), np.array([HALF_WIDTH, HALF_WIDTH])],
        [n, n], cell_type=mesh.CellType.quadrilateral)
    space = fem.FunctionSpace(domain, ("Lagrange", 1))
    h = 2 * HALF_WIDTH / n
    steps = max(1, round(T_FINAL / (DT_PER_H * h)))
    dt = T_FINAL / steps

    x = ufl.SpatialCoordinate(domain)
    potential = sum(k * (x[a] - c) ** 2 / 2 for a, (k, c) in enumerate(zip(STIFFNESS, CENTRE)))
    u, v = ufl.TrialFunction(space), ufl.TestFunction(space)
    half_dt = fem.Constant(domain, PETSc.ScalarType(dt / 2))
    mass = u * v * ufl.dx
    stiffness = ufl.inner(ufl.grad(u) + u * ufl.grad(potential), ufl.grad(v)) * ufl.dx
    lhs_form = fem.form(mass + half_dt * stiffness)
    rhs_form = fem.form(mass - half_dt * stiffness)
    rho = fem.Function(space)
    rho.interpolate(lambda p: gaussian(p, MEAN0, VARIANCE0))
    setup_seconds = time.perf_counter() - start

    start = time.perf_counter()
    lhs = assemble_matrix(lhs_form)
    lhs.assemble()
    rhs = assemble_matrix(rhs_form)
    rhs.assemble()
    ksp = PETSc.KSP().create(comm)
    ksp.setOperators(lhs)
    ksp.setFromOptions()
    ksp.setUp()
    b = rhs.createVecLeft()
    for _ in range(steps):
        rhs.mult(rho.vector, b)
        ksp.solve(b, rho.vector)
    rho.x.scatter_forward()
    solve_seconds = time.perf_counter() - start

    mean, variance = exact_moments(T_FINAL)
    total = integrate(comm, rho, ufl.dx)
    mean_h = [integrate(comm, x[a] * rho, ufl.dx) / total for a in range(2)]
    variance_h = [integrate(comm, x[a] ** 2 * rho, ufl.dx) / total - mean_h[a] ** 2 for a in range(2)]
    mean_error = np.hypot(mean_h[0] - mean[0], mean_h[1] - mean[1])
    variance_error = max(abs(variance_h[a] - variance[a]) for a in range(2))
    l1_error = integrate(comm, abs(rho - gaussian(x, mean, variance)),
                         ufl.dx(metadata={"quadrature_degree": 6}))
    for obj in (ksp, lhs, rhs, b):
        obj.destroy()
    return dt, steps, mean_error, variance_error, l1_error, setup_seconds, solve_seconds


def main(sizes):
    startup = interpreter_seconds() + IMPORT_SECONDS
    rank0 = MPI.COMM_WORLD.rank == 0
    options = PETSc.Options()
    for name, value in SOLVER_OPTIONS.items():
        if not options.hasName(name):
            options[name] = value
    if rank0:
        print(f"fenicsx OU: Q1 quadrilaterals on [-{HALF_WIDTH:g}, {HALF_WIDTH:g}]^2, "
              f"Crank-Nicolson to t = {T_FINAL:g} with dt ~ {DT_PER_H:g} h, one LU "
              f"({options['pc_factor_mat_solver_type']}), {MPI.COMM_WORLD.size} rank(s)")
        print(f"start-up {startup:.3f} s (interpreter, then {IMPORT_SECONDS:.3f} s of imports)")
        print(f"{'N':>5} {'dt':>9} {'steps':>5} {'mean err':>9} {'var err':>9} {'L1 err':>9} "
              f"{'setup s':>8} {'solve s':>8} {'total s':>8}")
    for n in sizes:
        dt, steps, mean_error, variance_error, l1_error, setup, solve = run(n)
        if rank0:
            print(f"{n:5d} {dt:9.3e} {steps:5d} {mean_error:9.2e} {variance_error:9.2e} "
                  f"{l1_error:9.2e} {setup:8.3f} {solve:8.3f} {startup + setup + solve:8.3f}",
                  flush=True)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [32, 64, 128, 256])
