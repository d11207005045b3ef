"""Load–temperature phase diagrams: theory classification and Monte Carlo over a grid."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from htrmt._checks import check_int, check_key

from . import _simulation as _sim
from . import _theory as _th

__all__ = ["PHASES", "PhaseDiagram", "phase_diagram", "simulate_diagram", "row_trial"]

PHASES = ("poor", "good", "perfect", "coexistence", "spin_glass")


@dataclasses.dataclass(frozen=True)
class PhaseDiagram:
    """The (α, τ) plane of one model and theory.

    Attributes:
        alpha: loads, shape ``(na,)``; tau: temperatures, shape ``(nt,)``.
        model, theory: as passed. good_error: the ε below which learning counts as good.
        epsilon: equilibrium generalization error, shape ``(nt, na)``.
        phase: index into :data:`PHASES` at each point, shape ``(nt, na)``:
            ``poor`` (ε >= good_error), ``good`` (0 < ε < good_error), ``perfect`` (ε = 0, no
            other state), ``coexistence`` (perfect in equilibrium, a poor state metastable),
            ``spin_glass`` (perfect in equilibrium, the metastable poor state is a frozen glass:
            for the quenched Ising theory at τ > 0, the frozen 1RSB solution exists there,
            τ < τ_K(α) (:func:`vsdl.theory.frozen_rsb`), which includes loads beyond the RS
            spinodal; elsewhere, a metastable RS state with negative entropy, which discrete
            weights cannot have).
        num_stable: number of local maxima of the free entropy, shape ``(nt, na)``.
        lines: transition lines, name → ``(tau_values, alpha_values)``: for Ising weights
            ``"transition"`` (first order, α_c(τ)), ``"spinodal"`` (end of the metastable poor
            state) and ``"quenched_tau0"`` (the quenched transition at τ = 0, one point); for
            spherical weights ``"crossover"`` (where ε = good_error). The quenched Ising theory
            adds ``"glass"``: the freezing temperature τ_K(α) of the frozen 1RSB glass, from the
            τ = 0 transition up to where it meets the spinodal (sampled in α). Lines are sampled
            on a finer τ grid than the diagram's.
        simulation: a :class:`vsdl.simulation.MonteCarloResult` on the same grid, or None.
        parisi_m: the Parisi parameter ``m = τ/τ_K`` of the frozen glass where it exists (1 where
            the RS poor state stands, NaN where there is none), shape ``(nt, na)``; quenched
            Ising theory with some τ > 0 only (NaN at τ = 0), else None.
        replicon: the replicon (de Almeida–Thouless) factor of the replica-symmetric state that
            matters at each point, shape ``(nt, na)``: the equilibrium state when it is interior
            (poor or good), else the largest over the metastable interior states; NaN where
            the perfect state is the only one. None for the annealed and high-temperature
            theories (they have no replicas). The RS state is locally stable where it is < 1.
    """

    alpha: np.ndarray
    tau: np.ndarray
    model: str
    theory: str
    good_error: float
    epsilon: np.ndarray
    phase: np.ndarray
    num_stable: np.ndarray
    lines: dict
    simulation: Any = None
    replicon: np.ndarray | None = None
    parisi_m: np.ndarray | None = None

    def phase_names(self) -> np.ndarray:
        """The phase of each point as strings, shape ``(nt, na)``."""
        return np.asarray(PHASES, dtype=object)[self.phase]


def _entropy(model: str, theory: str, eps, f, alpha, tau):
    """Entropy ``f + β e`` of a state (its energy per weight ``e = −∂f/∂β``)."""
    if theory == "quenched" or np.all(tau == 0):
        return f  # at τ = 0 the free entropy is the entropy of the version space
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if theory == "high_temperature":
            return f + (alpha / tau) * eps  # f = s − (α/τ) ε
        beta = 1.0 / tau
        c = -np.expm1(-beta)
        e = alpha * np.exp(-beta) * eps / (1.0 - c * eps)
        return np.where(tau > 0, f + beta * e, f)


def _classify(b: _th.Branches, model: str, theory: str, A, T, good_error: float) -> np.ndarray:
    eps_g = b.global_epsilon
    phase = np.where(eps_g >= good_error, 0, 1)
    perfect = eps_g == 0
    interior = b.valid & b.stable & (b.epsilon > 0)
    meta = interior.any(-1) & perfect
    if b.entropy is not None:
        s = b.entropy
    else:
        s = _entropy(model, theory, b.epsilon, b.free_entropy, A[..., None], T[..., None])
    glass = (interior & (s < 0)).any(-1) & perfect & (model == "ising")
    phase = np.where(perfect, 2, phase)
    phase = np.where(meta, 3, phase)
    phase = np.where(glass, 4, phase)
    return phase


def _crossover(alpha_grid, taus, model, theory, good_error):
    """α where ε(α, τ) = good_error, by bisection in log α (NaN where out of the α range)."""
    lo = np.full(taus.shape, math.log(alpha_grid.min()))
    hi = np.full(taus.shape, math.log(alpha_grid.max()))
    elo = _th.generalization_error(np.exp(lo), taus, model=model, theory=theory)
    ehi = _th.generalization_error(np.exp(hi), taus, model=model, theory=theory)
    ok = (elo > good_error) & (ehi < good_error)
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        em = _th.generalization_error(np.exp(mid), taus, model=model, theory=theory)
        above = em > good_error
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.where(ok, np.exp(0.5 * (lo + hi)), np.nan)


def phase_diagram(
    alpha: Any,
    tau: Any,
    *,
    model: str = "ising",
    theory: str = "quenched",
    good_error: float = 0.2,
    simulation: Any = None,
) -> PhaseDiagram:
    """Classify every (α, τ) of a grid by the theory's saddle points and draw its lines.

    Args:
        alpha: 1-D loads (> 0).
        tau: 1-D temperatures (>= 0). The quenched theory of Ising weights needs ``tau == 0``.
        model: ``'ising'`` or ``'spherical'``.
        theory: ``'annealed'``, ``'high_temperature'`` or ``'quenched'``.
        good_error: the ε separating poor from good generalization (a convention; 0 < it < 1/2).
        simulation: an optional :class:`vsdl.simulation.MonteCarloResult` on the same grid
            (shape ``(nt, na)``), kept with the diagram for plotting.

    Returns:
        A :class:`PhaseDiagram`.

    Raises:
        ValueError: bad loads, temperatures, names or ``good_error``; a simulation on another grid.

    Example:
        >>> d = phase_diagram([0.5, 1.0, 1.6], [0.0, 0.5], model="ising", theory="annealed")
        >>> d.phase_names()[0].tolist()
        ['poor', 'poor', 'spin_glass']
    """
    a = np.asarray(alpha, np.float64)
    t = np.asarray(tau, np.float64)
    if a.ndim != 1 or t.ndim != 1 or a.size == 0 or t.size == 0:
        raise ValueError(
            f"alpha and tau must be non-empty 1-D grids, got shapes {a.shape} and {t.shape}"
        )
    if not (isinstance(good_error, (int, float)) and 0 < good_error < 0.5):
        raise ValueError(f"good_error must be a float in (0, 0.5), got good_error={good_error!r}")
    A, T = np.meshgrid(a, t)  # (nt, na)
    b = _th.branches(A, T, model=model, theory=theory)
    eps = b.global_epsilon
    if model == "spherical" and theory == "high_temperature":
        eps = _th.generalization_error(A, T, model=model, theory=theory)
    phase = _classify(b, model, theory, A, T, good_error)
    parisi_m = None
    glass_line = None
    if model == "ising" and theory == "quenched" and np.any(t > 0):
        parisi_m, glass_line = _frozen_glass(a, A, T, line=t.size > 1)
        hot = T > 0
        interior = (b.valid & b.stable & (b.epsilon > 0)).any(-1)
        glassy = hot & np.isfinite(parisi_m) & (parisi_m < 1.0) & (b.global_epsilon == 0)
        phase = np.where(hot & (phase == 4) & ~glassy, np.where(interior, 3, 2), phase)
        phase = np.where(glassy, 4, phase)
    lines: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    # the lines reach down to τ = 0, finer than the grid (the quenched RS curve costs more)
    nline = 61 if theory != "quenched" else 16
    tfine = np.linspace(0.0, t.max(), nline) if t.size > 1 else t
    if model == "ising":
        tl = tfine
        if theory == "high_temperature":
            cl = _th.critical_load(model=model, theory=theory)
            lines["transition"] = (tfine, float(cl.alpha_c) * tfine)
            lines["spinodal"] = (tfine, float(cl.alpha_spinodal) * tfine)
        else:
            cl = _th.critical_load(model=model, theory=theory, tau=tl)
            lines["transition"] = (tl, cl.alpha_c)
            lines["spinodal"] = (tl, cl.alpha_spinodal)
        if theory != "quenched":
            q = _th.critical_load(model=model, theory="quenched")
            lines["quenched_tau0"] = (np.zeros(1), np.atleast_1d(q.alpha_c))
        if glass_line is not None:
            lines["glass"] = glass_line
    else:
        tc = tfine if (theory != "quenched" or t.size < 8) else np.linspace(t.min(), t.max(), 16)
        lines["crossover"] = (tc, _crossover(a, tc, model, theory, good_error))
    if simulation is not None and np.shape(simulation.epsilon) != A.shape:
        raise ValueError(
            f"simulation has shape {np.shape(simulation.epsilon)}, the grid is {A.shape} (nt, na)"
        )
    return PhaseDiagram(
        a,
        t,
        model,
        theory,
        float(good_error),
        eps,
        phase,
        b.num_stable,
        lines,
        simulation,
        _relevant_replicon(b),
        parisi_m,
    )


def _frozen_glass(a: np.ndarray, A: np.ndarray, T: np.ndarray, line: bool = True):
    """Parisi m on the grid and the glass line ``(τ_K(α), α)`` of the quenched Ising theory
    (None when ``line`` is False: a single temperature)."""
    from . import _rsb

    a0 = float(_th.critical_load(model="ising", theory="quenched").alpha_c)
    hi = max(float(a.max()), a0 + 0.1)
    # α samples of the line: where τ_K rises from 0 (at α_c(0)) to the spinodal
    al = a0 + (hi - a0) * np.linspace(0.0, 1.0, 11)[1:] ** 1.5
    al = al[al <= min(hi, 2.6)] if line else al[:0]
    ua = np.unique(np.concatenate([a, al]))
    m = np.full(A.shape, np.nan)
    hot = T > 0
    # one descent per load serves both the grid and the line (cached on the set of loads)
    if np.any(hot):
        m[hot] = _rsb._frozen_rsb_from(ua, A[hot], T[hot]).m
    if not line:
        return m, None
    tk = _rsb.freezing_temperature(ua)
    crisis = np.isin(ua, al) & np.isfinite(tk) & (tk > 0)
    tl = np.concatenate([[0.0], tk[crisis]])
    aline = np.concatenate([[a0], ua[crisis]])
    # the end of the line, where it meets the spinodal: two rounds of four loads between the
    # last one with an entropy crisis and the next sampled one without (one descent each round)
    after = al[al > aline[-1]]
    if after.size and aline.size > 1:
        lo, hi, t_lo = float(aline[-1]), float(after[0]), float(tl[-1])
        for _ in range(2):
            mids = np.linspace(lo, hi, 6)[1:-1]
            t_mid = _rsb.freezing_temperature(mids)
            ok = np.isfinite(t_mid) & (t_mid > 0)
            j = int(np.nonzero(ok)[0][-1]) if ok.any() else -1
            if j >= 0:
                lo, t_lo = float(mids[j]), float(t_mid[j])
            hi = float(mids[j + 1]) if j + 1 < mids.size else hi
        tl, aline = np.append(tl, t_lo), np.append(aline, lo)
    return m, (tl, aline)


def _relevant_replicon(b: _th.Branches) -> np.ndarray | None:
    """The replicon factor of the equilibrium interior state, else of the metastable ones."""
    if b.replicon is None:
        return None
    gi = b.global_index[..., None]
    eq = np.take_along_axis(b.replicon, gi, -1)[..., 0]
    interior = b.valid & b.stable & (b.epsilon > 0)
    meta = np.where(interior, b.replicon, -np.inf).max(-1)
    with np.errstate(invalid="ignore"):
        out = np.where(np.isfinite(eq), eq, meta)
    return np.where(np.isfinite(out), out, np.nan)


# ----------------------------------------------------------------------------- Monte Carlo grid


def row_trial(
    key,
    *,
    tau,
    alphas: tuple,
    n: int,
    p_max: int,
    model: str,
    sweeps: int,
    burn_in: int,
) -> dict:
    """One replica of a row of the diagram (fixed τ, every α vmapped): an htrmt.sweep trial."""
    dtype = tau.dtype if hasattr(tau, "dtype") else jnp.result_type(float)
    a = jnp.asarray(alphas, dtype)
    keys = jax.random.split(key, len(alphas))
    one = functools.partial(
        _sim._chain, n=n, p_max=p_max, model=model, sweeps=sweeps, burn_in=burn_in, dtype=dtype
    )
    return jax.vmap(one, in_axes=(0, 0, None))(keys, a, tau)


def simulate_diagram(
    key: Any,
    alpha: Any,
    tau: Any,
    *,
    n: int,
    model: str = "ising",
    replicas: int = 8,
    sweeps: int = 1000,
    burn_in: int | None = None,
    out: Any = None,
    devices: Any = None,
    progress: bool = False,
) -> _sim.MonteCarloResult:
    """Monte Carlo Gibbs learning on an (α, τ) grid, resumable through :func:`htrmt.sweep.run`.

    Each τ is one sweep point (resumable unit); its replicas are the sweep's trials (vmapped and
    sharded over ``devices``) and its loads are vmapped inside the trial. Without ``out`` the whole
    grid runs as one vmapped program (:func:`vsdl.simulation.gibbs_learning`).

    Args:
        key: a ``jax.random`` key.
        alpha, tau: 1-D grids.
        n: number of weights (>= 8).
        model: ``'ising'`` or ``'spherical'``.
        replicas: chains per point (>= 2).
        sweeps: sweeps per chain, burn-in included; burn_in: default ``sweeps // 2``.
        out: output folder of the resumable sweep (None: run in memory).
        devices: devices to shard replicas over (see :func:`htrmt.sweep.run`).
        progress: show a progress bar.

    Returns:
        A :class:`vsdl.simulation.MonteCarloResult` of shape ``(nt, na)``.

    Raises:
        ValueError: bad grids or sizes (see :func:`vsdl.simulation.gibbs_learning`).
    """
    key = check_key(key)
    n, sweeps, burn_in = _sim._check_common(model, n, sweeps, burn_in)
    replicas = check_int(replicas, "replicas", ge=2)
    a = np.asarray(alpha, np.float64)
    t = np.asarray(tau, np.float64)
    if a.ndim != 1 or t.ndim != 1 or a.size == 0 or t.size == 0:
        raise ValueError(f"alpha and tau must be non-empty 1-D grids, got {a.shape}, {t.shape}")
    if np.any(a <= 0) or not np.all(np.isfinite(a)):
        raise ValueError(f"alpha (the load P/N) must be finite and > 0, got alpha={alpha!r}")
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError(f"tau (the temperature) must be finite and >= 0, got tau={tau!r}")
    A, T = np.meshgrid(a, t)
    if out is None:
        return _sim.gibbs_learning(
            key, A, T, n=n, model=model, replicas=replicas, sweeps=sweeps, burn_in=burn_in
        )
    import htrmt.sweep as sweep

    p_max = max(int(np.max(np.round(a * n))), 1)
    grid: dict[str, list[Any]] = {
        "tau": [float(x) for x in t],
        "alphas": [tuple(float(x) for x in a)],
        "n": [n],
        "p_max": [p_max],
        "model": [model],
        "sweeps": [sweeps],
        "burn_in": [burn_in],
    }
    res = sweep.run(
        key,
        row_trial,
        grid,
        trials=replicas,
        out=out,
        static=("alphas", "n", "p_max", "model", "sweeps", "burn_in"),
        devices=devices,
        progress=progress,
        name="vsdl.row_trial",
        meta={"what": "vsdl Monte Carlo phase diagram"},
    )
    if not res.complete:  # pragma: no cover - run() completes every point or raises
        raise RuntimeError(f"sweep in {out!r} is incomplete: {len(res.missing)} points missing")
    # stack: (nt, replicas, na, sweeps) → (nt, na, replicas, sweeps)
    traces = {k: np.swapaxes(res.stack(k), 1, 2) for k in ("R", "train_error", "acceptance")}
    return _sim.summarize(traces, alpha=A, tau=T, burn_in=burn_in, n=n, model=model)
