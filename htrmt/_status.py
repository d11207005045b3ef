"""One status enumeration for every fit and result of htrmt.

Every result with a ``status`` field stores one of these codes (an int32 array in a pytree, or a
:class:`Status` in a host result) and has ``.ok`` (status is ``OK``) and ``.message``.

Example:
    >>> import htrmt as ht
    >>> ht.Status(3).label, ht.Status.OK.ok
    ('no-candidate', True)
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

__all__ = ["Status", "first_failure", "raise_if_failed"]


class Status(enum.IntEnum):
    """Outcome codes shared by all fitters (0 is success)."""

    OK = 0
    TOO_FEW_TAIL = 1
    XMIN_ABOVE_DATA = 2
    NO_CANDIDATE = 3
    CONSTANT = 4
    NONFINITE = 5
    TOO_FEW_DATA = 6
    NOT_CONVERGED = 7
    RANK_DEFICIENT = 8
    TOO_SMALL = 9

    @property
    def ok(self) -> bool:
        return self is Status.OK

    @property
    def label(self) -> str:
        """Short kebab-case name, as in tables (``"no-candidate"``)."""
        return "non-finite" if self is Status.NONFINITE else self.name.lower().replace("_", "-")

    @property
    def message(self) -> str:
        return _MESSAGES[self]

    @classmethod
    def from_label(cls, label: str) -> Status:
        for s in cls:
            if s.label == label:
                return s
        raise ValueError(f"unknown status label {label!r}; one of {[s.label for s in cls]}")


_MESSAGES = {
    Status.OK: "ok",
    Status.TOO_FEW_TAIL: "too few tail points: a fit needs at least `min_tail` points and 2 "
    "distinct values in xmin <= x <= xmax",
    Status.XMIN_ABOVE_DATA: "xmin is above the largest data value (no tail)",
    Status.NO_CANDIDATE: "no candidate xmin satisfies the restrictions (min_tail, xmin_range, "
    "alpha_max, xmax, or the estimator's rule)",
    Status.CONSTANT: "the positive data are constant: a power law cannot be fit",
    Status.NONFINITE: "NaN or Inf in the data or in the fitted values",
    Status.TOO_FEW_DATA: "fewer than `min_tail` positive data values (or fewer than 2 distinct "
    "ones)",
    Status.NOT_CONVERGED: "the iterative fit did not converge",
    Status.RANK_DEFICIENT: "more than a tenth of the eigenvalues are zero (rank-deficient)",
    Status.TOO_SMALL: "too few eigenvalues for the estimator (left out)",
}


def first_failure(status: Any) -> Status:
    """The first non-OK code of a (batched) concrete status array, or ``OK``."""
    st = np.asarray(status).ravel()
    bad = st[st != Status.OK]
    return Status(int(bad[0])) if bad.size else Status.OK


def raise_if_failed(result: Any, what: str, *, guard: str | None = None) -> Any:
    """The ``throw=True`` behaviour shared by every fitter.

    Concrete status (host results, eager JAX results): a ``ValueError`` ``"<what> failed:
    <message>"`` when it is not ``OK``. Traced status (under ``jit``/``vmap``): the array field
    ``guard`` is wrapped in ``equinox.error_if``, so the compiled function raises at run time.
    Returns ``result`` (with the guarded field when traced).
    """
    from ._checks import is_concrete

    status = result.status
    if isinstance(status, str):
        status = Status.from_label(status)
    if isinstance(status, Status) or is_concrete(status):
        code = first_failure(status)
        if not code.ok:
            raise ValueError(f"{what} failed: {result.message}")
        return result
    if guard is None:  # pragma: no cover - every traced result names its guard
        raise TypeError(f"{what}: a traced status needs a guarded field")
    import equinox as eqx

    field = eqx.error_if(
        getattr(result, guard),
        status != Status.OK,
        f"{what} failed (status != 0; call with throw=False and read .message)",
    )
    return eqx.tree_at(lambda r: getattr(r, guard), result, field)
