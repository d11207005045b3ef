"""Maximum-likelihood fits of alternative tail laws on the same tail ``x >= xmin``.

Every law is a density on ``[xmin, ∞)`` normalised there (CSN 2009, Table 2.1; Alstott et al.
2014), written in the scaled variable ``u = x / xmin`` for numerical range:

========================  ====================================  =================================
distribution              density on ``x >= xmin``               parameters (reported)
========================  ====================================  =================================
``power_law``             ``(α-1)/xmin · u^-α``                  ``alpha`` (closed form)
``truncated_power_law``   ``u^-α e^{-λ(x - xmin)} / (xmin Z)``   ``alpha``, ``lambda``
``exponential``           ``λ e^{-λ(x - xmin)}``                 ``lambda`` (closed form)
``lognormal``             ``N(ln x; µ, s²) / (x · P(N > ln xmin))``  ``mu``, ``sigma``
``stretched_exponential`` ``β λ^β x^{β-1} e^{-(λx)^β + (λ xmin)^β}``  ``lambda``, ``beta``
========================  ====================================  =================================

``Z(α, κ) = ∫_1^∞ u^-α e^{-κ(u-1)} du`` (κ = λ·xmin) is computed by Gauss–Legendre quadrature in
``s = ln u``. The two-parameter laws are fit by a damped Newton method (autodiff Hessian, a
parallel backtracking line search, a fixed number of steps), so fits are ``jit``/``vmap``-able.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .._checks import (
    as_float_array,
    check_bool,
    check_choice,
    check_scalar,
    is_concrete,
    renamed_keyword,
)
from .._status import Status, raise_if_failed

__all__ = ["TailFit", "fit_tail", "DISTRIBUTIONS", "tail_logpdf"]

DISTRIBUTIONS = (
    "power_law",
    "truncated_power_law",
    "exponential",
    "lognormal",
    "stretched_exponential",
)

PARAM_NAMES = {
    "power_law": ("alpha",),
    "truncated_power_law": ("alpha", "lambda"),
    "exponential": ("lambda",),
    "lognormal": ("mu", "sigma"),
    "stretched_exponential": ("lambda", "beta"),
}

OK = int(Status.OK)
TOO_FEW_TAIL = int(Status.TOO_FEW_TAIL)
NOT_CONVERGED = int(Status.NOT_CONVERGED)

_MESSAGES = {
    OK: "ok",
    TOO_FEW_TAIL: "too few tail points (a tail fit needs at least 2 distinct values >= xmin)",
    NOT_CONVERGED: "the likelihood maximisation did not converge",
}


class TailFit(eqx.Module):
    """An MLE fit of one law to the tail ``x >= xmin`` (see :func:`fit_tail`).

    Attributes:
        distribution: the law's name (static).
        params: fitted parameters in the order of ``param_names``.
        param_names: names of the parameters (static).
        xmin: the lower end of the tail.
        loglik: the tail log-likelihood at the fit.
        num_tail: number of tail points.
        status: 0 when the fit succeeded (``ok``).
    """

    distribution: str = eqx.field(static=True)
    params: Float[Array, " p"]
    param_names: tuple[str, ...] = eqx.field(static=True)
    xmin: Float[Array, ""]
    loglik: Float[Array, ""]
    num_tail: Int[Array, ""]
    status: Int[Array, ""]

    @property
    def ok(self) -> Bool[Array, ""]:
        return self.status == OK

    @property
    def message(self) -> str:
        st = np.asarray(self.status).ravel()
        bad = st[st != OK]
        return _MESSAGES.get(int(bad[0]) if bad.size else OK, "unknown status")

    def __getitem__(self, name: str) -> Array:
        """A parameter by name, e.g. ``fit["alpha"]``."""
        return self.params[..., self.param_names.index(name)]

    def logpdf(self, x: ArrayLike) -> Array:
        """Log-density of the fitted law at ``x`` (``-inf`` below ``xmin``)."""
        x = as_float_array(x, "x", allow_int=True)
        return tail_logpdf(self.distribution, self.params, self.xmin, x)


# ------------------------------------------------------------------------------------------------
# log-densities in unconstrained parameters θ (for the optimiser) and in reported parameters.
# ------------------------------------------------------------------------------------------------

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)
_NPANEL = 96


def _log_tpl_normaliser(alpha: Array, kappa: Array) -> Array:
    """ln Z, ``Z(α, κ) = ∫_0^∞ exp(-(α-1)s - κ(e^s - 1)) ds`` (u = e^s), κ > 0.

    The integrand is log-concave in s; the range ``[0, S]`` covers all but ``e^-60`` of it.
    """
    dt = alpha.dtype
    a1 = alpha - 1
    # beyond S1 the cut-off term alone is below e^-60 (plus room for a rising (1-α)s)
    rise = jnp.where(a1 < 0, -a1 * (jnp.log1p(1 / kappa) + 20), 0)
    S1 = jnp.log1p((60 + 2 * rise) / kappa) + 1
    S2 = jnp.where(a1 > 0, 60 / jnp.maximum(a1, 1e-30), jnp.inf)
    S = jnp.minimum(S1, S2)
    edges = jnp.linspace(0.0, 1.0, _NPANEL + 1, dtype=dt) ** 2  # finer near s = 0
    a = edges[:-1] * S
    b = edges[1:] * S
    nodes = jnp.asarray(_GL_NODES, dt)
    w = jnp.asarray(_GL_WEIGHTS, dt)
    s = 0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * nodes[None, :]
    logf = -a1 * s - kappa * jnp.expm1(s)
    logw = jnp.log(0.5 * (b - a))[:, None] + jnp.log(w)[None, :]
    return jax.scipy.special.logsumexp(logf + logw)


def _logpdf_theta(dist: str, theta: Array, x: Array, xmin: Array) -> Array:
    """Per-point log-density on x >= xmin, unconstrained parameters θ."""
    lu = jnp.log(x) - jnp.log(xmin)
    lxmin = jnp.log(xmin)
    if dist == "truncated_power_law":
        alpha, kappa = theta[0], jnp.exp(theta[1])
        u1 = jnp.expm1(lu)
        return -alpha * lu - kappa * u1 - _log_tpl_normaliser(alpha, kappa) - lxmin
    if dist == "lognormal":
        mu, sig = theta[0], jnp.exp(theta[1])
        lx = jnp.log(x)
        z = (lx - mu) / sig
        z0 = (lxmin - mu) / sig
        return -lx - jnp.log(sig) - 0.5 * math.log(2 * math.pi) - 0.5 * z**2 - log_ndtr(-z0)
    if dist == "stretched_exponential":
        c, beta = jnp.exp(theta[0]), jnp.exp(theta[1])
        return jnp.log(beta) + jnp.log(c) - lxmin + (beta - 1) * lu - c * jnp.expm1(beta * lu)
    raise ValueError(dist)


def _theta_to_params(dist: str, theta: Array, xmin: Array) -> Array:
    if dist == "truncated_power_law":
        return jnp.stack([theta[0], jnp.exp(theta[1]) / xmin])
    if dist == "lognormal":
        return jnp.stack([theta[0], jnp.exp(theta[1])])
    if dist == "stretched_exponential":
        beta = jnp.exp(theta[1])
        lam = jnp.exp(theta[0] / beta) / xmin
        return jnp.stack([lam, beta])
    raise ValueError(dist)


def _params_to_theta(dist: str, params: Array, xmin: Array) -> Array:
    if dist == "truncated_power_law":
        return jnp.stack([params[0], jnp.log(params[1] * xmin)])
    if dist == "lognormal":
        return jnp.stack([params[0], jnp.log(params[1])])
    if dist == "stretched_exponential":
        lam, beta = params[0], params[1]
        return jnp.stack([beta * jnp.log(lam * xmin), jnp.log(beta)])
    raise ValueError(dist)


def tail_logpdf(dist: str, params: ArrayLike, xmin: ArrayLike, x: ArrayLike) -> Array:
    """Log-density of a tail law with reported parameters ``params`` (``-inf`` below ``xmin``).

    Args:
        dist: one of ``DISTRIBUTIONS``.
        params: parameters in the order of ``TailFit.param_names``.
        xmin: the lower end of the tail.
        x: points.

    Returns:
        Array like ``x``.
    """
    check_choice(dist, "dist", DISTRIBUTIONS)
    x = jnp.asarray(x)
    dt = x.dtype
    params = jnp.asarray(params, dt)
    xmin = jnp.asarray(xmin, dt)
    xs = jnp.where(x >= xmin, x, xmin)
    if dist == "power_law":
        a = params[0]
        lp = jnp.log(a - 1) - jnp.log(xmin) - a * (jnp.log(xs) - jnp.log(xmin))
    elif dist == "exponential":
        lam = params[0]
        lp = jnp.log(lam) - lam * (xs - xmin)
    else:
        lp = _logpdf_theta(dist, _params_to_theta(dist, params, xmin), xs, xmin)
    return jnp.where(x >= xmin, lp, -jnp.inf)


# ------------------------------------------------------------------------------------------------
# Optimiser: damped Newton with a parallel backtracking line search.
# ------------------------------------------------------------------------------------------------


def _newton(f, theta0: Array, iters: int = 60) -> tuple[Array, Array]:
    dt = theta0.dtype
    g_f = jax.grad(f)
    h_f = jax.hessian(f)
    steps = jnp.asarray(0.5 ** np.arange(12), dt)

    def body(_, th):
        g = g_f(th)
        H = h_f(th)
        p = th.shape[0]
        # Levenberg-style damping keeps the step a descent direction.
        lam = jnp.maximum(0.0, -jnp.min(jnp.linalg.eigvalsh(H))) + 1e-8 * (
            1 + jnp.abs(jnp.trace(H))
        )
        d = -jnp.linalg.solve(H + lam * jnp.eye(p, dtype=dt), g)
        d = jnp.where(jnp.all(jnp.isfinite(d)), d, -g)
        cand = th[None, :] + steps[:, None] * d[None, :]
        vals = jax.vmap(f)(cand)
        vals = jnp.where(jnp.isfinite(vals), vals, jnp.inf)
        j = jnp.argmin(vals)
        f0 = f(th)
        return jnp.where(vals[j] < f0, cand[j], th)

    th = jax.lax.fori_loop(0, iters, body, theta0)
    g = g_f(th)
    conv = jnp.all(jnp.isfinite(th)) & (jnp.max(jnp.abs(g)) < (1e-5 if dt == jnp.float64 else 1e-2))
    return th, conv


def _fit_masked(dist: str, x: Array, mask: Array, xmin: Array):
    """(params, loglik, converged) of one law on the masked tail of x."""
    dt = x.dtype
    mf = jnp.maximum(jnp.sum(mask), 1).astype(dt)
    xs = jnp.where(mask, x, xmin)
    lu = jnp.where(mask, jnp.log(xs) - jnp.log(xmin), jnp.zeros((), dt))
    zero = jnp.zeros((), dt)
    if dist == "power_law":
        a = 1 + mf / jnp.sum(lu)
        params = a[None]
        return (
            params,
            jnp.sum(jnp.where(mask, tail_logpdf(dist, params, xmin, xs), zero)),
            jnp.sum(lu) > 0,
        )
    if dist == "exponential":
        lam = mf / jnp.sum(jnp.where(mask, xs - xmin, zero))
        params = lam[None]
        ll = jnp.sum(jnp.where(mask, tail_logpdf(dist, params, xmin, xs), zero))
        return params, ll, jnp.isfinite(lam)

    def nll(th):
        lp = _logpdf_theta(dist, th, xs, xmin)
        return -jnp.sum(jnp.where(mask, lp, zero)) / mf

    mean_lu = jnp.sum(lu) / mf
    if dist == "truncated_power_law":
        a0 = 1 + 1 / jnp.maximum(mean_lu, 1e-12)
        mean_u1 = jnp.sum(jnp.where(mask, jnp.expm1(lu), zero)) / mf
        # start between a pure power law (κ → 0) and an exponential
        th0 = jnp.stack([jnp.minimum(a0, 3.0), jnp.log(0.1 / jnp.maximum(mean_u1, 1e-12))])
    elif dist == "lognormal":
        lx = jnp.where(mask, jnp.log(xs), zero)
        mu0 = jnp.sum(lx) / mf
        s0 = jnp.sqrt(jnp.sum(jnp.where(mask, (lx - mu0) ** 2, zero)) / mf)
        th0 = jnp.stack([mu0, jnp.log(jnp.maximum(s0, 1e-3))])
    else:  # stretched exponential: start at the exponential fit (β = 1)
        lam0 = mf / jnp.sum(jnp.where(mask, xs - xmin, zero))
        th0 = jnp.stack([jnp.log(lam0 * xmin), jnp.zeros((), dt)])
    th, conv = _newton(nll, th0.astype(dt))
    params = _theta_to_params(dist, th, xmin)
    ll = -nll(th) * mf
    # a finite θ can still map to an infinite parameter: the stretched exponential running to
    # its power-law limit β -> 0 has λ = κ^(1/β)/xmin -> ∞ (no interior maximum); such a fit
    # cannot be evaluated (logpdf NaN) and is not a converged fit
    conv = conv & jnp.all(jnp.isfinite(params)) & jnp.isfinite(ll)
    if dist == "truncated_power_law":
        # λ -> 0 (the power law, κ = 0 on the boundary) is at -∞ in log κ: take it when better
        a_pl = 1 + mf / jnp.sum(lu)
        ll_pl = mf * (jnp.log(a_pl - 1) - jnp.log(xmin)) - a_pl * jnp.sum(lu)
        use_pl = (ll_pl >= ll) | ~jnp.isfinite(ll)
        params = jnp.where(use_pl, jnp.stack([a_pl, jnp.zeros((), dt)]), params)
        ll = jnp.where(use_pl, ll_pl, ll)
        conv = conv | use_pl
    return params, ll, conv


@functools.partial(jax.jit, static_argnames=("dist",))
def _fit_tail_jit(x, xmin, dist):
    mask = x >= xmin
    m = jnp.sum(mask).astype(jnp.int32)
    xm = jnp.where(mask, x, jnp.inf)
    distinct = jnp.max(jnp.where(mask, x, -jnp.inf)) > jnp.min(xm)
    params, ll, conv = _fit_masked(dist, x, mask, xmin)
    status = jnp.where(~distinct | (m < 2), TOO_FEW_TAIL, jnp.where(conv, OK, NOT_CONVERGED))
    return TailFit(
        distribution=dist,
        params=params,
        param_names=PARAM_NAMES[dist],
        xmin=xmin,
        loglik=ll,
        num_tail=m,
        status=status.astype(jnp.int32),
    )


@renamed_keyword(x="evals")
def fit_tail(
    evals: ArrayLike, distribution: str, *, xmin: ArrayLike, throw: bool = False
) -> TailFit:
    r"""Maximum-likelihood fit of a tail law to ``x >= xmin``.

    Args:
        evals: 1-D real data (points below ``xmin`` are ignored).
        distribution: ``"power_law"``, ``"truncated_power_law"`` (power law with exponential
            cut-off), ``"exponential"``, ``"lognormal"`` or ``"stretched_exponential"``; all are
            normalised on ``[xmin, ∞)`` (the module docstring gives the densities).
        xmin: the lower end of the tail, usually ``powerlaw(x).xmin``.
        throw: raise when the fit fails (eagerly a ``ValueError`` with the message; under
            ``jit`` an ``equinox.error_if``). Default ``False``: check ``fit.ok``.

    Returns:
        :class:`TailFit`: ``params`` (named by ``param_names``; also ``fit["alpha"]``),
        ``loglik``, ``num_tail``, ``status`` (0: converged). Check ``fit.ok``: a lognormal fit to
        power-law data may run its ``µ`` towards ``-∞`` (the likelihood is then flat), and a
        stretched exponential its ``β`` towards 0 (its power-law limit, ``λ`` overflows to
        ``inf``); both are reported as not converged.

    Raises:
        TypeError, ValueError: bad ``evals``, NaN/Inf, unknown ``distribution``, ``xmin <= 0``;
            with ``throw=True`` also a fit that failed.

    Example:
        >>> import jax, htrmt as ht
        >>> x = 1 + jax.random.exponential(jax.random.key(0), (1000,))
        >>> fit = ht.fit.fit_tail(x, "exponential", xmin=1.0)
        >>> round(float(fit["lambda"]), 1)
        1.0

    References:
        Clauset, Shalizi & Newman (2009), SIAM Review 51, Table 2.1 and Sec. 5.
        Alstott, Bullmore & Plenz (2014), PLoS ONE 9, e85777.
    """
    check_choice(distribution, "distribution", DISTRIBUTIONS)
    throw = check_bool(throw, "throw")
    x = as_float_array(evals, "evals", allow_int=True)
    if x.ndim != 1:
        raise ValueError(f"evals must be one-dimensional, got shape {x.shape}")
    check_scalar(xmin, "xmin", gt=0.0)
    if is_concrete(x):
        arr = np.asarray(x)
        if not np.all(np.isfinite(arr)):
            raise ValueError("evals contains NaN or Inf")
    fit = _fit_tail_jit(x, jnp.asarray(xmin, x.dtype), distribution)
    return raise_if_failed(fit, f"{distribution} tail fit", guard="params") if throw else fit
