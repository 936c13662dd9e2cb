#!/usr/bin/python3
"""NumPy peer of `gradflow bench step`: explicit finite-volume Fokker-Planck.

Solves d_t rho = div(sigma grad rho + rho grad V) on [-5, 5]^2 with no-flux
walls, sigma = 1, V(x, y) = (x^2 - 1)^2 / 4 + y^2 / 2 (gradflow's double_well,
stiffness 1, centre 0), from a Gaussian of mean (1, 0) and variance 0.3 per
axis: its exact cell averages, rescaled to mass 1.

Space: N x N cell averages, h = 10 / N, face fluxes
    F = -sigma (rho_R - rho_L) / h + u^+ rho^E_L + u^- rho^W_R,
    u = -(V_R - V_L) / h  (V at the cell centres),
    rho^E_L = rho_L + minmod(rho_L - rho_LL, rho_R - rho_L) / 2,
    rho^W_R = rho_R - minmod(rho_R - rho_L, rho_RR - rho_R) / 2,
no slope in the wall cells (first order there), zero flux on the walls. Each
face flux leaves one cell and enters the other: the mass is conserved to
round-off. Everything is whole-array NumPy (slices, fmin/fmax), one sweep per
axis, the y sweep on transposed views.

Time: SSP-RK3 in Shu-Osher form, its convex combinations written as
rho + w (stage - rho) so that the rounded weights (1/4, 2/3) cannot change
the mass. Fixed dt (V is static): one forward Euler step keeps rho >= 0 for
dt <= 1 / r, r = sum over both axes of (2 sigma / h^2 + 2 max|u_a| / h)
(central diffusion plus minmod upwinding; SSP-RK3 has SSP coefficient 1), and
    dt = 2 * 0.45 / r   (Courant number 0.45),
which is 0.45 h / max|u| for transport along one axis and 0.45 h^2 / (2 sigma)
for pure 2D diffusion. This is gradflow's own rule, dt = 2 cfl c / r.

Run:    /usr/bin/python3 bench/numpy_step.py [N [STEPS]]  (default 1024 20)
One untimed warm-up step, then STEPS steps timed with time.perf_counter.
Prints the cells, steps, seconds and cell updates per second (one update =
one cell advanced one full RK3 step), dt, the mass drift |M(t) - M(0)|, and as
a plausibility check the final mean and variance per axis (cell-centre
quadrature) and min rho.
"""
import math
import sys
import time

import numpy as np

L = 5.0
SIGMA = 1.0
CFL = 0.45
MEAN0 = (1.0, 0.0)
VARIANCE0 = 0.3


def minmod(a, b, out):
    """out = the one of a, b of smaller magnitude if they share a sign, else 0.

    fmin/fmax rather than minimum/maximum: without NaN propagation they are
    about twice as fast on NumPy 1.24.
    """
    low = np.fmin(a, b)
    np.fmax(low, 0.0, out=low)
    np.fmax(a, b, out=out)
    np.fmin(out, 0.0, out=out)
    out += low


def gaussian_cell_averages(edges, mean, variance):
    """Averages of a 1D Gaussian density over the cells between edges."""
    scale = math.sqrt(2.0 * variance)
    cdf = np.array([0.5 * math.erf((e - mean) / scale) for e in edges])
    return np.diff(cdf) / np.diff(edges)


