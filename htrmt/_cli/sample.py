"""``htrmt sample`` and ``htrmt esd``: sample a matrix to .npy; eigenvalues of a saved matrix."""

from __future__ import annotations

import argparse
import math
import os

KINDS = ("gaussian", "pareto", "lomax", "student_t", "levy_stable", "spiked", "low_rank")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="sample a random matrix of a universality class to .npy (and plot its ESD)",
        description="Sample an N×M random matrix and save it as .npy, with a plot of its ESD "
        "against the Marchenko-Pastur law.",
    )
    p.add_argument("kind", choices=KINDS, help="ensemble")
    p.add_argument(
        "--mu",
        type=float,
        default=2.5,
        help="tail index for pareto/lomax/student_t (df)/levy_stable (alpha)",
    )
    p.add_argument("--shape", type=int, nargs=2, metavar=("N", "M"), default=(1000, 500))
    p.add_argument(
        "--spikes",
        type=float,
        nargs="+",
        default=(5.0,),
        help="spike strengths for spiked/low_rank",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", default="matrix.npy", help="output .npy (default matrix.npy)")
    p.add_argument("--plot", default=None, help="plot file (default: OUTPUT with .png)")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--no-x64", dest="x64", action="store_false", help="sample in float32")
    p.set_defaults(func=run_sample, x64=True)

    e = sub.add_parser(
        "esd",
        help="eigenvalues of WᵀW/N of a saved matrix (.npy/.npz/.csv), with a plot",
        description="Compute the ESD of a matrix stored in FILE (.npy, .npz with one array, or "
        ".csv), print a summary, save the eigenvalues and plot them against the matching law.",
    )
    e.add_argument("file", help="matrix file")
    e.add_argument("--normalization", choices=("N", "none"), default="N")
    e.add_argument("-o", "--output", default=None, help="eigenvalues .npy (default FILE.esd.npy)")
    e.add_argument("--plot", default=None, help="plot file (default FILE.esd.png)")
    e.add_argument("--no-plot", action="store_true")
    e.set_defaults(func=run_esd, x64=True)


def _sample(args):
    import jax

    from .. import ensembles

    key = jax.random.key(args.seed)
    shape = tuple(args.shape)
    k = args.kind
    if k == "gaussian":
        return ensembles.gaussian(key, shape)
    if k in ("pareto", "lomax"):
        return ensembles.pareto(
            key, shape, mu=args.mu, convention="lomax" if k == "lomax" else "symmetric"
        )
    if k == "student_t":
        return ensembles.student_t(key, shape, df=args.mu)
    if k == "levy_stable":
        return ensembles.levy_stable(key, shape, alpha_stable=args.mu)
    if k == "spiked":
        return ensembles.spiked_covariance(key, shape, spikes=args.spikes)
    return ensembles.low_rank_signal(key, shape, strengths=args.spikes)


def _plot_esd(lam, Q, title, path, normalization="N", N=1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from .. import laws, spectra

    lam = np.asarray(lam, dtype=np.float64)
    scale = 1.0 if normalization == "N" else float(N)
    sigma2 = float(np.mean(lam)) / scale
    lam_plus = sigma2 * (1 + 1 / math.sqrt(Q)) ** 2 * scale
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    h = spectra.histogram(lam, bins=80)
    axes[0].bar(h.centers, h.density, width=np.diff(h.edges), alpha=0.6, label="ESD")
    x = np.linspace(0, max(lam.max(), lam_plus) * 1.02, 800)
    axes[0].plot(
        x,
        np.asarray(laws.marchenko_pastur.pdf(x / scale, Q, math.sqrt(sigma2))) / scale,
        "r-",
        label=f"MP (Q={Q:.3g}, σ²={sigma2:.3g})",
    )
    axes[0].set_xlabel("λ")
    axes[0].set_ylabel("density")
    axes[0].legend()
    pos = lam[lam > 0]
    if pos.size > 1 and pos.max() > pos.min():
        hl = spectra.histogram(pos, bins=50, scale="log")
        m = hl.counts > 0
        axes[1].loglog(hl.centers[m], hl.density[m], "o", ms=3, label="ESD (log bins)")
    axes[1].axvline(lam_plus, color="r", ls=":", label="MP λ+")
    axes[1].set_xlabel("λ")
    axes[1].set_ylabel("density")
    axes[1].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from .. import esd

    W = _sample(args)
    np.save(args.output, np.asarray(W))
    n, m = W.shape
    print(f"saved {args.kind} matrix of shape {n}x{m} to {args.output}")
    if not args.no_plot:
        plot = args.plot or os.path.splitext(args.output)[0] + ".png"
        lam = esd(W)
        _plot_esd(lam, max(n, m) / min(n, m), f"{args.kind} {n}×{m}", plot)
        print(f"plot: {plot}")
    return 0


def load_matrix(path: str):
    """Load a 2-D array from .npy, .npz (exactly one array) or .csv, without unpickling."""
    import numpy as np

    if not os.path.exists(path):
        raise FileNotFoundError(f"file does not exist: {path}")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif ext == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if len(z.files) != 1:
                    raise ValueError(f"{path} holds {len(z.files)} arrays {z.files}; expected one")
                arr = z[z.files[0]]
        elif ext in (".csv", ".txt"):
            arr = np.loadtxt(path, delimiter="," if ext == ".csv" else None, ndmin=2)
        else:
            raise ValueError(f"unsupported file type {ext!r} for {path}; use .npy, .npz or .csv")
    except (OSError, EOFError) as err:
        raise ValueError(f"cannot read a matrix from {path}: {err}") from None
    if arr.ndim != 2:
        raise ValueError(f"{path} holds an array of shape {arr.shape}; expected a 2-D matrix")
    return arr


def run_esd(args: argparse.Namespace) -> int:
    import numpy as np

    from .. import esd

    W = load_matrix(args.file)
    if np.issubdtype(W.dtype, np.integer):
        W = W.astype(np.float64)
    lam = np.asarray(esd(W, normalization=args.normalization))
    n, m = max(W.shape), min(W.shape)
    base = os.path.splitext(args.file)[0]
    out = args.output or base + ".esd.npy"
    np.save(out, lam)
    print(
        f"{args.file}: {W.shape[0]}x{W.shape[1]}, Q={n / m:.4g}, {lam.size} eigenvalues "
        f"({'WᵀW/N' if args.normalization == 'N' else 'WᵀW'})"
    )
    print(
        f"  min {lam.min():.6g}  median {np.median(lam):.6g}  max {lam.max():.6g}  "
        f"mean {lam.mean():.6g}"
    )
    print(f"eigenvalues: {out}")
    if not args.no_plot:
        plot = args.plot or base + ".esd.png"
        _plot_esd(lam, n / m, os.path.basename(args.file), plot, args.normalization, n)
        print(f"plot: {plot}")
    return 0
