"""Likelihood-ratio comparison of two tail laws (Vuong 1989; CSN 2009 Sec. 5; Alstott 2014)."""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfc
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .._checks import as_float_array, check_bool, check_choice, is_concrete, renamed_keyword
from .._status import Status, first_failure, raise_if_failed
from ._tails import DISTRIBUTIONS, TailFit, fit_tail

__all__ = ["LikelihoodRatio", "loglikelihood_ratio", "compare", "NESTED_PAIRS"]

# (smaller, larger): the smaller law is the larger one with a parameter fixed.
#   power_law = truncated_power_law at λ = 0, a boundary of λ >= 0;
#   exponential = stretched_exponential at β = 1, an interior point.
NESTED_PAIRS = {
    ("power_law", "truncated_power_law"): True,  # on the boundary
    ("exponential", "stretched_exponential"): False,
}

NESTED_NULLS = ("mixture", "chi2")


class LikelihoodRatio(eqx.Module):
    """Result of a likelihood-ratio comparison of law 1 against law 2 on the same tail.

    Attributes:
        R: ``Σ ln p1(x_i) - Σ ln p2(x_i)`` over the tail; > 0 favours law 1.
        p: p-value of the sign of R (non-nested: Vuong's two-sided normal test; nested: that
            the larger law's gain is not chance, see :func:`loglikelihood_ratio`).
        normalized_R: ``R / sqrt(n σ²)`` with σ² the variance of the pointwise differences (the
            Vuong statistic; standard normal under equal fit).
        num_tail: number of tail points.
        status: the first failure of the two tail fits (``htrmt.Status`` code; 0 when both
            converged); ``.ok`` and ``.message`` read it.
        nested: whether the laws are nested (static).
        dist1, dist2: the laws' names (static).
    """

    R: Float[Array, ""]
    p: Float[Array, ""]
    normalized_R: Float[Array, ""]
    num_tail: Int[Array, ""]
    status: Int[Array, ""]
    nested: bool = eqx.field(static=True)
    dist1: str = eqx.field(static=True)
    dist2: str = eqx.field(static=True)

    @property
    def ok(self) -> Bool[Array, ""]:
        return self.status == Status.OK

    @property
    def message(self) -> str:
        return first_failure(self.status).message

    @property
    def preferred(self) -> str:
        """``dist1``/``dist2`` when ``p < 0.1`` favours it, else ``"inconclusive"`` (concrete;
        also ``"inconclusive"`` when R or p is NaN)."""
        if not (float(self.p) < 0.1 and np.isfinite(float(self.R))):
            return "inconclusive"
        return self.dist1 if float(self.R) > 0 else self.dist2


def _chi2_1_sf(t: Array) -> Array:
    """Survival function of χ² with 1 degree of freedom: ``erfc(sqrt(t/2))``."""
    return erfc(jnp.sqrt(jnp.maximum(t, 0) / 2))


