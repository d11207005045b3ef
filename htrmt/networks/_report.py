"""The per-layer table of an analysis, its summary, and their exports (table, CSV, JSON, pandas)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ._extract import Skipped

__all__ = ["LayerResult", "LayerFits", "Summary", "AnalysisReport", "COLUMNS", "write_atomic"]


@dataclasses.dataclass(frozen=True)
class LayerResult:
    """One row of :attr:`AnalysisReport.layers`: what HT-SR says about one weight matrix.

    Column names follow the weightwatcher tool where the quantity is the same. Logarithms are
    base 10, as there. A quantity that could not be computed is NaN and ``status``/``warning``
    say why.

    Attributes:
        name: layer name from the model's parameter path.
        kind: ``linear``, ``conv2d``, ``embedding``, ``attention``, ``lstm_gate`` ...
        N, M: the larger and smaller side of one matrix (``N >= M``); ``Q = N / M``.
        num_slices: matrices pooled into this row (conv spatial slices; 1 otherwise).
        num_evals: eigenvalues in the ESD (``num_slices · M``).
        lambda_max: largest eigenvalue.
        num_nonpositive: eigenvalues <= 0 (round-off negatives, exact zeros of a rank-deficient
            matrix), excluded from the power-law fit.
        alpha: power-law exponent of the ESD tail density (``ρ(λ) ~ λ^-alpha``).
        alpha_weighted: ``alpha · log10(lambda_max)`` (α̂).
        xmin, xmax: range of the power-law fit; D: its KS distance; sigma: std. error of alpha.
        num_pl_spikes: eigenvalues ``>= xmin`` (the fitted tail).
        alpha_err: bootstrap standard deviation of alpha (NaN unless ``bootstrap > 0``).
        log_norm: ``log10 Σλ`` (squared Frobenius norm, in the report's normalization).
        log_spectral_norm: ``log10 λ_max``.
        log_alpha_norm: ``log10 Σλ^alpha``.
        stable_rank: ``Σλ / λ_max``.
        mp_softrank: ``λ+ / λ_max`` from the Marchenko–Pastur bulk fit.
        num_spikes: eigenvalues above the MP bulk edge plus margin.
        sigma_mp: element standard deviation σ of the MP bulk fit.
        D_mp: KS distance of the bulk to the fitted MP law.
        entropy: matrix entropy ``−Σ p ln p / ln R``, ``p = λ / Σλ``.
        phase: 5+1 phase (``random-like``, ``bleeding-out``, ``bulk+spikes``, ``bulk-decay``,
            ``heavy-tailed``, ``rank-collapse``).
        num_fingers: top eigenvalues flagged as outliers of the power-law tail.
        fingers_pvalue: p-value of that test (small = fingers).
        alpha_no_fingers: alpha refitted without the flagged fingers (NaN when none).
        status: ``ok``; ``too-small`` (fewer than ``min_evals`` positive eigenvalues),
            ``zero-matrix``, ``fit-failed`` (no fit could be made), or a fit that was made but is
            not credible: ``poor-fit`` (KS distance above the threshold for its tail),
            ``tail-too-small``, ``xmin-at-bound``, ``alpha-at-bound``
            (:func:`htrmt.fit.credibility`); ``warning``: free text, "" if none.
    """

    name: str
    kind: str
    N: int
    M: int
    Q: float
    num_slices: int
    num_evals: int
    lambda_max: float
    num_nonpositive: int = 0
    alpha: float = math.nan
    alpha_weighted: float = math.nan
    xmin: float = math.nan
    xmax: float = math.nan
    D: float = math.nan
    sigma: float = math.nan
    num_pl_spikes: int = 0
    alpha_err: float = math.nan
    log_norm: float = math.nan
    log_spectral_norm: float = math.nan
    log_alpha_norm: float = math.nan
    stable_rank: float = math.nan
    mp_softrank: float = math.nan
    num_spikes: int = 0
    sigma_mp: float = math.nan
    D_mp: float = math.nan
    entropy: float = math.nan
    phase: str = ""
    num_fingers: int = 0
    fingers_pvalue: float = math.nan
    alpha_no_fingers: float = math.nan
    status: str = "ok"
    warning: str = ""


@dataclasses.dataclass(frozen=True)
class LayerFits:
    """The fits behind one row of the table (``None`` where a fit was not made).

    Attributes:
        pl: the power-law fit (:class:`htrmt.fit.PowerLawFit`, or the Hill fit of an
            :class:`htrmt.act.Estimator`).
        mp: the Marchenko–Pastur bulk fit (:class:`htrmt.fit.MarchenkoPasturFit`).
        phase: the phase verdict (:class:`htrmt.phases.PhaseResult`).

    ``fits["pl"]`` and ``fits.get("mp")`` read the same fields (the earlier dict form).
    """

    pl: Any = None
    mp: Any = None
    phase: Any = None

    def __getitem__(self, key: str) -> Any:
        if key not in ("pl", "mp", "phase"):
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, None) if key in ("pl", "mp", "phase") else None
        return default if value is None else value

    def keys(self) -> tuple[str, ...]:
        return ("pl", "mp", "phase")


COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(LayerResult))

_SUMMARY_MEANS = (
    "alpha",
    "alpha_weighted",
    "log_norm",
    "log_spectral_norm",
    "log_alpha_norm",
    "stable_rank",
    "mp_softrank",
    "entropy",
)


@dataclasses.dataclass(frozen=True)
class Summary:
    """Model-level averages over the layers whose fits succeeded (failed fits are excluded,
    never averaged in as a sentinel value).

    Attributes:
        alpha: mean α. alpha_weighted: mean α̂ (``alpha·log10 λ_max``), the quantity that
            predicts test accuracy within an architecture series (Martin & Mahoney 2021).
        log_norm, log_spectral_norm, log_alpha_norm, stable_rank, mp_softrank, entropy: means.
        num_layers: rows in the table; num_ok: rows with a power-law fit; num_failed: the rest.
        num_fingers: layers with fingers. phases: count of layers per phase.
    """

    alpha: float
    alpha_weighted: float
    log_norm: float
    log_spectral_norm: float
    log_alpha_norm: float
    stable_rank: float
    mp_softrank: float
    entropy: float
    num_layers: int
    num_ok: int
    num_failed: int
    num_fingers: int
    phases: dict[str, int]

    @classmethod
    def from_layers(cls, layers: tuple[LayerResult, ...]) -> Summary:
        ok = [r for r in layers if r.status == "ok"]
        means = {}
        for c in _SUMMARY_MEANS:
            vals = [getattr(r, c) for r in ok if math.isfinite(getattr(r, c))]
            means[c] = float(np.mean(vals)) if vals else float("nan")
        phases: dict[str, int] = {}
        for r in layers:
            if r.phase:
                phases[r.phase] = phases.get(r.phase, 0) + 1
        return cls(
            **means,
            num_layers=len(layers),
            num_ok=len(ok),
            num_failed=len(layers) - len(ok),
            num_fingers=sum(1 for r in layers if r.num_fingers > 0),
            phases=phases,
        )


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (np.floating,)):
        return _jsonable(float(v))
    if isinstance(v, np.integer):
        return int(v)
    return v


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write a file through a temporary file and a rename: no half-written file is ever left."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent)
    try:
        if isinstance(data, bytes):
            with os.fdopen(fd, "wb") as fb:
                fb.write(data)
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as ft:
                ft.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return p


@dataclasses.dataclass(frozen=True)
class AnalysisReport:
    """Result of :func:`htrmt.analyze`.

    Attributes:
        layers: one :class:`LayerResult` per weight matrix (conv: per layer, slices pooled).
        summary: the model-level :class:`Summary`.
        skipped: parameters that were not analysed (biases, norm scales, 1-D), with reasons.
        framework: where the weights came from (``equinox``, ``flax.nnx``, ``torch`` ...).
        normalization: ``"N"`` (eigenvalues of ``WᵀW/N``) or ``"none"`` (of ``WᵀW``).
        conventions: ``"htrmt"``, ``"weightwatcher"`` (``peer_conventions=True``) or the name of
            a published estimator (``estimator=``; ``"custom"`` for an ``Estimator`` object).
        esds: eigenvalues per layer name (ascending, NumPy), for plots.
        fits: per layer name, its :class:`LayerFits` (power-law, MP and phase fits).
    """

    layers: tuple[LayerResult, ...]
    summary: Summary
    skipped: tuple[Skipped, ...]
    framework: str
    normalization: str
    conventions: str
    esds: dict[str, np.ndarray] = dataclasses.field(repr=False, compare=False)
    fits: dict[str, LayerFits] = dataclasses.field(repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, name: str) -> LayerResult:
        for r in self.layers:
            if r.name == name:
                return r
        raise KeyError(f"no layer named {name!r}; layers: {[r.name for r in self.layers]}")

    def column(self, name: str) -> np.ndarray:
        """One column as a NumPy array (``report.column("alpha")``)."""
        if name not in COLUMNS:
            raise ValueError(f"name must be one of {list(COLUMNS)}, got name={name!r}")
        return np.array([getattr(r, name) for r in self.layers])

    def rows(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(r) for r in self.layers]

    def to_pandas(self):
        """The layer table as a ``pandas.DataFrame`` (pandas is optional; imported here)."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        return pd.DataFrame(self.rows(), columns=list(COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "normalization": self.normalization,
            "conventions": self.conventions,
            "summary": {k: _jsonable(v) for k, v in dataclasses.asdict(self.summary).items()},
            "layers": [{k: _jsonable(v) for k, v in row.items()} for row in self.rows()],
            "skipped": [
                {"name": s.name, "shape": list(s.shape), "reason": s.reason} for s in self.skipped
            ],
        }

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """JSON text (NaN written as ``null``); also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        if path is not None:
            write_atomic(path, text + "\n")
        return text

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """CSV text of the layer table (NaN written as an empty field); also written to ``path``."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(COLUMNS)
        for row in self.rows():
            w.writerow(["" if _jsonable(row[c]) is None else row[c] for c in COLUMNS])
        text = buf.getvalue()
        if path is not None:
            write_atomic(path, text)
        return text

    def table(self, columns: tuple[str, ...] | None = None) -> str:
        """A fixed-width text table (what ``htrmt analyze`` prints)."""
        cols = columns or (
            "name",
            "kind",
            "N",
            "M",
            "alpha",
            "alpha_weighted",
            "D",
            "num_pl_spikes",
            "log_spectral_norm",
            "stable_rank",
            "num_spikes",
            "entropy",
            "phase",
            "num_fingers",
            "status",
        )

        def fmt(v: Any) -> str:
            if isinstance(v, float):
                return "nan" if not math.isfinite(v) else f"{v:.3f}"
            return str(v)

        cells = [[fmt(getattr(r, c)) for c in cols] for r in self.layers]
        widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        for row in cells:
            lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
        s = self.summary
        lines.append("")
        lines.append(
            f"summary ({self.framework}; normalization={self.normalization!r}; "
            f"conventions={self.conventions}): {s.num_ok}/{s.num_layers} layers fitted; "
            f"mean alpha={s.alpha:.3f}, alpha_hat (mean alpha_weighted)={s.alpha_weighted:.3f}, "
            f"mean log_spectral_norm={s.log_spectral_norm:.3f}, mean entropy={s.entropy:.3f}"
        )
        statuses: dict[str, int] = {}
        for r in self.layers:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        if set(statuses) != {"ok"}:
            lines.append("status: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
        if s.phases:
            lines.append("phases: " + ", ".join(f"{k}: {v}" for k, v in sorted(s.phases.items())))
        if s.num_fingers:
            lines.append(f"layers with fingers: {s.num_fingers}")
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} parameters (biases, norm scales, 1-D)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()
