#!/usr/bin/python3
"""Where gradflow's O(h^2) mean error on the Ornstein-Uhlenbeck race comes from: a 1D experiment.

The semi-discrete Scharfetter-Gummel scheme of gradflow (cell averages, no-flux walls,
F = (sigma/h) [B(d) rho_L - B(-d) rho_R], d = (psi_R - psi_L)/sigma, B(z) = z/(e^z - 1)) for
d_t rho = d_x(sigma d_x rho + rho V'), V = k (x - c)^2/2, integrated exactly in time (matrix
exponential), from exact Gaussian cell averages, on the two axes of bench/race.sh (k = 1 and
k = 3 on [-6, 6], sigma = 1). Errors at t = 0.7 (the race) and t = 8 (the Gibbs state): mean,
variance (Sheppard-corrected, as gradflow's diagnostics), L1 against exact cell averages.

Modified equation: B(d) = 1 - d/2 + d^2/12 - ..., so F = -sigma (1 + d^2/12) rho' - psi' rho + ...:
an extra diffusion D = h^2 psi'^2/(12 sigma), and -D rho' = -(D rho)' + D' rho is a drift D' =
h^2 psi' psi''/(6 sigma) against -psi'. The means relax at k (1 - k h^2/(6 sigma)): the mean
error is (m0 - c) e^{-k t} k^2 h^2 t/(6 sigma), exactly what gradflow shows in 2D (3.05e-3 and
6.78e-3 on the two axes at 64 cells). Variants of psi and of the flux:
  point      psi_i = V(x_i) (gradflow): discrete Gibbs state exp(-V(x_i)/sigma)
  cellgibbs  psi_i = -sigma log(cell average of exp(-V/sigma)): the Gibbs state is the exact
             cell averages, but the means relax at k (1 - k h^2/(4 sigma)): 1.5x the mean error
  curv       psi_i = V(x_i), every face's flux times 1 + h^2 psi''/(6 sigma) (psi'' from second
             differences): zero flux at the same Gibbs state, the O(h^2) drift cancelled
  cellcurv   cellgibbs with the factor 1 + h^2 psi''/(4 sigma): exact Gibbs cell averages and
             means exact to O(h^4)
Run: /usr/bin/python3 bench/sg_mean_1d.py
"""
import numpy as np
from scipy.linalg import expm
from scipy.special import erf

HALF_WIDTH, SIGMA = 6.0, 1.0
AXES = [(1.0, 0.5, -1.0, 0.3), (3.0, -0.5, 1.0, 0.2)]  # stiffness, centre, initial mean, variance


def bernoulli(z):
    small = np.abs(z) < 1e-6
    return np.where(small, 1 - z / 2 + z * z / 12, z / np.expm1(np.where(small, 1.0, z)))


def gaussian_cell_averages(edges, mean, variance):
    s = np.sqrt(2 * variance)
    return 0.5 * (erf((edges[1:] - mean) / s) - erf((edges[:-1] - mean) / s)) / np.diff(edges)


def solve(n, axis, t, variant):
    k, c, m0, v0 = axis
    h = 2 * HALF_WIDTH / n
    edges = np.linspace(-HALF_WIDTH, HALF_WIDTH, n + 1)
    x = 0.5 * (edges[1:] + edges[:-1])
    V = k * (x - c) ** 2 / 2
    psi = V
    if variant.startswith("cell"):
        nodes, weights = np.polynomial.legendre.leggauss(8)
        average = sum(w / 2 * np.exp(-(k * (x + q * h / 2 - c) ** 2 / 2 - V) / SIGMA) for q, w in zip(nodes, weights))
        psi = V - SIGMA * np.log(average)
    d = np.diff(psi) / SIGMA
    scale = np.ones(n - 1)
    if variant.endswith("curv"):
        second = np.gradient(np.gradient(psi, h), h) * h * h
        scale = 1 + 0.5 * (second[1:] + second[:-1]) / ((4 if variant == "cellcurv" else 6) * SIGMA)
    A = np.zeros((n, n))
    for f in range(n - 1):
        left, right = SIGMA / h * bernoulli(d[f]) * scale[f] / h, SIGMA / h * bernoulli(-d[f]) * scale[f] / h
        A[f, f] -= left
        A[f, f + 1] += right
        A[f + 1, f] += left
        A[f + 1, f + 1] -= right
    rho = expm(A * t) @ gaussian_cell_averages(edges, m0, v0)
    mass = rho.sum() * h
    mean = (x * rho).sum() * h / mass
    variance = ((x - mean) ** 2 * rho).sum() * h / mass - h * h / 12
    exact_mean = c + (m0 - c) * np.exp(-k * t)
    exact_variance = v0 * np.exp(-2 * k * t) + (1 - np.exp(-2 * k * t)) * SIGMA / k
    l1 = np.abs(rho - gaussian_cell_averages(edges, exact_mean, exact_variance)).sum() * h
    return mean - exact_mean, variance - exact_variance, l1


def main():
    sizes = [32, 64, 128, 256]
    for axis in AXES:
        for t in (0.7, 8.0):
            print(f"k = {axis[0]:g}, t = {t:g}: mean error, variance error, L1 error at N = {sizes}")
            for variant in ("point", "cellgibbs", "curv", "cellcurv"):
                row = "  ".join("%+.2e %+.2e %.2e" % solve(n, axis, t, variant) for n in sizes)
                print(f"  {variant:9s} {row}")


if __name__ == "__main__":
    main()
