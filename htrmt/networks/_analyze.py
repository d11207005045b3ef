"""``htrmt.analyze``: Heavy-Tailed Self-Regularization analysis of each weight matrix of a model."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._extract import CONV_MODES, LayerWeights
from ._fingers import fingers_test
from ._plan import LayerSpec, ModelPlan, plan
from ._report import AnalysisReport, LayerFits, LayerResult, Summary

__all__ = ["analyze", "analyze_layer", "layer_esd", "PEER_CONVENTIONS", "MIN_EVALS"]

#: smallest ESD that gets a power-law fit (weightwatcher's ``min_evals`` default is also 8)
MIN_EVALS = 8

#: what ``peer_conventions=True`` changes (documented in docs/analyze.md)
PEER_CONVENTIONS = {
    "normalization": "none",  # eigenvalues of WᵀW, not WᵀW/N
    "xmin_rule": "weightwatcher",  # every eigenvalue > 1e-5 is a candidate xmin, smallest KS D
    "mp_margin": "weightwatcher",  # spikes above λ+ + √(TW scale), not λ+ + c·(TW scale)
    "conv2d_scale": "sqrt(k*k/2)",  # conv2d slices multiplied by sqrt(kernel size / 2)
}

#: weightwatcher drops eigenvalues at or below this before its power-law fit
PEER_EVALS_THRESH = 1e-5


def _nan() -> float:
    return float("nan")


def layer_esd(
    layer: LayerWeights, *, normalization: str = "N", conv_scale: float = 1.0
) -> np.ndarray:
    """Eigenvalues (ascending, float64 NumPy) of a layer: the pooled ESDs of its slices.

    The Gram matrices are formed and diagonalised by :func:`htrmt.esd` (``eigvalsh`` of the
    M×M Gram matrix) in the dtype of the weights, all slices in one batched call.
    """
    from ..spectra import esd

    mats = layer.matrices
    if conv_scale != 1.0:
        mats = mats * np.asarray(conv_scale, dtype=mats.dtype)
    if min(mats.shape[-2:]) < 2:  # a vector per slice: its one eigenvalue is |w|²(/N)
        sq = np.sum(np.asarray(mats, np.float64) ** 2, axis=(-2, -1))
        n = max(mats.shape[-2:])
        return np.sort(sq / n if normalization == "N" else sq)
    lam = esd(mats, normalization=normalization)  # NumPy weights stay on the host on CPU
    return np.sort(np.asarray(lam, dtype=np.float64).ravel())


# ---------------------------------------------------------------------------------------------
# adapters to the fitters, metrics and phase classifier (imported lazily: they are optional
# until their modules exist)


def _powerlaw(
    evals: np.ndarray, *, peer: bool, min_tail: int = 10, xmax: Any = None, estimator: Any = None
):
    """Power-law fit of an ESD tail by :func:`htrmt.fit.powerlaw` (ValueError when it fails).

    With an :class:`htrmt.act.Estimator`: its Hill fit (:func:`htrmt.act.hill_fit`) instead.

    htrmt: two-sided KS distance, tails of at least ``min_tail`` points.
    Peer (weightwatcher 0.7 ``WWFit``): eigenvalues <= 1e-5 dropped, every remaining value but
    the largest is a candidate xmin (tails of >= 2 points), KS against the ECDF's left limit.
    """
    if estimator is not None:
        from ..act._published import published_fit

        return published_fit(evals, estimator)
    from ..fit import powerlaw

    if peer:
        x = evals[evals > PEER_EVALS_THRESH]
        return powerlaw(x, xmax=xmax, ks="powerlaw", min_tail=2)
    return powerlaw(evals, xmax=xmax, ks="two_sided", min_tail=min_tail)


def _mp(evals: np.ndarray, Q: float, *, peer: bool):
    from ..fit import marchenko_pastur

    return marchenko_pastur(evals, Q, margin="weightwatcher" if peer else "tw")


def _classify(evals: np.ndarray, Q: float):
    from ..phases import classify

    return classify(evals, Q, fit_powerlaw=False)


def _metrics(evals: np.ndarray, alpha: float, lambda_plus: float) -> dict[str, float]:
    """Norms, ranks and entropy of one ESD through :mod:`htrmt.metrics` (one compiled call)."""
    from ..metrics._spectral import layer_metrics

    lp = lambda_plus if math.isfinite(lambda_plus) and lambda_plus > 0 else math.nan
    return layer_metrics(evals, alpha if math.isfinite(alpha) else math.nan, lp)


# ---------------------------------------------------------------------------------------------


def _layer_evals(
    layer: LayerWeights | LayerSpec,
    normalization: str,
    peer_conventions: bool,
    dtype: Any = None,
    estimator: Any = None,
) -> np.ndarray:
    """The ESD :func:`analyze_layer` fits (with the peer's conv scaling when asked, or under an
    :class:`htrmt.act.Estimator`'s conventions).

    A :class:`LayerSpec` is read here (one tensor), checked for NaN/Inf, and dropped once its
    eigenvalues are known: only one layer's weights are alive per call.
    """
    if isinstance(layer, LayerSpec):
        if (
            layer.spectrum is not None
            and estimator is None
            and not (peer_conventions and layer.kind == "conv2d" and layer.num_slices > 1)
        ):
            return np.sort(np.asarray(layer.spectrum(normalization), np.float64))
        layer = layer.load()
    if dtype is not None:
        layer = dataclasses.replace(layer, matrices=layer.matrices.astype(dtype))
    if not np.all(np.isfinite(layer.matrices)):
        bad = int(np.sum(~np.isfinite(layer.matrices)))
        raise ValueError(
            f"layer {layer.name!r} (shape {layer.source_shape}) has {bad} NaN or Inf weights"
        )
    if estimator is not None:
        from ..act._published import published_esd

        return published_esd(layer.matrices, estimator)
    conv_scale = 1.0
    if peer_conventions and layer.kind == "conv2d" and layer.num_slices > 1:
        conv_scale = math.sqrt(layer.num_slices / 2.0)
    return layer_esd(layer, normalization=normalization, conv_scale=conv_scale)


def analyze_layer(
    layer: LayerWeights | LayerSpec,
    *,
    normalization: str = "N",
    peer_conventions: bool = False,
    fingers: bool = True,
    fingers_level: float = 0.01,
    max_fingers: int = 3,
    bootstrap: int = 0,
    key: Any = None,
    min_evals: int = MIN_EVALS,
    min_tail: int = 10,
    evals: np.ndarray | None = None,
    estimator: Any = None,
) -> tuple[LayerResult, np.ndarray, LayerFits]:
    """Analyse one extracted layer: ESD, power-law fit, MP fit, metrics, phase, fingers.

    ``evals``: the layer's ESD if already computed (``_layer_evals``), else it is computed here.
    Returns ``(row, evals, fits)``: the :class:`LayerResult`, the ESD and the
    :class:`LayerFits` behind the row. A layer that cannot be fitted gets a status and NaNs; it
    never raises for that reason.

    Non-positive eigenvalues (round-off negatives of float32 spectra, the exact zeros of a
    rank-deficient matrix) are counted in ``num_nonpositive`` and excluded, here and only here,
    from the power-law fit, its bootstrap and the fingers test; the phase classifier and the MP
    fit see the whole spectrum (zeros are their evidence of rank collapse). A power-law fit that
    was made but is not credible (:func:`htrmt.fit.credibility`: D above the KS threshold for
    its tail, a tail below ``min_tail``, the xmin search at its bound) gets that verdict as its
    status, keeps its numbers for inspection, and feeds no α-based metric and no interpretation.

    ``estimator`` (an :class:`htrmt.act.Estimator`): the published ESD and Hill fit replace
    htrmt's (no credibility verdict; a layer under ``eigs_thresh`` eigenvalues is fitted and
    flagged in ``warning``).
    """
    out_dim, in_dim = layer.shape
    N, M = max(out_dim, in_dim), min(out_dim, in_dim)
    Q = N / M
    if evals is None:
        evals = _layer_evals(layer, normalization, peer_conventions, estimator=estimator)
    positive = evals > 0
    num_nonpositive = int(evals.size - np.count_nonzero(positive))
    pos = evals[positive] if num_nonpositive else evals
    base: dict[str, Any] = dict(
        name=layer.name,
        kind=layer.kind,
        N=N,
        M=M,
        Q=Q,
        num_slices=layer.num_slices,
        num_evals=int(evals.size),
        lambda_max=float(evals[-1]),
        num_nonpositive=num_nonpositive,
    )
    warn: list[str] = []
    if evals[-1] <= 0:
        row = LayerResult(**base, status="zero-matrix", warning="all eigenvalues are zero")
        return row, evals, LayerFits()
    if pos.size < min_evals or M < 2:
        extra = f" positive ({num_nonpositive} non-positive excluded)" if num_nonpositive else ""
        warn.append(f"{pos.size}{extra} eigenvalues (< {min_evals}): no fit")
        metrics = _metric_columns(evals, _nan(), _nan(), warn)
        row = LayerResult(**base, **metrics, status="too-small", warning="; ".join(warn))
        return row, evals, LayerFits()

    tail = _tail_step(pos, evals, peer_conventions, min_tail, estimator, warn)
    # the evals the phase classifier and MP fitter see are always those of WᵀW/N
    evals_n = evals / N if normalization == "none" else evals
    bulk = _bulk_step(evals_n, Q, N if normalization == "none" else 1.0, peer_conventions, warn)
    alpha_ok = tail.columns.get("alpha", _nan()) if tail.status == "ok" else _nan()
    metrics = _metric_columns(evals, alpha_ok, bulk.lambda_plus, warn)
    extra_cols: dict[str, Any] = {}
    if fingers and tail.fit is not None and tail.status == "ok" and tail.fit.xmin > 0:
        extra_cols.update(
            _fingers_step(
                pos,
                tail.fit,
                peer_conventions,
                min_tail,
                estimator,
                max_fingers,
                fingers_level,
                warn,
            )
        )
    if bootstrap and tail.status == "ok":
        extra_cols["alpha_err"] = _bootstrap_alpha(
            pos, bootstrap, key, peer_conventions, min_tail, estimator
        )
    row = LayerResult(
        **base,
        **tail.columns,
        **bulk.columns,
        **metrics,
        **extra_cols,
        status=tail.status,
        warning="; ".join(warn),
    )
    return row, evals, LayerFits(pl=tail.fit, mp=bulk.mp, phase=bulk.verdict)


@dataclasses.dataclass(frozen=True)
class _Tail:
    fit: Any
    status: str
    columns: dict[str, Any]


def _tail_step(
    pos: np.ndarray,
    evals: np.ndarray,
    peer: bool,
    min_tail: int,
    estimator: Any,
    warn: list[str],
) -> _Tail:
    """The power-law fit of the positive eigenvalues, its credibility verdict and its columns."""
    try:
        pl = _powerlaw(pos, peer=peer, min_tail=min_tail, estimator=estimator)
    except (ValueError, FloatingPointError) as err:
        warn.append(f"power-law fit: {err}")
        return _Tail(None, "fit-failed", {})
    status = "ok"
    if not pl.ok:
        status = "fit-failed"
        warn.append(f"power-law fit status {pl.message!r}")
    alpha = float(pl.alpha)
    columns = dict(
        alpha=alpha,
        xmin=float(pl.xmin),
        xmax=float(pl.xmax) if getattr(pl, "xmax", None) is not None else float(evals[-1]),
        D=float(pl.D),
        sigma=float(pl.sigma),
        num_pl_spikes=int(getattr(pl, "num_tail", int(np.sum(evals >= pl.xmin)))),
    )
    if estimator is not None and evals.size < estimator.eigs_thresh:
        warn.append(
            f"{evals.size} eigenvalues < eigs_thresh={estimator.eigs_thresh}: the methods "
            "leave this layer out"
        )
    if status == "ok" and estimator is None:
        from ..fit import credibility

        verdict, why = credibility(pl, min_tail=2 if peer else min_tail)
        if verdict != "ok":
            status = verdict
            warn.append(f"power-law fit not credible: {why}")
    if status == "ok" and alpha > 6.0:
        warn.append("alpha > 6: the tail is not heavy; alpha carries little information")
    if status == "ok" and alpha < 2.0:
        warn.append("alpha < 2: very heavy tail (possible over-training)")
    return _Tail(pl, status, columns)


@dataclasses.dataclass(frozen=True)
class _Bulk:
    verdict: Any
    mp: Any
    lambda_plus: float
    columns: dict[str, Any]


def _bulk_step(evals_n: np.ndarray, Q: float, scale: float, peer: bool, warn: list[str]) -> _Bulk:
    """The phase verdict and the MP bulk fit (the classifier's own, or the peer's margin).

    ``evals_n`` are eigenvalues of WᵀW/N; ``scale`` takes λ+ and σ back to the report's units.
    """
    verdict = mp = None
    columns: dict[str, Any] = {}
    try:
        verdict = _classify(evals_n, Q)
        columns["phase"] = str(verdict.phase)
        mp = verdict.mp
        if mp is None:
            warn.append(f"phase {verdict.phase!r} without an MP fit")
    except ValueError as err:
        warn.append(f"phase: {err}")
    if peer:  # the peer's spike margin √(TW scale)
        try:
            mp = _mp(evals_n, Q, peer=True)
        except ValueError as err:
            mp = None
            warn.append(f"MP fit: {err}")
    if mp is None:
        return _Bulk(verdict, None, _nan(), columns)
    columns.update(
        num_spikes=int(mp.num_spikes),
        sigma_mp=float(mp.sigma) * math.sqrt(scale),
        D_mp=float(mp.D_bulk),
    )
    if not mp.ok:
        warn.append(f"MP fit status {mp.status!r}")
    return _Bulk(verdict, mp, float(mp.lambda_plus) * scale, columns)


def _fingers_step(
    pos: np.ndarray,
    pl: Any,
    peer: bool,
    min_tail: int,
    estimator: Any,
    max_fingers: int,
    level: float,
    warn: list[str],
) -> dict[str, Any]:
    """The fingers test of the fitted tail and α refitted without the fingers it finds."""
    ft = fingers_test(pos, float(pl.xmin), max_fingers=max_fingers, level=level)
    columns: dict[str, Any] = {"fingers_pvalue": ft.pvalue}
    if not ft.num_fingers:
        return columns
    columns["num_fingers"] = ft.num_fingers
    alpha_nf = _nan()
    try:
        pl2 = _powerlaw(pos[: -ft.num_fingers], peer=peer, min_tail=min_tail, estimator=estimator)
        alpha_nf = float(pl2.alpha)
    except ValueError:
        pass
    columns["alpha_no_fingers"] = alpha_nf
    warn.append(
        f"{ft.num_fingers} finger(s): top eigenvalues are outliers of the power-law "
        f"tail (p = {ft.pvalue:.2g}); alpha without them = {alpha_nf:.3f}"
    )
    return columns


def _metric_columns(
    evals: np.ndarray, alpha: float, lambda_plus: float, warn: list[str]
) -> dict[str, Any]:
    try:
        return _metrics(evals, alpha, lambda_plus)
    except (ValueError, FloatingPointError) as err:
        warn.append(f"metrics: {err}")
        return {}


def _bootstrap_alpha(
    evals: np.ndarray, B: int, key: Any, peer: bool, min_tail: int, estimator: Any = None
) -> float:
    """Standard deviation of alpha over ``B`` resamples of the ESD (xmin re-chosen each time)."""
    import jax

    idx = np.asarray(jax.random.randint(key, (B, evals.size), 0, evals.size))
    alphas = []
    for b in range(B):
        try:
            f = _powerlaw(np.sort(evals[idx[b]]), peer=peer, min_tail=min_tail, estimator=estimator)
        except ValueError:
            continue
        if f.ok and math.isfinite(float(f.alpha)):
            alphas.append(float(f.alpha))
    return float(np.std(alphas, ddof=1)) if len(alphas) >= 2 else _nan()


def _auto_workers(n_layers: int) -> int:
    """Spectrum threads by default: the CPU's cores (at most 4) on the CPU backend, else 1."""
    if n_layers < 2:
        return 1
    import jax

    if jax.default_backend() != "cpu":
        return 1  # the spectra run on the accelerator (XLA eigvalsh), one layer at a time
    return max(1, min(4, os.cpu_count() or 1))


