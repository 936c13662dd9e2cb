#!/usr/bin/python3
"""Model of what one particle-mesh step moves and holds per rank, before and after the particles
were owned by position (README, Clusters).

    bench/particles_scaling.py [PNG]

Per rank and step (8-byte reals, d dimensions, C cells, N particles, P ranks split p_1 x .. x p_d
as a DMDA splits them, subdomains of s_a = n_a / p_a cells):

  before: the whole-grid deposit summed by one MPI_Allreduce (about 2 x 8C bytes per rank,
          2 log2 P messages by recursive halving and doubling) and the field gathered to every
          rank (VecScatterCreateToAll: 8C (P-1)/P bytes in, P-1 messages); whole-grid arrays
          of 8C (1 + d) bytes on every rank.
  after:  two halo exchanges of the box-stencil ghost layer of width 2 (the deposit's ghosts
          added to their owners, the field's ghosts filled): 2 x 8 (prod(s_a + 4) - prod(s_a))
          bytes, 2 (3^d - 1) messages; the particles that leave the subdomain, a fraction
          sum_a E|dX_a| / (s_a h_a) of N/P (E|dX| = sqrt(2 sigma dt) sqrt(2/pi)), 8 (2 + d)
          bytes each, to at most 3^d - 1 neighbours, after PETSc's rendezvous (an allreduce
          of P counts up to 1024 ranks, a nonblocking barrier above, not counted here); the grid held as the ghosted box only.
  both:   the FFT convolution (FFTW-MPI slabs, padded to 2n per axis for no-flux walls): per
          transpose every rank exchanges its padded slab, about 16 x 2^d C / (2P) bytes, with
          P - 1 others; two transposes each way. Slabs split the first axis only: P <= n_1.
"""
import math
import sys


def split(P, dims):
    """PETSc-like near-cubic split of P ranks over the axes of the grid dims."""
    best = None
    d = len(dims)
    for p0 in range(1, P + 1):
        if P % p0:
            continue
        rest = P // p0
        options = [[p0]] if d == 1 else []
        if d == 2:
            options = [[p0, rest]]
        elif d == 3:
            options = [[p0, p1, rest // p1] for p1 in range(1, rest + 1) if rest % p1 == 0]
        for o in options:
            if len(o) != d or math.prod(o) != P or any(n % p for n, p in zip(dims, o)):
                continue
            surface = sum(P / p for p in o)
            if best is None or surface < best[0]:
                best = (surface, o)
    return best[1]


def model(dims, N, P, sigma=1.0, dt=1e-3, L=12.0):
    d = len(dims)
    C = math.prod(dims)
    ranks = split(P, dims)
    s = [n / p for n, p in zip(dims, ranks)]
    h = [L / n for n in dims]
    halo = 2 * 8 * (math.prod(x + 4 for x in s) - math.prod(s)) if P > 1 else 0
    step = math.sqrt(2 * sigma * dt) * math.sqrt(2 / math.pi)
    leaving = min(1.0, sum(step / (x * hh) for x, hh, p in zip(s, h, ranks) if p > 1)) * N / P
    fft = 4 * 16 * 2**d * C / (2 * P) * (P - 1) / P
    return {
        "fft bytes": fft,
        "fft messages": 4 * (P - 1),
        "before bytes": 2 * 8 * C * (P > 1) + 8 * C * (P - 1) / P + fft,
        "before messages": 2 * math.log2(P) + (P - 1) + 4 * (P - 1),
        "before grid bytes held": 8 * C * (1 + d) + 8 * C / P,
        "after bytes": halo + 8 * (2 + d) * leaving + fft,
        "after messages": (2 * (3**d - 1) + (3**d - 1) if P > 1 else 0) + 4 * (P - 1),
        "after grid bytes held": 8 * math.prod(x + 4 for x in s) * (2 + d),
        "particles leaving": leaving,
    }


def main():
    cases = [("2D 256^2, N = 1e6", (256, 256), 1e6, [1, 2, 4, 16, 64, 256]),
             ("3D 256^3, N = 1e8", (256, 256, 256), 1e8, [1, 2, 4, 16, 64, 256]),
             ("3D 1024^3, N = 1e9", (1024, 1024, 1024), 1e9, [1, 4, 16, 64, 256, 1024])]
    print("| case | ranks | bytes/rank/step before | after | of which the FFT | messages before | after | of which the FFT | grid bytes held before | after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, dims, N, Ps in cases:
        for P in Ps:
            m = model(dims, N, P)
            print(f"| {name} | {P} | {m['before bytes']:.3g} | {m['after bytes']:.3g} | {m['fft bytes']:.3g} | {m['before messages']:.0f} | "
                  f"{m['after messages']:.0f} | {m['fft messages']:.0f} | {m['before grid bytes held']:.3g} | {m['after grid bytes held']:.3g} |")
    if len(sys.argv) > 1:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for (name, dims, N, Ps), colour in zip(cases, ["C0", "C1", "C2"]):
            Ps = [P for P in [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] if P <= dims[0]]
            ms = [model(dims, N, P) for P in Ps]
            axes[0].loglog(Ps[1:], [m["before bytes"] for m in ms[1:]], "--", color=colour, label=f"{name}: before")
            axes[0].loglog(Ps[1:], [m["after bytes"] for m in ms[1:]], "-o", color=colour, ms=3, label=f"{name}: after")
            axes[0].loglog(Ps[1:], [m["after bytes"] - m["fft bytes"] for m in ms[1:]], ":", color=colour, label=f"{name}: after, without the FFT")
            axes[1].loglog(Ps, [m["before grid bytes held"] for m in ms], "--", color=colour)
            axes[1].loglog(Ps, [m["after grid bytes held"] for m in ms], "-o", color=colour, ms=3)
        axes[0].set(xlabel="ranks", ylabel="bytes per rank per step (FFT included)", title="particle-mesh traffic")
        axes[1].set(xlabel="ranks", ylabel="grid bytes held per rank (FFT excluded)", title="particle-mesh grid memory")
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(sys.argv[1], dpi=110)


if __name__ == "__main__":
    main()
