"""Histograms (linear and logarithmic bins), empirical CDFs and KS distances."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import as_float_array, check_choice, check_finite, check_int, require_host

__all__ = ["Histogram", "histogram", "ecdf", "ks_statistic", "ks_distance"]


class Histogram(eqx.Module):
    """A histogram of eigenvalues.

    Attributes:
        edges: bin edges, shape ``(bins + 1,)``.
        counts: counts per bin.
        density: counts normalised so that ``Σ density·width = fraction of eigenvalues binned``
            (over all eigenvalues, including those outside the range or dropped).
        centers: bin centres (geometric centres for log bins).
        scale: ``"linear"`` or ``"log"``.
        num_dropped: eigenvalues outside the range (for log bins: also those <= 0).
    """

    edges: np.ndarray
    counts: np.ndarray
    density: np.ndarray
    centers: np.ndarray
    scale: str = eqx.field(static=True)
    num_dropped: int


def histogram(
    evals: Any,
    *,
    bins: int = 100,
    scale: str = "linear",
    range: tuple[float, float] | None = None,
) -> Histogram:
    """Histogram of a spectrum with linear or logarithmic bins.

    Runs on the host (NumPy); under ``jit``/``vmap`` it raises a ``TypeError``.

    With ``scale="log"`` the bins are equal in ``log λ`` between the smallest positive and the
    largest eigenvalue, which is how a power-law tail is drawn on log–log axes; the density is
    still per unit λ (so a tail ``ρ ~ λ^-α`` is a straight line of slope ``-α``).

    Args:
        evals: 1-D eigenvalues.
        bins: number of bins (>= 1).
        scale: ``"linear"`` or ``"log"``.
        range: ``(lo, hi)``; default the data's span.

    Returns:
        A :class:`Histogram`.
    """
    check_choice(scale, "scale", ("linear", "log"))
    check_int(bins, "bins", ge=1)
    require_host("htrmt.spectra.histogram", evals, hint="jnp.histogram with fixed bins")
    x = np.asarray(check_finite(as_float_array(evals, "evals"), "evals"), dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"evals must be a non-empty 1-D array, got shape {x.shape}")
    n = x.size
    if scale == "log":
        pos = x[x > 0]
        if pos.size == 0:
            raise ValueError("evals has no positive values; log bins need some")
        lo, hi = (pos.min(), pos.max()) if range is None else range
        if lo <= 0 or hi <= lo:
            raise ValueError(f"range must satisfy 0 < lo < hi for log bins, got {(lo, hi)}")
        if hi == lo:
            hi = lo * (1 + 1e-9)
        edges = np.geomspace(lo, hi, bins + 1)
        centers = np.sqrt(edges[:-1] * edges[1:])
    else:
        lo, hi = (x.min(), x.max()) if range is None else range
        if hi < lo:
            raise ValueError(f"range must satisfy lo <= hi, got {(lo, hi)}")
        if hi == lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, bins + 1)
        centers = 0.5 * (edges[:-1] + edges[1:])
    counts, _ = np.histogram(x, bins=edges)
    density = counts / (n * np.diff(edges))
    return Histogram(edges, counts, density, centers, scale, int(n - counts.sum()))


def ecdf(evals: Any) -> tuple[Float[Array, " m"], Float[Array, " m"]]:
    """Empirical CDF: sorted values ``x_(i)`` and ``F(x_(i)) = i/n`` for ``i = 1..n``.

    Works on leading batch axes (sorts along the last axis).
    """
    x = check_finite(as_float_array(evals, "evals"), "evals")
    if x.ndim < 1 or x.shape[-1] == 0:
        raise ValueError(f"evals must be a non-empty array, got shape {x.shape}")
    xs = jnp.sort(x, axis=-1)
    n = xs.shape[-1]
    f = jnp.arange(1, n + 1, dtype=xs.dtype) / jnp.asarray(n, xs.dtype)
    return xs, jnp.broadcast_to(f, xs.shape)


def ks_statistic(sorted_samples: Array, cdf_values: Array) -> Array:
    """Two-sided KS statistic from sorted samples and the model CDF evaluated at them.

    ``D = max_i max( i/n − F(x_(i)), F(x_(i)) − (i−1)/n )``. Batched over leading axes.
    """
    n = sorted_samples.shape[-1]
    dt = cdf_values.dtype
    i = jnp.arange(1, n + 1, dtype=dt)
    nn = jnp.asarray(n, dt)
    d_plus = jnp.max(i / nn - cdf_values, axis=-1)
    d_minus = jnp.max(cdf_values - (i - 1) / nn, axis=-1)
    return jnp.maximum(d_plus, d_minus)


def ks_distance(evals: Any, cdf: Callable[[Array], Array]) -> Array:
    """Kolmogorov–Smirnov distance between a spectrum and a model CDF (a callable).

    Example:
        >>> import jax, htrmt as ht
        >>> lam = ht.esd(ht.ensembles.gaussian(jax.random.key(0), (400, 200)))
        >>> d = ht.spectra.ks_distance(lam, lambda x: ht.laws.marchenko_pastur.cdf(x, 2.0))
    """
    xs, _ = ecdf(evals)
    return ks_statistic(xs, jnp.asarray(cdf(xs), xs.dtype))
