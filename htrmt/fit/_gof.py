"""Semi-parametric bootstrap goodness of fit of a power-law tail (CSN 2009 Sec. 4.1)."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .._checks import check_bool, check_int, check_key, is_concrete, renamed_keyword
from .._status import raise_if_failed
from ._powerlaw import (
    OK,
    PowerLawFit,
    _check_options,
    _eager_data_checks,
    _fit_impl,
    _option,
    _traced_options,
    _validate_x,
    _with_options,
)

__all__ = ["GoodnessOfFit", "powerlaw_gof"]


class GoodnessOfFit(eqx.Module):
    """Result of :func:`powerlaw_gof`.

    Attributes:
        p_value: fraction of bootstrap replicates whose KS distance (after re-fitting xmin and
            α) is at least the observed ``D``; small (CSN: <= 0.1) rules the power law out.
        D: the observed KS distance (``fit.D``).
        D_boot: the replicates' KS distances (``num_bootstrap,``; NaN for a failed replicate).
        alpha_boot: the replicates' exponents (a bootstrap spread of α̂ that includes the xmin
            search; its standard deviation is an honest error bar for ``fit.alpha``).
        xmin_boot: the replicates' xmin.
        num_failed: replicates whose fit failed (left out of ``p_value``).
        fit: the fit to the data.
    """

    p_value: Float[Array, ""]
    D: Float[Array, ""]
    D_boot: Float[Array, " b"]
    alpha_boot: Float[Array, " b"]
    xmin_boot: Float[Array, " b"]
    num_failed: Int[Array, ""]
    fit: PowerLawFit

    @property
    def status(self) -> Int[Array, ""]:
        """The status of the fit to the data (``htrmt.Status`` code)."""
        return self.fit.status

    @property
    def ok(self) -> Bool[Array, ""]:
        return self.fit.ok

    @property
    def message(self) -> str:
        return self.fit.message


def _replicate(key, xs_sorted, k_body, alpha, xmin, n_tail, two_sided, min_tail, alpha_max):
    """One synthetic data set of the CSN semi-parametric bootstrap, re-fit from scratch."""
    dt = xs_sorted.dtype
    n = xs_sorted.shape[0]
    kb, kt, ki = jax.random.split(key, 3)
    # each point comes from the fitted tail with probability n_tail / n_pos, else from the body
    n_pos = n_tail + k_body
    from_tail = jax.random.uniform(kb, (n,), dt) < (n_tail / n_pos).astype(dt)
    u = jax.random.uniform(kt, (n,), dt)
    tail = xmin * jnp.exp(-jnp.log1p(-u) / (alpha - 1))
    # the body: a uniform draw among the observed values below xmin (the positive ones)
    start = xs_sorted.shape[0] - n_pos
    j = start + jnp.floor(jax.random.uniform(ki, (n,), dt) * k_body.astype(dt)).astype(jnp.int32)
    body = xs_sorted[jnp.clip(j, 0, n - 1)]
    y = jnp.where(from_tail | (k_body == 0), tail, body)
    y = jnp.where(
        jnp.arange(n, dtype=jnp.int32) < start, jnp.zeros((), dt), y
    )  # same count of positive values
    f = _fit_impl(y, None, None, two_sided, min_tail, None, alpha_max)
    return f.D, f.alpha, f.xmin, f.status


@functools.partial(jax.jit, static_argnames=("two_sided", "num_bootstrap", "batch_size"))
def _gof_jit(key, x, alpha_max, two_sided, min_tail, *, num_bootstrap, batch_size):
    fit = _fit_impl(x, None, None, two_sided, min_tail, None, alpha_max)
    xs = jnp.sort(x)
    # only positive values take part (non-positive ones are dropped by the fit as well): the
    # synthetic sets have n_pos = fit.num_data points, padded with zeros that the fit ignores.
    xs_pos = jnp.where(xs > 0, xs, jnp.zeros((), x.dtype))
    k_body = jnp.sum((xs > 0) & (xs < fit.xmin)).astype(jnp.int32)
    keys = jax.random.split(key, num_bootstrap)

    def one(k):
        D, a, xm, st = _replicate(
            k,
            xs_pos,
            k_body,
            fit.alpha,
            fit.xmin,
            fit.num_tail,
            two_sided,
            min_tail,
            alpha_max,
        )
        return D, a, xm, st

    D_b, a_b, xm_b, st_b = jax.lax.map(one, keys, batch_size=batch_size)
    good = st_b == OK
    num_ok = jnp.sum(good)
    p = jnp.sum(good & (D_b >= fit.D)) / jnp.maximum(num_ok, 1)
    nan = jnp.asarray(jnp.nan, x.dtype)
    return GoodnessOfFit(
        p_value=jnp.where(fit.status == OK, p.astype(x.dtype), nan),
        D=fit.D,
        D_boot=jnp.where(good, D_b, nan),
        alpha_boot=jnp.where(good, a_b, nan),
        xmin_boot=jnp.where(good, xm_b, nan),
        num_failed=(num_bootstrap - num_ok).astype(jnp.int32),
        fit=fit,
    )


@renamed_keyword(x="evals")
def powerlaw_gof(
    key: Any,
    evals: ArrayLike,
    *,
    num_bootstrap: int = 100,
    ks: str = "two_sided",
    min_tail: int = 3,
    alpha_max: float | None = None,
    batch_size: int | None = None,
    throw: bool = True,
) -> GoodnessOfFit:
    r"""Goodness-of-fit p-value of a power-law tail by the CSN semi-parametric bootstrap.

    Fit ``(xmin, α)`` to ``x`` (:func:`htrmt.fit.powerlaw`, xmin by minimum KS distance). Each
    replicate draws as many points as ``x`` has positive values: with probability
    ``n_tail / n`` from the fitted power law above ``xmin``, otherwise uniformly among the
    observed values below ``xmin``; it is then fit **from scratch** (xmin searched again) and
    its KS distance recorded. ``p`` is the fraction of replicates with ``D_b >= D``. CSN rule
    the power law out when ``p <= 0.1``; ``num_bootstrap = 2500`` gives p to ±0.01. Replicates
    run vmapped in batches of ``batch_size`` under one ``jit``.

    Args:
        key: a ``jax.random`` key (replicates are a deterministic function of it).
        evals: 1-D data (values <= 0 ignored, as in :func:`htrmt.fit.powerlaw`).
        num_bootstrap: number of replicates (static).
        ks, min_tail, alpha_max: as in :func:`htrmt.fit.powerlaw` (used for data and replicates).
        batch_size: replicates vmapped together (``None``: a size keeping memory modest).
        throw: raise when the fit to the data fails (eagerly a ``ValueError``; under ``jit`` an
            ``equinox.error_if``). ``throw=False`` returns the result with ``fit.status != 0``
            and a NaN ``p_value``: check ``g.ok``.

    Returns:
        :class:`GoodnessOfFit` (``p_value``, ``D``, ``D_boot``, ``alpha_boot``, ``xmin_boot``,
        ``num_failed``, ``fit``).

    Raises:
        TypeError: ``key`` not a key. ValueError: bad data (as :func:`htrmt.fit.powerlaw`) or,
        with ``throw=True``, the fit to the data failed.

    Example:
        >>> import jax, htrmt as ht
        >>> u = jax.random.uniform(jax.random.key(0), (300,))
        >>> g = ht.fit.powerlaw_gof(jax.random.key(1), (1 - u) ** (-1 / 1.5), num_bootstrap=20)
        >>> bool(g.p_value > 0.1)
        True

    References:
        Clauset, Shalizi & Newman (2009), SIAM Review 51, Sec. 4.1 (the semi-parametric
        bootstrap, and p <= 0.1 as the rejection rule).
    """
    key = check_key(key)
    throw = check_bool(throw, "throw")
    x = _validate_x(evals)
    min_tail = _check_options(ks, min_tail, None, None, None, alpha_max)
    num_bootstrap = check_int(num_bootstrap, "num_bootstrap", ge=1)
    if batch_size is None:
        batch_size = int(max(1, min(num_bootstrap, 8)))
    batch_size = check_int(batch_size, "batch_size", ge=1)
    if is_concrete(x):
        _eager_data_checks(x, min_tail)
    dt = x.dtype
    g = _gof_jit(
        key,
        x,
        _option(alpha_max, dt, absent=np.inf),
        *_traced_options(ks, min_tail),
        num_bootstrap=num_bootstrap,
        batch_size=batch_size,
    )
    g = dataclasses.replace(g, fit=_with_options(g.fit, ks, min_tail))
    return raise_if_failed(g, "power-law fit of evals", guard="p_value") if throw else g
