"""The tour: one matrix of every universality class, its ESD against its law, table and figures."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import ensembles, laws, spectra

__all__ = ["TourRow", "CLASSES", "run_tour", "format_table"]

# (label, sampler kind, parameter, class mu)
CLASSES: tuple[tuple[str, str, float | None], ...] = (
    ("gaussian", "gaussian", None),
    ("spiked", "spiked", None),
    ("weakly HT (pareto mu=5)", "pareto", 5.0),
    ("moderately HT (pareto mu=3)", "pareto", 3.0),
    ("very HT (pareto mu=1.5)", "pareto", 1.5),
    ("moderately HT (student-t df=3)", "student_t", 3.0),
    ("very HT (stable alpha=1.2)", "levy_stable", 1.2),
)


@dataclasses.dataclass(frozen=True)
class TourRow:
    """What one class's ESD looks like against its law."""

    label: str
    universality_class: str
    N: int
    M: int
    sigma2: float
    lambda_plus: float
    lambda_max: float
    lambda_max_over_lambda_plus: float
    ks_to_mp: float
    num_above_edge: int
    alpha_fit: float
    alpha_limit: float
    phase: str
    verdict: str


def _sample(key, kind, param, shape, dtype):
    if kind == "gaussian":
        return ensembles.gaussian(key, shape, dtype=dtype)
    if kind == "spiked":
        return ensembles.spiked_covariance(key, shape, spikes=(6.0, 3.0, 1.5), dtype=dtype)
    if kind == "pareto":
        return ensembles.pareto(key, shape, mu=param, dtype=dtype)
    if kind == "student_t":
        return ensembles.student_t(key, shape, df=param, dtype=dtype)
    if kind == "levy_stable":
        return ensembles.levy_stable(key, shape, alpha_stable=param, dtype=dtype)
    raise ValueError(kind)


def _alpha(lam: np.ndarray) -> tuple[float, float, int]:
    """Power-law fit of the tail: (alpha, xmin, num_tail), NaN when no fit can be made."""
    from .fit import powerlaw

    try:
        res = powerlaw(lam)
    except ValueError:
        return float("nan"), float("nan"), 0
    return float(res.alpha), float(res.xmin), int(res.num_tail)


def run_tour(
    key: jax.Array, *, N: int = 2000, M: int = 1000, out: str | None = None, dtype: Any = None
) -> list[TourRow]:
    """Sample every class at size N×M, compare its ESD with MP and its tail law.

    For finite-variance entries σ² is the entry variance (for the MP reference); for infinite
    variance (µ <= 2) the MP reference uses the sample variance, and the comparison shows how far
    the spectrum is from any MP law.

    Args:
        key: a ``jax.random`` key.
        N, M: matrix size.
        out: a folder for figures (``tour.png``/``tour.pdf``) and ``tour.json``; None for no files.
        dtype: float dtype (float64 recommended for very heavy tails).

    Returns:
        One :class:`TourRow` per class.
    """
    Q = N / M
    rows = []
    spectra_out = []
    keys = jax.random.split(key, len(CLASSES))
    for k, (label, kind, param) in zip(keys, CLASSES):
        W = _sample(k, kind, param, (N, M), dtype)
        lam = np.asarray(spectra.esd(W), dtype=np.float64)
        mu = param if kind in ("pareto", "student_t", "levy_stable") else None
        uc = ensembles.universality_class(mu, spiked=(kind == "spiked"))
        sigma2 = float(np.mean(lam))  # = mean of the entries squared: tr(X)/M
        lam_plus = sigma2 * (1 + 1 / math.sqrt(Q)) ** 2
        sigma = math.sqrt(sigma2)

        def mp_cdf(x: Any, sigma: float = sigma) -> Any:
            return laws.marchenko_pastur.cdf(x, Q, sigma)

        d = float(spectra.ks_distance(jnp.asarray(lam), mp_cdf))
        above = int(np.sum(lam > lam_plus * (1 + 3 * M ** (-2 / 3))))
        alpha, xmin, ntail = (
            _alpha(lam) if kind not in ("gaussian", "spiked") else (float("nan"), float("nan"), 0)
        )
        alpha_lim = uc.alpha_limit if uc.alpha_limit is not None else float("nan")
        from .phases import classify

        phase = classify(lam, Q).phase
        if d < 0.02 and above == 0:
            verdict = "MP bulk, crisp edge"
        elif d < 0.02 and kind == "spiked":
            verdict = f"MP bulk + {above} spikes"
        elif d < 0.02:
            verdict = f"MP bulk + a tail of {above} eigenvalues past λ+"
        elif lam.max() / lam_plus < 3:
            verdict = "MP-like bulk, edge smeared by a heavy tail"
        else:
            verdict = "power-law ESD, no MP edge"
        rows.append(
            TourRow(
                label,
                uc.name,
                N,
                M,
                sigma2,
                lam_plus,
                float(lam.max()),
                float(lam.max() / lam_plus),
                d,
                above,
                alpha,
                alpha_lim,
                phase,
                verdict,
            )
        )
        spectra_out.append((label, lam, sigma2, mu, xmin, ntail))
    if out is not None:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "tour.json"), "w") as f:
            json.dump(
                {
                    "rows": [dataclasses.asdict(r) for r in rows],
                    "meta": {
                        "N": N,
                        "M": M,
                        "x64": bool(jax.config.read("jax_enable_x64")),
                        "jax": jax.__version__,
                        "device": str(jax.devices()[0]),
                    },
                },
                f,
                indent=2,
                default=float,
            )
        _plot(spectra_out, rows, Q, out)
    return rows


