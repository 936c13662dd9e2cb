#!/usr/bin/python3
"""JKO steps against the PDE they discretise in time (issue 14, points 4 and 5).

For each case the finite-volume solution (gradflow's default time stepper, which resolves time far
below the JKO step) and JKO trajectories at several tau on the SAME grid; the table gives the L1
difference of the final densities, which must fall at first order in tau (a JKO step is the implicit
Euler step of the W2 gradient flow):

  fokker_planck  2D double well, sigma = 1
  porous_medium  2D Barenblatt, m = 2 (JKO's Barenblatt case: mass 1 on [0,1]^2, t = 2.5e-4 -> 2.25e-3)
  mckean_vlasov  2D aggregation W = |x|^2/2 - ln|x| (log_quadratic), no diffusion

and, for the aggregation, the L1 distance of the final density to the uniform 1/pi on the unit disk
(its steady state) at 128^2 and 256^2, JKO next to finite volumes.

Environment: GF_BIN (default build/gradflow), NP (ranks, 1), CASES (all), GRID (cells per axis of the
consistency cases, 64; where the two spatial discretisations differ by more than the smallest tau's
time error, the difference levels off there: take a finer grid), AGG_GRIDS ("128 256"),
JKO_OPTIONS (added to the JKO runs, e.g. "-jko_method primal_dual -jko_substeps 2").
"""
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

GF_BIN = os.environ.get("GF_BIN", "build/gradflow")
NP = int(os.environ.get("NP", "1"))
JKO_OPTIONS = os.environ.get("JKO_OPTIONS", "").split()
CASES = os.environ.get("CASES", "fokker_planck porous_medium mckean_vlasov aggregation").split()
GRID = os.environ.get("GRID", "64")
AGG_GRIDS = [int(n) for n in os.environ.get("AGG_GRIDS", "128 256").split()]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
WORK = tempfile.mkdtemp(prefix="jko_pde_")


def run(options, name):
    """gradflow run with options; the final density (2D array), the wall seconds."""
    out = os.path.join(WORK, name)
    cmd = (["mpiexec", "-n", str(NP)] if NP > 1 else []) + [GF_BIN, "run"] + options + ["-output_dir", out, "-output_interval", "0", "-progress", "0", "-summary", "0"]
    start = time.time()
    subprocess.run(cmd, check=True, env=ENV, stdout=subprocess.DEVNULL)
    seconds = time.time() - start
    last = sorted(f for f in os.listdir(out) if f.startswith("snap_"))[-1]
    with h5py.File(os.path.join(out, last), "r") as f:
        return np.array(f["density"]), seconds


def l1(a, b, cell):
    return float(np.abs(a - b).sum() * cell)


BASE = {
    "fokker_planck": (["-model", "fokker_planck", "-dim", "2", "-da_grid_x", GRID, "-da_grid_y", GRID, "-potential", "double_well", "-domain_lower", "-2.5", "-domain_upper", "2.5",
                       "-init_variance", "0.3", "-init_mean", "0.3,0.2", "-ts_max_time", "0.5"], [0.1, 0.05, 0.025, 0.0125], (5.0 / int(GRID)) ** 2),
    "porous_medium": (["-model", "porous_medium", "-diffusion", "1", "-diffusion_exponent", "2", "-dim", "2", "-da_grid_x", GRID, "-da_grid_y", GRID, "-domain_lower", "0", "-domain_upper", "1",
                       "-init", "barenblatt", "-init_mean", "0.5", "-init_time", "2.5e-4", "-ts_max_time", "2.25e-3"], [5e-4, 2.5e-4, 1.25e-4, 6.25e-5], (1.0 / int(GRID)) ** 2),
    "mckean_vlasov": (["-model", "mckean_vlasov", "-diffusion", "0", "-interaction", "log_quadratic", "-dim", "2", "-da_grid_x", GRID, "-da_grid_y", GRID, "-domain_lower", "-1.6", "-domain_upper", "1.6",
                       "-init_variance", "0.25", "-ts_max_time", "0.5"], [0.1, 0.05, 0.025, 0.0125], (3.2 / int(GRID)) ** 2),
}


def consistency(case):
    options, taus, cell = BASE[case]
    # the porous medium's default is backward Euler with an adapted step: explicit SSP-RK3 resolves time instead
    fv, fv_seconds = run(options + (["-ts_type", "rk"] if case == "porous_medium" else []), case + "_fv")
    print(f"\n{case}: L1 difference JKO - finite volumes at the final time, same grid {GRID}^2 (finite volumes {fv_seconds:.1f} s)")
    print(f"{'tau':>10} {'L1 diff':>12} {'order':>7} {'seconds':>9}")
    last = None
    for tau in taus:
        rho, seconds = run(options + ["-ts_type", "jko", "-ts_dt", repr(tau)] + JKO_OPTIONS, f"{case}_jko_{tau}")
        diff = l1(rho, fv, cell)
        order = f"{np.log2(last / diff):.2f}" if last else ""
        print(f"{tau:>10.4g} {diff:>12.4e} {order:>7} {seconds:>9.1f}")
        last = diff
    sys.stdout.flush()


def disk_cell_averages(n, lower, upper, sub=8):
    """Cell averages of 1/pi on the unit disk, by sub x sub points per cell."""
    h = (upper - lower) / n
    s = (np.arange(n * sub) + 0.5) * h / sub + lower
    X, Y = np.meshgrid(s, s, indexing="ij")
    inside = ((X ** 2 + Y ** 2) <= 1).astype(float) / np.pi
    return inside.reshape(n, sub, n, sub).mean(axis=(1, 3))


def aggregation():
    print("\naggregation W = |x|^2/2 - ln|x|, no diffusion, unit mass: L1 distance to 1/pi on the unit disk at t = 4")
    print(f"{'n':>6} {'method':>14} {'L1 to disk':>12} {'seconds':>9}")
    for n in AGG_GRIDS:
        options = ["-model", "mckean_vlasov", "-diffusion", "0", "-interaction", "log_quadratic", "-dim", "2", "-da_grid_x", str(n), "-da_grid_y", str(n), "-domain_lower", "-1.6", "-domain_upper", "1.6",
                   "-init_variance", "0.25", "-ts_max_time", "4"]
        exact = disk_cell_averages(n, -1.6, 1.6)
        cell = (3.2 / n) ** 2
        for label, extra in (("finite volume", []), ("JKO tau 0.1", ["-ts_type", "jko", "-ts_dt", "0.1"] + JKO_OPTIONS)):
            rho, seconds = run(options + extra, f"agg_{n}_{label.split()[0]}")
            # the density array is stored (y, x) or (x, y): the disk is symmetric either way
            print(f"{n:>6} {label:>14} {l1(rho.reshape(n, n), exact, cell):>12.4e} {seconds:>9.1f}")
            sys.stdout.flush()


print(f"gradflow JKO against the PDE, {NP} rank(s), JKO options: {' '.join(JKO_OPTIONS) or '(defaults)'}; work directory {WORK}")
for c in CASES:
    if c in BASE:
        consistency(c)
if "aggregation" in CASES:
    aggregation()
