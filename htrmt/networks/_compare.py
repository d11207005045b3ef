"""Two checkpoints of one architecture side by side: :func:`compare`.

Per layer present in both (by name): α, α̂ and the log norms of each, their differences, the
relative change ``‖A − B‖_F / ‖A‖_F`` and the spectral norm ``‖A − B‖₂`` of the difference.
Both models are read lazily; one layer of each (and their difference) is in memory at a time.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np

from ._plan import ModelPlan, plan

__all__ = ["compare", "ComparisonRow", "Comparison"]


@dataclasses.dataclass(frozen=True)
class ComparisonRow:
    """One layer of :func:`compare` (A minus B for every ``d_`` column).

    Attributes:
        name, kind, N, M: the layer.
        alpha_a, alpha_b, d_alpha: power-law exponents (NaN unless that fit is credible).
        alpha_weighted_a, alpha_weighted_b, d_alpha_weighted: α̂ = α·log10 λ_max.
        log_norm_a, log_norm_b, d_log_norm: log10 of the squared Frobenius norms (Σλ).
        log_spectral_norm_a, log_spectral_norm_b, d_log_spectral_norm: log10 λ_max.
        rel_change: ``‖A − B‖_F / ‖A‖_F``.
        spectral_norm_diff: ``‖A − B‖₂`` (largest singular value of the difference).
        status_a, status_b: the analysis statuses of the two layers.
    """

    name: str
    kind: str
    N: int
    M: int
    alpha_a: float
    alpha_b: float
    d_alpha: float
    alpha_weighted_a: float
    alpha_weighted_b: float
    d_alpha_weighted: float
    log_norm_a: float
    log_norm_b: float
    d_log_norm: float
    log_spectral_norm_a: float
    log_spectral_norm_b: float
    d_log_spectral_norm: float
    rel_change: float
    spectral_norm_diff: float
    status_a: str
    status_b: str


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare`: ``rows`` and the layers found in only one model."""

    rows: tuple[ComparisonRow, ...]
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]
    source_a: str
    source_b: str
    normalization: str

    def records(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(r) for r in self.rows]

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.records())

    def to_csv(self) -> str:
        import csv
        import io

        buf = io.StringIO()
        fields = [f.name for f in dataclasses.fields(ComparisonRow)]
        w = csv.DictWriter(buf, fieldnames=fields)
        w.writeheader()
        w.writerows(self.records())
        return buf.getvalue()

    def to_json(self) -> str:
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return json.dumps(
            {
                "a": self.source_a,
                "b": self.source_b,
                "normalization": self.normalization,
                "layers": [{k: clean(v) for k, v in r.items()} for r in self.records()],
                "only_a": list(self.only_a),
                "only_b": list(self.only_b),
            },
            indent=1,
        )

    def table(self) -> str:
        head = (
            f"{'name':<52} {'alpha_a':>8} {'alpha_b':>8} {'d_alpha':>8} {'d_lognorm':>9} "
            f"{'d_logspec':>9} {'|A-B|/|A|':>10} {'|A-B|_2':>10}"
        )
        lines = [f"A = {self.source_a}", f"B = {self.source_b}", head, "-" * len(head)]
        for r in self.rows:
            lines.append(
                f"{r.name[-52:]:<52} {r.alpha_a:>8.3f} {r.alpha_b:>8.3f} {r.d_alpha:>8.3f} "
                f"{r.d_log_norm:>9.4f} {r.d_log_spectral_norm:>9.4f} {r.rel_change:>10.3g} "
                f"{r.spectral_norm_diff:>10.3g}"
            )
        for tag, names in (("only in A", self.only_a), ("only in B", self.only_b)):
            if names:
                lines.append(f"{tag}: {', '.join(names[:10])}{' ...' if len(names) > 10 else ''}")
        return "\n".join(lines)

    def plot(self, path: Any = None):
        """Δα, Δ log-norms and the relative change over the layers (a matplotlib figure)."""
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        x = np.arange(len(self.rows))
        fig, axes = plt.subplots(3, 1, figsize=(max(6.0, 0.12 * len(x) + 4), 7), sharex=True)
        col = lambda k: np.array([getattr(r, k) for r in self.rows], float)
        axes[0].plot(x, col("alpha_a"), "o-", ms=3, label="A")
        axes[0].plot(x, col("alpha_b"), "s-", ms=3, label="B")
        axes[0].set_ylabel("alpha")
        axes[0].legend()
        axes[1].plot(x, col("d_log_norm"), "o-", ms=3, label="Δ log10 ‖W‖_F²")
        axes[1].plot(x, col("d_log_spectral_norm"), "s-", ms=3, label="Δ log10 λ_max")
        axes[1].axhline(0, color="0.6", lw=0.8)
        axes[1].set_ylabel("A − B")
        axes[1].legend()
        axes[2].semilogy(x, col("rel_change"), "o-", ms=3)
        axes[2].set_ylabel("‖A − B‖_F / ‖A‖_F")
        axes[2].set_xlabel("layer")
        if len(x) <= 60:
            axes[2].set_xticks(x, [r.name[-28:] for r in self.rows], rotation=90, fontsize=6)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
            plt.close(fig)
        return fig


