"""The heavy-tailed universality classes (Martin & Mahoney, ICML 2019 / JMLR 2021)."""

from __future__ import annotations

import dataclasses
import math

__all__ = ["UniversalityClass", "universality_class", "CLASS_TABLE"]


@dataclasses.dataclass(frozen=True)
class UniversalityClass:
    """One row of the universality-class table.

    Attributes:
        name: ``"gaussian"``, ``"spiked"``, ``"weakly heavy-tailed"``,
            ``"moderately heavy-tailed"`` (or the authors' row
            ``"moderately heavy-tailed (Martin & Mahoney)"``) or ``"very heavy-tailed"``.
        mu: the tail index (``inf`` for Gaussian).
        finite_size_shape: the ESD's shape at finite N.
        limit: the N → ∞ limiting ESD.
        bulk_edge: statistics at the bulk edge.
        far_tail: statistics of the largest eigenvalues.
        alpha_limit: the limiting tail exponent ``µ/2 + 1`` of the ESD density when it exists
            (µ < 2; also in the authors' 2 <= µ < 4 row); None where no power law exists in
            the limit.
    """

    name: str
    mu: float
    finite_size_shape: str
    limit: str
    bulk_edge: str
    far_tail: str
    alpha_limit: float | None


CLASS_TABLE = {
    "gaussian": ("MP", "MP", "Tracy-Widom", "none"),
    "spiked": ("MP + Gaussian spikes", "MP", "Tracy-Widom", "Gaussian"),
    "weakly heavy-tailed": (
        "MP + power-law tail",
        "MP",
        "heavy-tailed (TW with large corrections)",
        "heavy-tailed",
    ),
    # The rigorous limit: finite variance, so the ESD converges to MP; for µ < 4 a vanishing
    # fraction (~N^(1-µ/2)) of eigenvalues lies beyond λ+, made by the largest entries through
    # the BBP map (htrmt.edge.moderate_edge_law).
    "moderately heavy-tailed": (
        "MP + outliers beyond λ+ (fraction ~ N^(1-µ/2))",
        "MP",
        "MP edge λ+ (Tracy-Widom bulk edge)",
        "largest entries through the BBP map (Poisson, intensity ~ x^-(µ/2+1))",
    ),
    # Martin & Mahoney's phenomenological row (JMLR 2021, Table 1), kept as theirs.
    "moderately heavy-tailed (Martin & Mahoney)": (
        "power law ~ λ^-(aµ+b)",
        "power law ~ λ^-(µ/2+1)",
        "no edge",
        "Fréchet",
    ),
    "very heavy-tailed": ("power law ~ λ^-(µ/2+1)", "power law ~ λ^-(µ/2+1)", "no edge", "Fréchet"),
}


def universality_class(
    mu: float | None, *, spiked: bool = False, authors: bool = False
) -> UniversalityClass:
    """Name the universality class of i.i.d. entries with tail index ``mu``.

    Boundaries: ``0 < µ < 2`` very heavy-tailed, ``2 <= µ < 4`` moderately, ``µ >= 4`` weakly
    heavy-tailed; ``mu=None`` or ``inf`` is Gaussian (``spiked=True``: spiked Gaussian).
    For ``2 <= µ < 4`` the rigorous row is returned (limit MP, ``alpha_limit=None``: no power
    law in the limit); ``authors=True`` gives Martin & Mahoney's phenomenological row instead
    (``"moderately heavy-tailed (Martin & Mahoney)"``, ``alpha_limit = µ/2 + 1``).

    Args:
        mu: tail index ``P(|w| > x) ~ x^-µ``, or None / ``math.inf`` for Gaussian entries.
        spiked: with Gaussian entries, whether a low-rank signal is present.
        authors: for 2 <= µ < 4, return the authors' phenomenological row.

    Returns:
        A :class:`UniversalityClass`.

    Example:
        >>> universality_class(2.5).name
        'moderately heavy-tailed'
    """
    if mu is None or (isinstance(mu, (int, float)) and math.isinf(mu) and mu > 0):
        name = "spiked" if spiked else "gaussian"
        return UniversalityClass(name, math.inf, *CLASS_TABLE[name], None)
    if isinstance(mu, bool) or not isinstance(mu, (int, float)) or not math.isfinite(mu) or mu <= 0:
        raise ValueError(f"mu must be a number > 0 (or None/inf for Gaussian), got mu={mu!r}")
    if spiked:
        raise ValueError("spiked=True applies to Gaussian entries only (mu=None)")
    if mu < 2:
        name = "very heavy-tailed"
    elif mu < 4:
        name = "moderately heavy-tailed"
    else:
        name = "weakly heavy-tailed"
    alpha = mu / 2 + 1 if mu < 2 else None
    if name == "moderately heavy-tailed" and authors:
        name, alpha = "moderately heavy-tailed (Martin & Mahoney)", mu / 2 + 1
    return UniversalityClass(name, float(mu), *CLASS_TABLE[name], alpha)