def loglikelihood_ratio(
    x: ArrayLike,
    fit1: TailFit,
    fit2: TailFit,
    *,
    nested: bool | None = None,
    nested_null: str = "mixture",
) -> LikelihoodRatio:
    r"""Compare two fitted tail laws on the same tail ``x >= xmin`` by their log-likelihoods.

    ``R = Σ_i [ln p1(x_i) - ln p2(x_i)]`` over the tail points.

    * Non-nested laws (e.g. power law vs lognormal): Vuong's test. Under the null that both
      laws are equally far from the truth, ``R / sqrt(n σ²)`` is asymptotically standard normal
      (σ² the variance of the pointwise differences), and ``p = erfc(|R| / sqrt(2 n σ²))`` is the
      two-sided p-value of the sign of R (CSN 2009 Eq. 5.6–5.8; as the ``powerlaw`` package).
    * Nested laws (``NESTED_PAIRS``: power law ⊂ truncated power law at λ = 0, exponential ⊂
      stretched exponential at β = 1): Wilks' test of the larger law against the smaller one,
      ``2|R| ~ χ²₁``, ``p = P(χ²₁ > 2|R|)``. The power law sits on the boundary λ = 0 of the
      truncated law's range λ >= 0, where the null law of ``2R`` is the mixture
      ``½χ²₀ + ½χ²₁`` (Self & Liang 1987), so ``p = ½ P(χ²₁ > 2R)``: ``nested_null="mixture"``
      (default). ``nested_null="chi2"`` gives the plain ``χ²₁`` p-value of the ``powerlaw``
      package (conservative: twice as large). If the larger law fits *worse* (R in favour of the
      smaller law, only possible when its optimiser stopped early), ``p = 1``.

    Args:
        x: the data (the same array the fits were made on; points below ``xmin`` are ignored).
        fit1, fit2: :class:`TailFit` results with the same ``xmin``.
        nested: override the automatic nesting (from ``NESTED_PAIRS``).
        nested_null: ``"mixture"`` or ``"chi2"`` (nested boundary case only).

    Returns:
        :class:`LikelihoodRatio`.

    Raises:
        ValueError: different ``xmin`` in the two fits (when concrete); bad options; a fit whose
            log-density is not finite on the tail (e.g. infinite parameters of a fit that did
            not converge), when concrete (under ``jit``: ``R`` and ``p`` are NaN).

    Example:
        >>> import jax, htrmt as ht
        >>> u = jax.random.uniform(jax.random.key(0), (2000,))
        >>> x = (1 - u) ** (-1 / 1.5)
        >>> pl = ht.fit.fit_tail(x, "power_law", xmin=1.0)
        >>> ex = ht.fit.fit_tail(x, "exponential", xmin=1.0)
        >>> lr = ht.fit.loglikelihood_ratio(x, pl, ex)
        >>> bool(lr.R > 0) and bool(lr.p < 0.01)
        True

    References:
        Q. H. Vuong, Econometrica 57, 307–333 (1989). Clauset, Shalizi & Newman (2009), SIAM
        Review 51, Sec. 5 and App. C. S. G. Self, K.-Y. Liang, JASA 82, 605–610 (1987).
    """
    check_choice(nested_null, "nested_null", NESTED_NULLS)
    x = as_float_array(x, "x", allow_int=True)
    if not isinstance(fit1, TailFit) or not isinstance(fit2, TailFit):
        raise TypeError("fit1 and fit2 must be TailFit results of htrmt.fit.fit_tail")
    if is_concrete(fit1.xmin) and is_concrete(fit2.xmin):
        if not np.allclose(np.asarray(fit1.xmin), np.asarray(fit2.xmin), rtol=1e-12, atol=0):
            raise ValueError(
                f"the fits have different xmin ({float(fit1.xmin)!r} vs {float(fit2.xmin)!r}); "
                "compare laws on the same tail"
            )
    pair = (fit1.distribution, fit2.distribution)
    key = pair if pair in NESTED_PAIRS else pair[::-1]
    is_nested = key in NESTED_PAIRS if nested is None else bool(nested)
    boundary = NESTED_PAIRS.get(key, False)
    small_is_1 = key == pair  # fit1 is the smaller law
    lr = _lr(x, fit1, fit2, is_nested, boundary and nested_null == "mixture", small_is_1)
    if is_concrete(lr.R) and not np.isfinite(float(lr.R)):
        bad = [f for f in (fit1, fit2) if not np.all(np.isfinite(np.asarray(f.params)))]
        bad = bad or [f for f in (fit1, fit2) if not bool(np.all(np.asarray(f.ok)))]
        who = ", ".join(f"{f.distribution} ({f.message})" for f in bad) or "a fit"
        raise ValueError(
            f"the log-likelihood ratio is not finite: the {who} fit cannot be evaluated on the "
            "tail; check fit.ok"
        )
    return lr