def compare(
    a: Any,
    b: Any,
    *,
    normalization: str = "N",
    peer_conventions: bool = False,
    layers: Any = None,
    progress: bool = False,
    **plan_options: Any,
) -> Comparison:
    """Compare two checkpoints layer by layer (see the module doc).

    Args:
        a, b: anything :func:`htrmt.analyze` reads (paths, folders, in-memory models).
        normalization, peer_conventions: as in :func:`htrmt.analyze`.
        layers: a regex / list / callable selecting layers (as in :func:`htrmt.analyze`).
        progress: a progress bar over the layers.
        plan_options: ``conv``, ``kinds``, ``split_qkv``.

    Returns:
        A :class:`Comparison` (``table()``, ``to_csv()``, ``to_json()``, ``to_pandas()``,
        ``plot(path)``).

    Raises:
        ValueError: no layer in common, or a common layer with different shapes (named).

    Example:
        >>> import numpy as np, htrmt as ht
        >>> rng = np.random.default_rng(0)
        >>> A = {"fc.weight": rng.standard_normal((64, 32))}
        >>> B = {"fc.weight": A["fc.weight"] * 1.01}
        >>> round(ht.networks.compare(A, B).rows[0].rel_change, 4)
        0.01
    """
    from ..spectra import esd
    from ._analyze import _layer_evals, analyze_layer

    if peer_conventions:
        normalization = "none"
    pa: ModelPlan = plan(a, layers=layers, **plan_options)
    pb: ModelPlan = plan(b, layers=layers, **plan_options)
    by_b = {s.name: s for s in pb.layers}
    common = [s for s in pa.layers if s.name in by_b]
    if not common:
        raise ValueError(f"{pa.source!r} and {pb.source!r} have no layer name in common")
    for s in common:
        t = by_b[s.name]
        if (s.shape, s.num_slices) != (t.shape, t.num_slices):
            raise ValueError(
                f"layer {s.name!r} is {s.num_slices}x{s.shape[0]}x{s.shape[1]} in {pa.source!r} "
                f"but {t.num_slices}x{t.shape[0]}x{t.shape[1]} in {pb.source!r}"
            )
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(common), desc="compare", unit="layer", leave=False)
    rows = []
    for s in common:
        la, lb = s.load(), by_b[s.name].load()
        ev_a = _layer_evals(la, normalization, peer_conventions)
        ev_b = _layer_evals(lb, normalization, peer_conventions)
        ra, _, _ = analyze_layer(
            la,
            normalization=normalization,
            peer_conventions=peer_conventions,
            fingers=False,
            evals=ev_a,
        )
        rb, _, _ = analyze_layer(
            lb,
            normalization=normalization,
            peer_conventions=peer_conventions,
            fingers=False,
            evals=ev_b,
        )
        A = la.matrices
        D = np.subtract(A, lb.matrices, dtype=np.result_type(A.dtype, np.float32))
        del la, lb
        na = float(np.sqrt(np.sum(np.square(A, dtype=np.float64))))
        nd = float(np.sqrt(np.sum(np.square(D, dtype=np.float64))))
        if nd > 0:
            top = float(np.max(np.asarray(esd(D, normalization="none"))))
            spec = math.sqrt(max(top, 0.0))
        else:
            spec = 0.0
        del A, D

        def good(r):
            return r.alpha if r.status == "ok" else math.nan

        def aw(r):
            return r.alpha_weighted if r.status == "ok" else math.nan

        rows.append(
            ComparisonRow(
                name=s.name,
                kind=s.kind,
                N=ra.N,
                M=ra.M,
                alpha_a=good(ra),
                alpha_b=good(rb),
                d_alpha=good(ra) - good(rb),
                alpha_weighted_a=aw(ra),
                alpha_weighted_b=aw(rb),
                d_alpha_weighted=aw(ra) - aw(rb),
                log_norm_a=ra.log_norm,
                log_norm_b=rb.log_norm,
                d_log_norm=ra.log_norm - rb.log_norm,
                log_spectral_norm_a=ra.log_spectral_norm,
                log_spectral_norm_b=rb.log_spectral_norm,
                d_log_spectral_norm=ra.log_spectral_norm - rb.log_spectral_norm,
                rel_change=nd / na if na > 0 else math.inf,
                spectral_norm_diff=spec,
                status_a=ra.status,
                status_b=rb.status,
            )
        )
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    names_a = {s.name for s in pa.layers}
    return Comparison(
        tuple(rows),
        tuple(s.name for s in pa.layers if s.name not in by_b),
        tuple(s.name for s in pb.layers if s.name not in names_a),
        pa.source,
        pb.source,
        normalization,
    )
