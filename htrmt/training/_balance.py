"""optax transformations that set per-layer rates and decays from the layers' ESD tails.

``temp_balance`` (per-layer learning-rate scale), ``model_balancing`` (per-block scale) and
``alpha_decay`` (per-layer decoupled weight decay). Each keeps the per-layer α and the current
factors in its state and recomputes them from the parameters every ``every`` steps inside
``update`` (a ``lax.cond``: no Python side effect, jit-safe).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Bool, Float, Int

from ..act._estimator import Estimator, get_estimator
from ..act._layers import Layer, LayerFilter, leaf_names, select_layers
from ..act._metrics import metrics_of_layers

__all__ = [
    "BalanceState",
    "MAPS",
    "alpha_decay",
    "balance_factors",
    "map_alpha",
    "model_balancing",
    "temp_balance",
]

#: the α → factor maps of TempBalance
MAPS = ("linear", "sqrt", "log2", "rank")


class BalanceState(eqx.Module):
    """State of the α-driven transformations.

    Attributes:
        count: updates applied so far.
        alpha: α of each layer when last computed (``layers`` order); NaN where no valid fit.
        factor: current factor of each unit (``units`` order): a learning-rate scale for
            ``temp_balance`` / ``model_balancing``, a weight-decay multiplier for
            ``alpha_decay``.
        degenerate: the last map was degenerate (all α equal, or fewer than two layers with a
            valid α): its factors are 1.
        invalid: the last recomputation found an included layer without a finite α (NaN
            weights...): α and the factors were left as they were.
        layers: names of the layers (static).
        units: names of the units the factors apply to (layers, or blocks; static).
    """

    count: Int[Array, ""]
    alpha: Float[Array, " n"]
    factor: Float[Array, " u"]
    degenerate: Bool[Array, ""]
    invalid: Bool[Array, ""]
    layers: tuple[str, ...] = eqx.field(static=True)
    units: tuple[str, ...] = eqx.field(static=True)


def _check_every(every: Any) -> None:
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
        raise ValueError(f"every must be an int >= 1 or None, got every={every!r}")


def _check_number(name: str, value: Any, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {name}={value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {name}={value!r}")
    return float(value)


def map_alpha(
    alpha: Float[Array, " n"],
    mask: Bool[Array, " n"],
    *,
    map: str = "linear",
    r_min: float = 0.5,
    r_max: float = 1.5,
) -> tuple[Float[Array, " n"], Bool[Array, ""]]:
    """TempBalance's per-layer factors from α (traceable).

    Over the layers in ``mask`` (n of them): ``"linear"``: ``r_min + (α − α_min)/(α_max −
    α_min)·(r_max − r_min)``; ``"sqrt"``: ``n·√α / Σ√α``; ``"log2"``: ``n·log2 α / Σ log2 α``;
    ``"rank"``: ``r_min + rank/(n − 1)·(r_max − r_min)``, rank 0 for the smallest α. Layers
    outside the mask get 1. A degenerate map (all α equal, n < 2, or a non-positive sum) gives
    factors 1 and ``degenerate=True``.

    Returns:
        ``(factors, degenerate)``.

    Example:
        >>> import jax.numpy as jnp, htrmt as ht
        >>> f, deg = ht.training.map_alpha(jnp.array([2.0, 3.0, 4.0]), jnp.array([True] * 3))
        >>> f.tolist(), bool(deg)
        ([0.5, 1.0, 1.5], False)
    """
    if map not in MAPS:
        raise ValueError(f"map must be one of {list(MAPS)}, got map={map!r}")
    a = jnp.asarray(alpha)
    dt = a.dtype
    m = jnp.asarray(mask) & jnp.isfinite(a)
    n = jnp.sum(m)
    one = jnp.ones_like(a)
    safe = jnp.where(m, a, jnp.ones((), dt))
    if map in ("linear", "rank"):
        if map == "linear":
            lo = jnp.min(jnp.where(m, a, jnp.inf))
            hi = jnp.max(jnp.where(m, a, -jnp.inf))
            span = hi - lo
            t = (safe - lo) / jnp.where(span > 0, span, jnp.ones((), dt))
            degenerate = ~(span > 0)
        else:
            key = jnp.where(m, a, jnp.inf)
            rank = jnp.argsort(jnp.argsort(key, stable=True), stable=True).astype(dt)
            t = rank / jnp.maximum(n - 1, 1).astype(dt)
            degenerate = n < 2
            lo = jnp.min(jnp.where(m, a, jnp.inf))
            degenerate = degenerate | (jnp.max(jnp.where(m, a, -jnp.inf)) == lo)
        f = r_min + t * (r_max - r_min)
    else:
        g = jnp.sqrt(safe) if map == "sqrt" else jnp.log2(safe)
        total = jnp.sum(jnp.where(m, g, jnp.zeros((), dt)))
        f = n.astype(dt) * g / jnp.where(total > 0, total, jnp.ones((), dt))
        degenerate = ~(total > 0) | (n < 2)
    f = jnp.where(m & ~degenerate, f, one)
    return f.astype(dt), degenerate


class _Plan(NamedTuple):
    layers: tuple[Layer, ...]
    included: np.ndarray  # (n,) bool, static
    units: tuple[str, ...]
    leaf_unit: tuple[int, ...]  # per leaf: unit index or -1
    num_leaves: int


def _as_follow(follow: Any) -> Callable[[str], str | None]:
    if follow is None:
        return lambda name: None
    if isinstance(follow, Mapping):
        items = []
        for pat, target in follow.items():
            if not isinstance(pat, str) or not isinstance(target, str):
                raise TypeError(
                    f"follow must map leaf regexes to layer names, got follow={follow!r}"
                )
            items.append((re.compile(pat), target))

        def f(name: str) -> str | None:
            for rx, target in items:
                if rx.search(name):
                    return target
            return None

        return f
    if callable(follow):
        return follow
    raise TypeError(f"follow must be a mapping, a callable or None, got follow={follow!r}")


def _exclusions(
    layers: tuple[Layer, ...],
    est: Estimator,
    exclude_first_last: bool,
    exclude: Any,
    min_params: int,
) -> np.ndarray:
    from ..act._estimator import num_evals

    inc = np.array([num_evals(lay.slices_shape, est) >= est.eigs_thresh for lay in layers])
    inc &= np.array([lay.num_params >= min_params for lay in layers])
    if exclude_first_last and len(layers) > 0:
        inc[0] = False
        inc[-1] = False
    if exclude is not None:
        if isinstance(exclude, str):
            rx = re.compile(exclude)
            inc &= np.array([rx.search(lay.name) is None for lay in layers])
        elif callable(exclude):
            inc &= np.array([not exclude(lay.name) for lay in layers])
        else:
            names = set(exclude)
            inc &= np.array([lay.name not in names for lay in layers])
    return inc


def _layer_plan(params, filter, est, exclude_first_last, exclude, min_params, follow, siblings):
    layers = select_layers(params, filter)
    inc = _exclusions(layers, est, exclude_first_last, exclude, min_params)
    names = leaf_names(params)
    unit_of = {lay.name: j for j, lay in enumerate(layers)}
    by_index = {lay.index: j for j, lay in enumerate(layers)}
    by_parent = {lay.parent: j for j, lay in enumerate(layers)}
    fol = _as_follow(follow)
    leaf_unit = []
    for i, name in enumerate(names):
        if i in by_index:
            leaf_unit.append(by_index[i])
            continue
        target = fol(name)
        if target is not None:
            if target not in unit_of:
                raise ValueError(
                    f"follow maps {name!r} to {target!r}, which is not a selected layer "
                    f"(layers: {sorted(unit_of)[:8]})"
                )
            leaf_unit.append(unit_of[target])
            continue
        parent = name.rsplit(".", 1)[0] if "." in name else ""
        leaf_unit.append(by_parent.get(parent, -1) if siblings else -1)
    return _Plan(layers, inc, tuple(lay.name for lay in layers), tuple(leaf_unit), len(names))


def _alphas(params, plan: _Plan, est: Estimator):
    leaves = jax.tree_util.tree_leaves(params)
    m = metrics_of_layers(leaves, plan.layers, est)
    ok = (m.status == 0) & jnp.isfinite(m.alpha)
    return m.alpha, ok


def _make(
    *,
    plan_fn: Callable[[Any], _Plan],
    factor_fn: Callable[[Array, np.ndarray, _Plan], tuple[Array, Array]],
    apply_fn: Callable[[Any, Any, Array, _Plan], Any],
    est: Estimator,
    every: int | None,
    on_nan: str,
) -> optax.GradientTransformation:
    if on_nan not in ("keep", "raise"):
        raise ValueError(f"on_nan must be 'keep' or 'raise', got on_nan={on_nan!r}")

    def compute(params, plan):
        alpha, ok = _alphas(params, plan, est)
        incl = jnp.asarray(plan.included)
        bad = jnp.any(incl & ~ok)
        alpha = jnp.where(ok, alpha, jnp.nan)
        factor, degenerate = factor_fn(alpha, plan.included, plan)
        return alpha, factor, degenerate, bad

    def init_impl(params):
        plan = plan_fn(params)
        alpha, factor, degenerate, bad = compute(params, plan)
        if on_nan == "raise":
            alpha = eqx.error_if(alpha, bad, "an included layer has no finite alpha (NaN weights?)")
        return BalanceState(
            count=jnp.zeros((), jnp.int32),
            alpha=alpha,
            factor=factor,
            degenerate=degenerate,
            invalid=bad,
            layers=tuple(lay.name for lay in plan.layers),
            units=plan.units,
        )

    def update_impl(updates, state, params):
        plan = plan_fn(params)
        if len(jax.tree_util.tree_leaves(updates)) != plan.num_leaves:
            raise ValueError(
                "updates and params must have the same leaves (for equinox, pass "
                "eqx.filter(model, eqx.is_array) as params)"
            )
        recompute = jnp.asarray(False)
        if every is not None:
            recompute = (state.count > 0) & (state.count % every == 0)

        def fresh(_):
            alpha, factor, degenerate, bad = compute(params, plan)
            if on_nan == "raise":
                alpha = eqx.error_if(
                    alpha, bad, "an included layer has no finite alpha (NaN weights?)"
                )
            alpha = jnp.where(bad, state.alpha, alpha)
            factor = jnp.where(bad, state.factor, factor.astype(state.factor.dtype))
            degenerate = jnp.where(bad, state.degenerate, degenerate)
            return alpha.astype(state.alpha.dtype), factor, degenerate, bad

        def keep(_):
            return state.alpha, state.factor, state.degenerate, state.invalid

        alpha, factor, degenerate, bad = jax.lax.cond(recompute, fresh, keep, None)
        new_updates = apply_fn(updates, params, factor, plan)
        new_state = BalanceState(
            count=optax.safe_increment(state.count),
            alpha=alpha,
            factor=factor,
            degenerate=degenerate,
            invalid=bad,
            layers=state.layers,
            units=state.units,
        )
        return new_updates, new_state

    # One compilation per parameter structure, reused by every call (eager calls would
    # otherwise retrace the layer spectra and fits each step); nested inside a user's jit
    # these are inlined.
    init_jit = eqx.filter_jit(init_impl)
    update_jit = eqx.filter_jit(update_impl)

    def init_fn(params):
        return init_jit(params)

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError(
                "this transformation needs params: call update(updates, state, params)"
            )
        return update_jit(updates, state, params)

    return optax.GradientTransformation(init_fn, update_fn)


def _scale_updates(updates, params, factor, plan: _Plan):
    leaves, treedef = jax.tree_util.tree_flatten(updates)
    out = []
    for u, k in zip(leaves, plan.leaf_unit):
        out.append(u if k < 0 else u * factor[k].astype(u.dtype))
    return jax.tree_util.tree_unflatten(treedef, out)


def _check_common(r_min, r_max, every, filter_est):
    _check_number("r_min", r_min)
    _check_number("r_max", r_max)
    _check_every(every)
    return get_estimator(filter_est)


def temp_balance(
    *,
    every: int | None,
    map: str = "linear",
    r_min: float = 0.5,
    r_max: float = 1.5,
    estimator: str | Estimator = "tempbalance",
    filter: LayerFilter = None,
    exclude_first_last: bool = True,
    exclude: str | Sequence[str] | Callable[[str], bool] | None = None,
    min_params: int = 0,
    follow: Mapping[str, str] | Callable[[str], str | None] | None = None,
    siblings: bool = True,
    on_nan: str = "keep",
) -> optax.GradientTransformation:
    """TempBalance: scale each layer's update by a factor mapped from its α.

    Put it after the base optimizer (whose learning rate or schedule is the base rate η_t):
    ``optax.chain(optax.sgd(schedule, momentum=0.9), temp_balance(every=steps_per_epoch))``.
    Scaling the final update of a layer by ``f_l`` is a per-layer learning rate ``η_t·f_l``
    for SGD with momentum and weight decay (as in the paper's PyTorch parameter groups).

    α (:func:`htrmt.act.hill_fit`, the ``"tempbalance"`` estimator by default) is computed from
    the parameters at ``init`` and then inside ``update`` whenever ``count`` is a positive
    multiple of ``every`` (before that step's update is applied), in a ``lax.cond``.

    Args:
        every: recompute α every this many steps (an epoch in the paper); None: only at init.
        map: ``"linear"`` (the paper's), ``"sqrt"``, ``"log2"`` or ``"rank"``
            (:func:`map_alpha`).
        r_min, r_max: range of the linear and rank maps (0.5, 1.5).
        estimator: the α estimator (an :class:`htrmt.act.Estimator` or a name).
        filter: which leaves are layers (:func:`htrmt.act.select_layers`).
        exclude_first_last: the first and last selected layers keep the base rate (True).
        exclude: more layers keeping the base rate (regex, names or predicate on the name).
        min_params: layers with fewer parameters keep the base rate. Layers with fewer
            eigenvalues than the estimator's ``eigs_thresh`` always do.
        follow: leaves that take a layer's factor: ``{leaf regex: layer name}`` or
            ``f(leaf name) -> layer name | None`` (a norm layer following its layer).
        siblings: leaves of the same module as a layer (its bias) take its factor (True).
        on_nan: an included layer without a finite α at a recomputation (NaN weights):
            ``"keep"`` leaves α and the factors unchanged and sets ``state.invalid``;
            ``"raise"`` raises through ``equinox.error_if`` (so ``EQX_ON_ERROR`` controls it).

    Returns:
        An ``optax.GradientTransformation`` whose state is a :class:`BalanceState`
        (``state.factor``: the current factor of each layer, ``state.units`` their names).

    Raises:
        ValueError: a bad argument (named); at init: no layer selected; at update: no params.

    Example:
        >>> import jax, jax.numpy as jnp, equinox as eqx, optax, htrmt as ht
        >>> mlp = eqx.nn.MLP(64, 10, 256, 3, key=jax.random.key(0))
        >>> params = eqx.filter(mlp, eqx.is_array)
        >>> opt = optax.chain(optax.sgd(0.1, momentum=0.9), ht.training.temp_balance(every=100))
        >>> state = opt.init(params)
        >>> ht.training.balance_factors(state)["layers.1.weight"] > 0
        True

    References:
        Zhou et al. (2023), "Temperature Balancing, Layer-wise Weight Analysis, and Neural
        Network Training", NeurIPS.
    """
    est = _check_common(r_min, r_max, every, estimator)
    if map not in MAPS:
        raise ValueError(f"map must be one of {list(MAPS)}, got map={map!r}")
    _check_int("min_params", min_params)

    def plan_fn(params):
        return _layer_plan(
            params, filter, est, exclude_first_last, exclude, min_params, follow, siblings
        )

    def factor_fn(alpha, included, plan):
        return map_alpha(alpha, jnp.asarray(included), map=map, r_min=r_min, r_max=r_max)

    return _make(
        plan_fn=plan_fn,
        factor_fn=factor_fn,
        apply_fn=_scale_updates,
        est=est,
        every=every,
        on_nan=on_nan,
    )


def _check_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {name}={value!r}")


def _as_block(blocks: Any) -> Callable[[str], str | None]:
    if isinstance(blocks, str):
        try:
            rx = re.compile(blocks)
        except re.error as err:
            raise ValueError(f"blocks is not a valid regex: blocks={blocks!r} ({err})") from None

        def f(name: str) -> str | None:
            mt = rx.search(name)
            if mt is None:
                return None
            return mt.group(1) if rx.groups else mt.group(0)

        return f
    if callable(blocks):
        return blocks
    raise TypeError(f"blocks must be a regex or a callable name -> block, got blocks={blocks!r}")


def model_balancing(
    *,
    every: int | None,
    blocks: str | Callable[[str], str | None],
    s_min: float,
    s_max: float,
    temperature: float = 10.0,
    estimator: str | Estimator = "model-balancing",
    filter: LayerFilter = None,
    exclude: str | Sequence[str] | Callable[[str], bool] | None = None,
    on_nan: str = "keep",
) -> optax.GradientTransformation:
    """Model Balancing: scale each block's updates by ``10^f_b`` from its mean α.

    ``ᾱ_b`` = mean α of the block's layers; ``d_b = ᾱ_b − mean_b ᾱ_b``;
    ``f_b = s_max·(σ(T·d_b) − ½)`` if ``d_b > 0`` else ``s_min·(σ(T·d_b) − ½)``. Every leaf
    whose name the ``blocks`` rule assigns to a block (weights, biases, norms) is scaled by its
    block's factor; other leaves keep the base rate. Chain it after the base optimizer.

    Args:
        every: recompute every this many steps; None: only at init.
        blocks: a regex whose first group (or whole match) names a leaf's block
            (``r"layers\\.(\\d+)\\."``) or ``f(name) -> block | None``.
        s_min, s_max: scales of the map below and above the mean.
        temperature: ``T`` (10).
        estimator: the α estimator (``"model-balancing"``: median fit, xmin_pos 1.5).
        filter: which leaves are layers.
        exclude: layers whose α does not enter their block's mean.
        on_nan: as in :func:`temp_balance`.

    Returns:
        An ``optax.GradientTransformation``; ``state.factor`` per block (``state.units``).

    References:
        Liu et al. (2024), "Model Balancing Helps Low-data Training and Fine-tuning", EMNLP.
    """
    est = get_estimator(estimator)
    _check_every(every)
    _check_number("s_min", s_min)
    _check_number("s_max", s_max)
    _check_number("temperature", temperature, positive=True)
    block_of = _as_block(blocks)

    def plan_fn(params):
        layers = select_layers(params, filter)
        inc = _exclusions(layers, est, False, exclude, 0)
        names = leaf_names(params)
        units: list[str] = []
        leaf_unit = []
        for name in names:
            b = block_of(name)
            if b is None:
                leaf_unit.append(-1)
                continue
            b = str(b)
            if b not in units:
                units.append(b)
            leaf_unit.append(units.index(b))
        if not units:
            raise ValueError(f"blocks={blocks!r} assigns no leaf to a block (leaves: {names[:8]})")
        return _Plan(layers, inc, tuple(units), tuple(leaf_unit), len(names))

    def factor_fn(alpha, included, plan):
        nb = len(plan.units)
        member = np.zeros((nb, len(plan.layers)), bool)
        for j, lay in enumerate(plan.layers):
            k = plan.leaf_unit[lay.index]
            if k >= 0 and included[j]:
                member[k, j] = True
        w = jnp.asarray(member) & jnp.isfinite(alpha)[None, :]
        a = jnp.where(jnp.isfinite(alpha), alpha, 0)
        cnt = jnp.sum(w, axis=1)
        mean_b = jnp.sum(jnp.where(w, a[None, :], 0), axis=1) / jnp.maximum(cnt, 1).astype(a.dtype)
        has = cnt > 0
        mu = jnp.sum(jnp.where(has, mean_b, 0)) / jnp.maximum(jnp.sum(has), 1).astype(a.dtype)
        d = mean_b - mu
        sig = jax.nn.sigmoid(temperature * d) - 0.5
        f = jnp.where(d > 0, s_max * sig, s_min * sig)
        factor = jnp.where(has, 10.0**f, 1.0).astype(alpha.dtype)
        degenerate = jnp.sum(has) < 2
        return factor, degenerate

    return _make(
        plan_fn=plan_fn,
        factor_fn=factor_fn,
        apply_fn=_scale_updates,
        est=est,
        every=every,
        on_nan=on_nan,
    )


def alpha_decay(
    weight_decay: float,
    *,
    every: int | None = 500,
    r_min: float = 0.667,
    r_max: float = 3.0,
    other_weight_decay: float = 0.0,
    estimator: str | Estimator = "alphadecay",
    filter: LayerFilter = None,
    exclude_first_last: bool = True,
    exclude: str | Sequence[str] | Callable[[str], bool] | None = None,
    on_nan: str = "keep",
) -> optax.GradientTransformation:
    """AlphaDecay: decoupled weight decay whose strength per layer is mapped from its α.

    Adds ``wd_l · params`` to each layer's update, ``wd_l = weight_decay·(r_min + (α_l −
    α_min)/(α_max − α_min)·(r_max − r_min))``: a heavier tail (smaller α) gets weaker decay.
    Excluded layers (first and last, under ``eigs_thresh``) get ``weight_decay``; other leaves
    (biases, norms, embeddings) ``other_weight_decay``. Use it where
    ``optax.add_decayed_weights`` goes, e.g. AdamW:
    ``optax.chain(optax.scale_by_adam(), alpha_decay(0.1), optax.scale_by_learning_rate(lr))``.

    Args:
        weight_decay: the base decay.
        every: recompute every this many steps (500 in the paper); None: only at init.
        r_min, r_max: the range of the multiplier (0.667, 3.0).
        other_weight_decay: decay of the leaves that are not layers (0).
        estimator, filter, exclude_first_last, exclude, on_nan: as in :func:`temp_balance`.

    Returns:
        An ``optax.GradientTransformation``; ``state.factor``: each layer's multiplier of
        ``weight_decay``.

    References:
        AlphaDecay (2025): module-wise weight decay for heavy-tailed balancing in LLMs.
    """
    wd = _check_number("weight_decay", weight_decay)
    owd = _check_number("other_weight_decay", other_weight_decay)
    est = _check_common(r_min, r_max, every, estimator)

    def plan_fn(params):
        return _layer_plan(params, filter, est, exclude_first_last, exclude, 0, None, False)

    def factor_fn(alpha, included, plan):
        return map_alpha(alpha, jnp.asarray(included), map="linear", r_min=r_min, r_max=r_max)

    def apply_fn(updates, params, factor, plan):
        u_leaves, treedef = jax.tree_util.tree_flatten(updates)
        p_leaves = jax.tree_util.tree_leaves(params)
        out = []
        for u, p, k in zip(u_leaves, p_leaves, plan.leaf_unit):
            if k < 0:
                out.append(u + owd * p.astype(u.dtype) if owd else u)
            else:
                out.append(u + (wd * factor[k]).astype(u.dtype) * p.astype(u.dtype))
        return jax.tree_util.tree_unflatten(treedef, out)

    return _make(
        plan_fn=plan_fn,
        factor_fn=factor_fn,
        apply_fn=apply_fn,
        est=est,
        every=every,
        on_nan=on_nan,
    )


def balance_factors(opt_state: Any, field: str = "factor") -> dict[str, float]:
    """``{unit: factor}`` of the (first) :class:`BalanceState` in an optimizer state (host).

    ``field="alpha"`` gives ``{layer: α}`` instead.
    """
    found = [
        s
        for s in jax.tree_util.tree_leaves(opt_state, is_leaf=lambda x: isinstance(x, BalanceState))
        if isinstance(s, BalanceState)
    ]
    if not found:
        raise ValueError(
            "opt_state holds no BalanceState (no temp_balance / model_balancing / alpha_decay)"
        )
    s = found[0]
    if field == "factor":
        return dict(zip(s.units, np.asarray(s.factor).tolist()))
    if field == "alpha":
        return dict(zip(s.layers, np.asarray(s.alpha).tolist()))
    raise ValueError(f"field must be 'factor' or 'alpha', got field={field!r}")