def _lr(x, fit1, fit2, is_nested, mixture, small_is_1):
    dt = x.dtype
    xmin = fit1.xmin
    mask = x >= xmin
    xs = jnp.where(mask, x, xmin)
    zero = jnp.zeros((), dt)
    l1 = jnp.where(mask, fit1.logpdf(xs), zero)
    l2 = jnp.where(mask, fit2.logpdf(xs), zero)
    d = l1 - l2
    n = jnp.sum(mask)
    nf = jnp.maximum(n, 1).astype(dt)
    R = jnp.sum(d)
    mean = R / nf
    var = jnp.sum(jnp.where(mask, (d - mean) ** 2, zero)) / nf
    sd = jnp.sqrt(nf * var)
    normR = jnp.where(sd > 0, R / jnp.where(sd > 0, sd, 1), zero)
    if is_nested:
        gain = -R if small_is_1 else R  # log-likelihood gain of the larger law
        p = _chi2_1_sf(2 * jnp.abs(R))
        if mixture:
            p = 0.5 * p
        p = jnp.where(gain > 0, p, jnp.ones((), dt))
    else:
        p = jnp.where(sd > 0, erfc(jnp.abs(R) / (math.sqrt(2) * jnp.where(sd > 0, sd, 1))), 1)
    return LikelihoodRatio(
        R=R,
        p=p.astype(dt),
        normalized_R=normR,
        num_tail=n.astype(jnp.int32),
        status=jnp.where(fit1.status != Status.OK, fit1.status, fit2.status).astype(jnp.int32),
        nested=is_nested,
        dist1=fit1.distribution,
        dist2=fit2.distribution,
    )


@renamed_keyword(x="evals")
def compare(
    evals: ArrayLike,
    dist1: str,
    dist2: str,
    *,
    xmin: ArrayLike | None = None,
    nested: bool | None = None,
    nested_null: str = "mixture",
    throw: bool = False,
    **powerlaw_kwargs: Any,
) -> LikelihoodRatio:
    """Fit two tail laws on the tail ``x >= xmin`` and compare them (:func:`loglikelihood_ratio`).

    Args:
        evals: 1-D data (e.g. an ESD).
        dist1, dist2: names from ``DISTRIBUTIONS``.
        xmin: the tail's lower end; ``None``: the power-law fit's ``xmin``
            (``htrmt.fit.powerlaw(x, **powerlaw_kwargs)``).
        nested, nested_null: as in :func:`loglikelihood_ratio`.
        throw: raise when either tail fit failed (eagerly a ``ValueError``; under ``jit`` an
            ``equinox.error_if``). Default ``False``: check ``lr.ok``.
        **powerlaw_kwargs: passed to :func:`htrmt.fit.powerlaw` when ``xmin`` is None.

    Returns:
        :class:`LikelihoodRatio`; ``R > 0`` favours ``dist1``.

    Example:
        >>> import jax, htrmt as ht
        >>> x = jax.random.lognormal(jax.random.key(0), 1.0, (2000,))
        >>> lr = ht.fit.compare(x, "power_law", "lognormal")
        >>> lr.dist2
        'lognormal'
    """
    x = evals
    throw = check_bool(throw, "throw")
    check_choice(dist1, "dist1", DISTRIBUTIONS)
    check_choice(dist2, "dist2", DISTRIBUTIONS)
    if xmin is None:
        from ._powerlaw import powerlaw

        xmin = powerlaw(x, **powerlaw_kwargs).xmin
    f1 = fit_tail(x, dist1, xmin=xmin)
    f2 = fit_tail(x, dist2, xmin=xmin)
    if throw:
        for f in (f1, f2):
            raise_if_failed(f, f"{f.distribution} tail fit", guard="params")
    lr = loglikelihood_ratio(x, f1, f2, nested=nested, nested_null=nested_null)
    return raise_if_failed(lr, "likelihood-ratio comparison", guard="R") if throw else lr