class FokkerPlanck2D:
    """The finite-volume right-hand side -div F on N x N cells (axis 0: x)."""

    def __init__(self, n):
        self.h = 2.0 * L / n
        self.centres = -L + (np.arange(n) + 0.5) * self.h
        x = self.centres[:, None]
        y = self.centres[None, :]
        potential = 0.25 * (x * x - 1.0) ** 2 + 0.5 * y * y
        # velocities on the interior faces normal to x, and to y
        u = (-np.diff(potential, axis=0) / self.h,
             -np.diff(potential, axis=1).T / self.h)
        self.max_u = [np.abs(ua).max() for ua in u]
        # u^+ / h, u^- / h and sigma / h^2: the fluxes come out divided by h;
        # the y sweep works on transposed views, its face arrays are stored so
        self.up = [np.maximum(ua, 0.0) / self.h for ua in u]
        self.um = [np.minimum(ua, 0.0) / self.h for ua in u]
        self.diffusion = SIGMA / self.h**2
        # half minmod slopes per sweep, zero in the wall cells
        self.slopes = (np.zeros((n, n)), np.zeros((n, n)).T)

    def time_step(self):
        """Courant number CFL of the positivity bound dt <= 1 / r."""
        rate = sum(2.0 * SIGMA / self.h**2 + 2.0 * u / self.h
                   for u in self.max_u)
        return 2.0 * CFL / rate

    def _add_divergence(self, axis, rho, out):
        """out -= (F_{i+1/2} - F_{i-1/2}) / h along the first index."""
        d = rho[1:] - rho[:-1]
        s = self.slopes[axis]
        minmod(d[:-1], d[1:], s[1:-1])
        s *= 0.5
        flux = self.up[axis] * (rho[:-1] + s[:-1])
        flux += self.um[axis] * (rho[1:] - s[1:])
        flux -= self.diffusion * d
        out[:-1] -= flux
        out[1:] += flux

    def rhs(self, rho):
        out = np.zeros_like(rho)
        self._add_divergence(0, rho, out)
        self._add_divergence(1, rho.T, out.T)
        return out


def euler(problem, rho, dt):
    """rho + dt * rhs(rho), in the array of the right-hand side."""
    out = problem.rhs(rho)
    out *= dt
    out += rho
    return out


def ssp_rk3_step(problem, rho, dt):
    """One Shu-Osher SSP-RK3 step."""
    r1 = euler(problem, rho, dt)
    r2 = euler(problem, r1, dt)
    r2 -= rho
    r2 *= 0.25
    r2 += rho
    r3 = euler(problem, r2, dt)
    r3 -= rho
    r3 *= 2.0 / 3.0
    r3 += rho
    return r3


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    problem = FokkerPlanck2D(n)
    area = problem.h**2
    edges = np.linspace(-L, L, n + 1)
    rho = np.outer(gaussian_cell_averages(edges, MEAN0[0], VARIANCE0),
                   gaussian_cell_averages(edges, MEAN0[1], VARIANCE0))
    rho /= rho.sum() * area
    mass0 = rho.sum() * area
    dt = problem.time_step()

    rho = ssp_rk3_step(problem, rho, dt)  # warm-up: first-touch page faults
    start = time.perf_counter()
    for _ in range(steps):
        rho = ssp_rk3_step(problem, rho, dt)
    seconds = time.perf_counter() - start

    mass = rho.sum() * area
    x = problem.centres[:, None]
    y = problem.centres[None, :]
    mean = [(x * rho).sum() * area / mass, (y * rho).sum() * area / mass]
    var = [((x - mean[0]) ** 2 * rho).sum() * area / mass,
           ((y - mean[1]) ** 2 * rho).sum() * area / mass]
    print(f"numpy step: {n}^2 cells, {steps} steps in {seconds:.3f} s, "
          f"{n * n * steps / seconds:.3e} cell updates per second")
    print(f"  dt = {dt:.4e}, {steps + 1} steps to t = {(steps + 1) * dt:.4e}, "
          f"{1e3 * seconds / steps:.2f} ms per step")
    print(f"  mass drift |M(t) - M(0)| = {abs(mass - mass0):.2e}, "
          f"M(0) = {mass0:.15f}")
    print(f"  mean (x, y) = ({mean[0]:.10f}, {mean[1]:.2e}) from {MEAN0}, "
          f"variance ({var[0]:.10f}, {var[1]:.10f}) from {VARIANCE0}, "
          f"min rho = {rho.min():.2e}")


if __name__ == "__main__":
    main()