def _plot(spectra_out, rows, Q, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(spectra_out)
    fig, axes = plt.subplots(2, (n + 1) // 2, figsize=(4.2 * ((n + 1) // 2), 7.5))
    for ax, (label, lam, sigma2, mu, xmin, ntail), row in zip(axes.ravel(), spectra_out, rows):
        s = math.sqrt(sigma2)
        if mu is not None:
            h = spectra.histogram(lam, bins=50, scale="log")
            ax.loglog(h.centers[h.counts > 0], h.density[h.counts > 0], "o", ms=3, label="ESD")
            x = np.geomspace(h.edges[0], h.edges[-1], 400)
            if not math.isnan(row.alpha_fit):
                # The fitted tail density, normalised to the tail's share of the eigenvalues.
                a, xt = row.alpha_fit, x[x >= xmin]
                dens = ntail / lam.size * (a - 1) / xmin * (xt / xmin) ** (-a)
                ax.loglog(xt, dens, "k--", label=f"PL fit α={a:.2f}, xmin={xmin:.3g}")
                ax.axvline(xmin, color="k", ls=":", lw=0.8)
            ax.set_ylim(bottom=max(h.density[h.counts > 0].min() * 0.1, 1e-14))
        else:
            h = spectra.histogram(lam, bins=60)
            ax.bar(h.centers, h.density, width=np.diff(h.edges), alpha=0.6, label="ESD")
            x = np.linspace(0, max(lam.max(), row.lambda_plus) * 1.05, 600)
        ax.plot(
            x,
            np.asarray(laws.marchenko_pastur.pdf(x, Q, s)),
            "r-",
            lw=1.2,
            label=f"MP (Q={Q:g}, σ²={sigma2:.3g})",
        )
        ax.axvline(row.lambda_plus, color="r", ls=":", lw=0.8)
        ax.set_title(f"{label}\n{row.verdict}", fontsize=9)
        ax.set_xlabel("eigenvalue λ of WᵀW/N")
        ax.set_ylabel("density ρ(λ)")
        ax.legend(fontsize=7)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.suptitle(f"ESDs of the universality classes (N={rows[0].N}, M={rows[0].M})")
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(os.path.join(out, f"tour.{ext}"), dpi=110)
    plt.close(fig)


def format_table(rows: list[TourRow]) -> str:
    """A plain-text table of the tour."""
    head = ["class", "λ_max/λ+", "KS to MP", "#>edge", "α fit", "µ/2+1 (N→∞)", "phase", "verdict"]
    lines = [head]
    for r in rows:
        fa = "-" if math.isnan(r.alpha_fit) else f"{r.alpha_fit:.2f}"
        fl = "-" if math.isnan(r.alpha_limit) else f"{r.alpha_limit:.2f}"
        lines.append(
            [
                r.label,
                f"{r.lambda_max_over_lambda_plus:.3g}",
                f"{r.ks_to_mp:.3f}",
                str(r.num_above_edge),
                fa,
                fl,
                r.phase,
                r.verdict,
            ]
        )
    widths = [max(len(l[i]) for l in lines) for i in range(len(head))]
    out = []
    for j, l in enumerate(lines):
        out.append("  ".join(c.ljust(w) for c, w in zip(l, widths)))
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