def _blas_one_thread(workers: int):
    """One BLAS thread per spectrum worker (threadpoolctl, when installed), else nothing."""
    if workers <= 1:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def analyze(
    model_or_path: Any,
    *,
    normalization: str = "N",
    peer_conventions: bool = False,
    conv: str = "slices",
    layers: Callable[[str], bool] | list[str] | str | None = None,
    kinds: Mapping[str, str] | None = None,
    split_qkv: bool = False,
    base: Any = None,
    merged: bool | None = None,
    min_evals: int = MIN_EVALS,
    min_tail: int = 10,
    fingers: bool = True,
    fingers_level: float = 0.01,
    max_fingers: int = 3,
    bootstrap: int = 0,
    key: Any = None,
    progress: bool = False,
    dtype: Any = None,
    workers: int | None = None,
    estimator: Any = None,
) -> AnalysisReport:
    """Analyse every weight matrix of a model with Heavy-Tailed Self-Regularization.

    For each matrix: the ESD (eigenvalues of ``WᵀW/N``; conv kernels pooled over their spatial
    slices), a power-law fit of its tail (α, xmin, D, σ), a Marchenko–Pastur bulk fit (σ_MP,
    λ+, spikes), the norms and ranks of the HT-SR papers, the 5+1 phase, and a test for
    "fingers" (a few outlying eigenvalues that dominate the tail fit).

    Files, shards and model folders are read lazily: one tensor at a time, in its stored dtype
    (bf16/fp16 become float32 only for their own spectrum), so peak memory is bounded by the
    largest matrix and its Gram matrix, not by the model (:func:`htrmt.networks.describe` shows
    what will be read).

    Args:
        model_or_path: an equinox Module or pytree of them, a flax ``nnx.Module`` or linen
            variables, a ``torch.nn.Module`` or state dict, a dict of arrays, or a path: a
            ``.npz`` / ``.safetensors`` / ``.pt`` file, an index file
            (``model.safetensors.index.json``, ``pytorch_model.bin.index.json``), a Hugging Face
            model folder, or a PEFT adapter folder (``adapter_config.json``; analysed as
            ΔW = (lora_alpha/r)·B·A per target module, or W + ΔW with ``base``).
        normalization: ``"N"`` (default, eigenvalues of ``WᵀW/N``, where the MP law lives) or
            ``"none"`` (``WᵀW``, weightwatcher's; changes norms and ``lambda_max``, not α).
        peer_conventions: reproduce weightwatcher 0.7: ``normalization="none"``, its xmin rule
            (every eigenvalue above 1e-5 is a candidate, smallest KS distance), its MP spike margin
            ``√(TW scale)``, conv2d slices scaled by ``√(k·k/2)``. Overrides ``normalization``.
        conv: ``"slices"`` (default; each spatial position an ``out × in`` matrix, pooled into
            one ESD per layer) or ``"flatten"`` (one ``out × in·k·k`` matrix).
        layers: keep only these layers: a regex (``re.search`` on the name), a list of names, or
            a callable on the name. Unselected tensors are never read.
        kinds: ``{regex: kind}`` overriding how matching tensors are read (``linear``,
            ``transposed``, ``embedding``, ``conv``, ``experts``, ``skip``).
        split_qkv: split fused QKV projections into Q, K and V (head counts from config.json).
        base: a second model or path: analyse ``W - W_base`` for every layer present in both (a
            fine-tune against its base); with an adapter, analyse ``W_base + ΔW``.
        merged: for an adapter: ``True`` analyses ``W_base + ΔW`` (needs ``base``), ``False``
            ``ΔW``; default: merged exactly when a base is given.
        min_evals: smallest ESD (positive eigenvalues) that gets a fit; smaller layers get
            ``status="too-small"``.
        min_tail: smallest power-law tail (points >= xmin) a fit may choose (the peer: 2).
        fingers: run the fingers test on each fitted tail.
        fingers_level: false-alarm rate of that test on a pure power-law tail.
        max_fingers: most fingers tested for.
        bootstrap: number of bootstrap resamples of each ESD for an error bar on α (``alpha_err``);
            0 (default) skips it. Needs ``key``.
        key: ``jax.random`` key for the bootstrap.
        progress: show a progress bar (tqdm) over the layers.
        dtype: compute the spectra in this float dtype (e.g. ``jnp.float64``, which needs
            ``jax_enable_x64``); default: float32 for 16-bit weights, else the stored dtype.
        workers: threads computing the spectra (reading, Gram matrices and ``eigvalsh``, which
            release the GIL) while the calling thread fits the layers already done; results are
            the same for any value. Default: the CPU's cores (at most 4) on the CPU backend, one
            BLAS thread each (threadpoolctl, when installed); 1 on a GPU/TPU, where the spectra
            run on the device. Each worker holds one layer's weights.
        estimator: the published HT-SR estimator of the methods that act on a network, by name
            (``"tempbalance"``, ``"model-balancing"``, ``"alphadecay"``, ``"alphapruning"``,
            ``"goodness-of-fit"``, ``"farms"``: :data:`htrmt.act.ESTIMATORS`) or an
            :class:`htrmt.act.Estimator`: λ = σ² of the raw W (``normalization="none"``), conv
            slices scaled by ``√conv_norm`` and pooled (FARMS: windows), its Hill fit for α, xmin
            and D. Default None: htrmt's own conventions.

    Returns:
        An :class:`AnalysisReport`: ``.layers`` (one row per matrix), ``.summary``, ``.skipped``,
        ``to_pandas()``, ``to_csv()``, ``to_json()``, ``table()``.

    Raises:
        FileNotFoundError: a path that does not exist.
        ValueError: a file that is not a model (or is truncated, or inconsistent), a model
            without 2-D weights, a layer with NaN or Inf weights (named), a ``base`` whose
            shapes differ, an adapter asked to merge without a base, a bad option.
        TypeError: an object this function cannot read.

    Example:
        >>> import jax, equinox as eqx, htrmt as ht
        >>> mlp = eqx.nn.MLP(64, 10, 128, 2, key=jax.random.key(0))
        >>> rep = ht.analyze(mlp)
        >>> [r.name for r in rep.layers]
        ['layers.0.weight', 'layers.1.weight', 'layers.2.weight']

    References:
        Martin & Mahoney (2021), JMLR 22(165); Martin, Peng & Mahoney (2021), Nat. Commun. 12,
        4122 (α̂ and the norm metrics).
    """
    if normalization not in ("N", "none"):
        raise ValueError(
            f"normalization must be 'N' or 'none', got normalization={normalization!r}"
        )
    if conv not in CONV_MODES:
        raise ValueError(f"conv must be one of {list(CONV_MODES)}, got conv={conv!r}")
    if isinstance(min_evals, bool) or not isinstance(min_evals, int) or min_evals < 2:
        raise ValueError(f"min_evals must be an int >= 2, got min_evals={min_evals!r}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise ValueError(f"bootstrap must be an int >= 0, got bootstrap={bootstrap!r}")
    if isinstance(min_tail, bool) or not isinstance(min_tail, int) or min_tail < 2:
        raise ValueError(f"min_tail must be an int >= 2, got min_tail={min_tail!r}")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(f"workers must be an int >= 1 or None, got workers={workers!r}")
    if bootstrap and key is None:
        raise ValueError("bootstrap > 0 needs a jax.random key: analyze(..., bootstrap=B, key=key)")
    est = None
    label = "weightwatcher" if peer_conventions else "htrmt"
    if estimator is not None:
        from ..act._published import resolve_estimator

        if peer_conventions:
            raise ValueError("peer_conventions=True and estimator= are exclusive: choose one")
        if conv != "slices":
            raise ValueError(f"estimator= reads conv kernels as slices, got conv={conv!r}")
        est, label = resolve_estimator(estimator)
    if peer_conventions or est is not None:
        normalization = "none"

    opts = dict(conv=conv, kinds=kinds, split_qkv=split_qkv)
    mplan = build_plan(model_or_path, base=base, merged=merged, layers=layers, **opts)
    todo = list(mplan.layers)
    dt = None
    if dtype is not None:
        from .._checks import float_dtype

        dt = np.dtype(float_dtype(dtype))
    if workers is None:
        workers = _auto_workers(len(todo))
    keys = [None] * len(todo)
    if bootstrap:
        import jax

        keys = list(jax.random.split(key, len(todo)))

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="analyze", unit="layer", leave=False)
    rows: list[LayerResult] = []
    esds: dict[str, np.ndarray] = {}
    fits: dict[str, LayerFits] = {}
    order: Any = range(len(todo))
    pool = None
    pending: list[Any] = []
    done: dict[int, tuple[LayerResult, np.ndarray, LayerFits]] = {}
    with _blas_one_thread(workers):
        if workers > 1 and len(todo) > 1:
            from concurrent.futures import ThreadPoolExecutor, as_completed

            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="htrmt-esd")
            pending = [
                pool.submit(_layer_evals, lw, normalization, peer_conventions, dt, est)
                for lw in todo
            ]
            index = {f: i for i, f in enumerate(pending)}
            order = (index[f] for f in as_completed(pending))  # fit each layer as its ESD is done
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                for i in order:
                    lw = todo[i]
                    if bar is not None:
                        bar.set_postfix_str(lw.name[-40:])
                    ev = (
                        pending[i].result()
                        if pending
                        else _layer_evals(lw, normalization, peer_conventions, dt, est)
                    )
                    done[i] = analyze_layer(
                        lw,
                        normalization=normalization,
                        peer_conventions=peer_conventions,
                        fingers=fingers,
                        fingers_level=fingers_level,
                        max_fingers=max_fingers,
                        bootstrap=bootstrap,
                        key=keys[i],
                        min_evals=min_evals,
                        min_tail=min_tail,
                        evals=ev,
                        estimator=est,
                    )
                    if bar is not None:
                        bar.update(1)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
    for i, lw in enumerate(todo):  # the model's layer order, whatever order they finished in
        row, ev, ft = done[i]
        rows.append(row)
        esds[lw.name] = ev
        fits[lw.name] = ft
    if bar is not None:
        bar.close()
    layers_t = tuple(rows)
    return AnalysisReport(
        layers=layers_t,
        summary=Summary.from_layers(layers_t),
        skipped=mplan.skipped,
        framework=mplan.framework,
        normalization=normalization,
        conventions=label,
        esds=esds,
        fits=fits,
    )


def build_plan(
    model_or_path: Any,
    *,
    base: Any = None,
    merged: bool | None = None,
    layers: Any = None,
    **opts: Any,
) -> ModelPlan:
    """The plan :func:`analyze` runs: the model's layers, differences with a base, an adapter."""
    from ._adapter import is_adapter, plan_adapter_path

    if is_adapter(model_or_path):
        base_plan = None if base is None else plan(base, **opts)
        p = plan_adapter_path(model_or_path, base=base_plan, merged=merged)
        if layers is not None:
            p = plan(p, layers=layers)
        return p
    if merged:
        raise ValueError("merged=True applies to an adapter (a folder with adapter_config.json)")
    if base is None:
        return plan(model_or_path, layers=layers, **opts)
    from ._adapter import difference_plan

    return difference_plan(plan(model_or_path, layers=layers, **opts), plan(base, **opts))
