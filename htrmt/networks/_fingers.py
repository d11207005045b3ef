"""Detection of "fingers": a few top eigenvalues that stand apart from a power-law tail.

The test uses the Rényi representation of a Pareto sample. For the ``n`` tail eigenvalues
``x_(1) >= ... >= x_(n) >= xmin`` of a pure power law ``ρ(λ) ∝ λ^(-α)``, with ``x_(n+1) = xmin``,
the normalised log-spacings

    E_i = i · (ln x_(i) − ln x_(i+1)),   i = 1..n

are independent exponential variables with mean ``1/(α−1)`` (their sum is Hill's statistic).
Fingers make the first few spacings too large. For ``k`` fingers the statistic

    T_k = mean(E_1..E_k) / mean(E_(k+1)..E_n)  ~  F(2k, 2(n−k))

under the power law, independently of ``α`` and ``xmin``. The p-value is the smallest of the
``k = 1..max_fingers`` upper-tail p-values times ``max_fingers`` (Bonferroni), so a pure power
law is flagged with probability at most ``level``.

References:
    Rényi (1953), Acta Math. Acad. Sci. Hung. 4, 191; Hill (1975), Ann. Statist. 3, 1163;
    Beirlant, Goegebeur, Segers & Teugels (2004), *Statistics of Extremes*, Sec. 4.2 (outlier
    tests on log-spacings).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["FingersTest", "fingers_test"]


@dataclasses.dataclass(frozen=True)
class FingersTest:
    """Result of :func:`fingers_test`.

    Attributes:
        num_fingers: the number ``k`` of top eigenvalues flagged (0 when none is significant).
        pvalue: Bonferroni-corrected p-value of the most significant ``k``.
        k_best: the ``k`` with the smallest p-value (reported even when not significant).
        statistic: ``T_k`` at ``k_best``.
        num_tail: the tail size ``n`` tested.
        status: ``"ok"`` or ``"too-few"`` (fewer than ``2·max_fingers + 4`` tail points).
    """

    num_fingers: int
    pvalue: float
    k_best: int
    statistic: float
    num_tail: int
    status: str = "ok"


def fingers_test(
    evals: np.ndarray, xmin: float, *, max_fingers: int = 3, level: float = 0.01
) -> FingersTest:
    """Test whether the top eigenvalues of a power-law tail are outliers ("fingers").

    Args:
        evals: eigenvalues (any order); those ``>= xmin`` form the tail.
        xmin: lower end of the fitted power-law tail.
        max_fingers: largest number of fingers tested (Bonferroni over ``k = 1..max_fingers``).
        level: significance level: a pure power-law tail is flagged with probability ``<= level``.

    Returns:
        A :class:`FingersTest`.

    Raises:
        ValueError: ``max_fingers < 1``, ``level`` outside (0, 1), ``xmin <= 0``.

    Example:
        >>> import numpy as np
        >>> x = (1 - np.random.default_rng(0).random(200)) ** (-1 / 1.5)  # alpha = 2.5
        >>> fingers_test(np.r_[x, 1e6, 2e6], 1.0).num_fingers
        2
    """
    from scipy import stats

    if int(max_fingers) != max_fingers or max_fingers < 1:
        raise ValueError(f"max_fingers must be an int >= 1, got max_fingers={max_fingers!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got level={level!r}")
    if not xmin > 0:
        raise ValueError(f"xmin must be > 0, got xmin={xmin!r}")
    x = np.sort(np.asarray(evals, dtype=np.float64))[::-1]
    tail = x[x >= xmin]
    n = tail.size
    if n < 2 * max_fingers + 4:
        return FingersTest(0, 1.0, 0, float("nan"), int(n), "too-few")
    logs = np.log(np.r_[tail, xmin])
    E = np.arange(1, n + 1) * (logs[:-1] - logs[1:])
    csum = np.cumsum(E)
    total = csum[-1]
    best_p, best_k, best_t = 1.0, 1, float("nan")
    for k in range(1, int(max_fingers) + 1):
        rest = (total - csum[k - 1]) / (n - k)
        if rest <= 0:
            continue
        t = (csum[k - 1] / k) / rest
        p = float(stats.f.sf(t, 2 * k, 2 * (n - k)))
        if p < best_p or k == 1:
            best_p, best_k, best_t = p, k, float(t)
    p_adj = min(1.0, best_p * max_fingers)
    return FingersTest(best_k if p_adj < level else 0, p_adj, best_k, best_t, int(n))
