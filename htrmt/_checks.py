"""Argument validation shared by every module.

What can be checked before tracing raises ``ValueError``/``TypeError`` naming the argument
and its value. Inside ``jax.jit`` (tracers), value-dependent checks use ``equinox.error_if``
so that a bad value still fails loudly instead of propagating NaNs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

__all__ = [
    "is_concrete",
    "float_dtype",
    "as_float_array",
    "check_finite",
    "check_matrix",
    "check_shape",
    "check_scalar",
    "check_key",
    "check_choice",
    "check_int",
    "check_bool",
]


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds values (not a tracer inside jit/vmap/grad)."""
    return not isinstance(x, jax.core.Tracer)


def _x64() -> bool:
    return bool(jax.config.read("jax_enable_x64"))


def float_dtype(dtype: Any = None) -> jnp.dtype:
    """The requested float dtype, or the default one (float64 iff ``jax_enable_x64``)."""
    if dtype is None:
        return jnp.dtype(jnp.float64 if _x64() else jnp.float32)
    dt = jnp.dtype(dtype)
    if not jnp.issubdtype(dt, jnp.floating):
        raise TypeError(f"dtype must be a real floating dtype, got dtype={dt}")
    if dt == jnp.float64 and not _x64():
        raise TypeError(
            "dtype=float64 requested but jax_enable_x64 is off; enable it with "
            "jax.config.update('jax_enable_x64', True)"
        )
    return dt


def _short(x: Any) -> str:
    r = repr(x)
    return r if len(r) <= 80 else r[:77] + "..."


def as_float_array(x: Any, name: str, *, allow_int: bool = False) -> jax.Array:
    """Convert ``x`` to a real floating JAX array, rejecting complex, bool and (by default) ints."""
    if isinstance(x, (jax.Array, np.ndarray, np.generic)):
        dt = x.dtype
    else:
        x = np.asarray(x)
        dt = x.dtype
        if x.dtype == object:
            raise TypeError(f"{name} must be a numeric array, got {_short(x)}")
    if jnp.issubdtype(dt, jnp.complexfloating):
        raise TypeError(f"{name} must be real, got complex dtype {dt}")
    if dt == jnp.bool_:
        raise TypeError(f"{name} must be a real floating array, got dtype {dt}")
    if jnp.issubdtype(dt, jnp.integer):
        if not allow_int:
            raise TypeError(
                f"{name} must be a real floating array, got integer dtype {dt}; "
                f"convert it explicitly (e.g. {name}.astype(float))"
            )
        return jnp.asarray(x, dtype=float_dtype())
    if isinstance(x, np.ndarray) and x.dtype == np.float64 and not _x64():
        return jnp.asarray(x, dtype=jnp.float32)
    return jnp.asarray(x)


def as_float_numpy(x: Any, name: str) -> np.ndarray:
    """Like :func:`as_float_array` (same checks, same dtype rules) but a host NumPy array.

    For the host-side fitters, which would only convert a JAX array back: NumPy input is not
    copied to a device and back.
    """
    if isinstance(x, np.ndarray) and x.dtype in (np.float64, np.float32):
        if x.dtype == np.float64 and not _x64():
            return x.astype(np.float32)
        return x
    return np.asarray(as_float_array(x, name))


def check_finite(x: ArrayLike, name: str) -> Any:
    """Raise if ``x`` contains NaN or Inf (eagerly when concrete, via ``eqx.error_if`` under jit).

    Returns ``x`` itself when concrete (a NumPy array stays one), else the checked JAX array.
    """
    if is_concrete(x):
        arr = np.asarray(x)
        if arr.size and not np.all(np.isfinite(arr)):
            bad = np.argwhere(~np.isfinite(arr))[0]
            raise ValueError(
                f"{name} contains NaN or Inf (first at index {tuple(int(i) for i in bad)}: "
                f"{arr[tuple(bad)]!r}); {int(np.sum(~np.isfinite(arr)))} of {arr.size} "
                "entries are not finite"
            )
        return x
    return eqx.error_if(x, ~jnp.all(jnp.isfinite(x)), f"{name} contains NaN or Inf")


def check_matrix(W: Any, name: str = "W", *, min_rows: int = 2) -> jax.Array:
    """A real float array of rank >= 2 with finite entries and at least ``min_rows`` on each side."""
    W = as_float_array(W, name)
    if W.ndim < 2:
        raise ValueError(f"{name} must have shape (..., N, M) with rank >= 2, got shape {W.shape}")
    if W.size == 0:
        raise ValueError(f"{name} is empty (shape {W.shape})")
    if min(W.shape[-2:]) < min_rows:
        raise ValueError(
            f"{name} must have at least {min_rows} rows and columns, got shape {W.shape}"
        )
    return check_finite(W, name)


def check_shape(shape: Any, name: str = "shape", *, min_rows: int = 2) -> tuple[int, ...]:
    """A static shape ``(..., N, M)`` of Python ints with N, M >= ``min_rows``."""
    if isinstance(shape, (int, np.integer)):
        raise ValueError(f"{name} must be a tuple (..., N, M), got {name}={shape!r}")
    try:
        shp = tuple(shape)
    except TypeError:
        raise ValueError(f"{name} must be a tuple (..., N, M), got {name}={shape!r}") from None
    out = []
    for s in shp:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise ValueError(f"{name} must contain Python ints, got {name}={shape!r}")
        if s < 0:
            raise ValueError(f"{name} has a negative size: {name}={shape!r}")
        out.append(int(s))
    if len(out) < 2:
        raise ValueError(f"{name} must have at least two axes (..., N, M), got {name}={shape!r}")
    if out[-2] < min_rows or out[-1] < min_rows:
        raise ValueError(
            f"{name} must have at least {min_rows} rows and {min_rows} columns, got {name}={shape!r}"
        )
    return tuple(out)


def check_scalar(
    value: Any,
    name: str,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    allow_inf: bool = False,
) -> Any:
    """Check bounds of a scalar (or every element of an array) when concrete; pass tracers through."""
    if not is_concrete(value):
        return value
    arr = np.asarray(value)
    if arr.dtype == object or jnp.issubdtype(arr.dtype, jnp.complexfloating) or arr.dtype == bool:
        raise TypeError(f"{name} must be a real number, got {name}={_short(value)}")
    arrf = arr.astype(np.float64)
    if np.any(np.isnan(arrf)) or (not allow_inf and np.any(np.isinf(arrf))):
        raise ValueError(f"{name} must be finite, got {name}={_short(value)}")
    conds = [
        (gt, lambda a, b: a > b, ">"),
        (ge, lambda a, b: a >= b, ">="),
        (lt, lambda a, b: a < b, "<"),
        (le, lambda a, b: a <= b, "<="),
    ]
    for bound, op, sym in conds:
        if bound is not None and not np.all(op(arrf, bound)):
            raise ValueError(f"{name} must be {sym} {bound}, got {name}={_short(value)}")
    return value


def check_int(value: Any, name: str, *, ge: int | None = None) -> int:
    """A static Python int (bools rejected) with an optional lower bound."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            raise TypeError(f"{name} must be an int, got the float {name}={value!r}")
        raise TypeError(f"{name} must be an int, got {name}={_short(value)}")
    if ge is not None and value < ge:
        raise ValueError(f"{name} must be >= {ge}, got {name}={value}")
    return int(value)


def check_bool(value: Any, name: str) -> bool:
    """A static Python bool (``np.bool_`` accepted; ints and strings rejected)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {name}={_short(value)}")
    return bool(value)


def check_key(key: Any, name: str = "key") -> jax.Array:
    """A JAX PRNG key (new-style typed key or legacy uint32[2])."""
    if isinstance(key, (int, np.integer)):
        raise TypeError(
            f"{name} must be a jax.random key (e.g. jax.random.key({key})), got the int {key!r}"
        )
    if not isinstance(key, jax.Array):
        raise TypeError(f"{name} must be a jax.random key, got {type(key).__name__}")
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if key.dtype == jnp.uint32 and key.shape[-1:] == (2,):
        return key
    raise TypeError(f"{name} must be a jax.random key, got an array of dtype {key.dtype}")


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of a fixed set of strings."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {name}={value!r}")
    return value


def require_host(fname: str, *values: Any, hint: str = "") -> None:
    """Raise a clear ``TypeError`` when a host-only (NumPy) function is handed tracers.

    ``fname`` is the public name (``"htrmt.fit.marchenko_pastur"``); ``hint`` names the jittable
    alternative, if any.
    """
    for v in values:
        for leaf in jax.tree_util.tree_leaves(v):
            if isinstance(leaf, jax.core.Tracer):
                raise TypeError(
                    f"{fname} runs on the host (NumPy) and cannot be traced under jax.jit, "
                    "jax.vmap or jax.grad; call it outside the transformation"
                    + (f" or use {hint}" if hint else "")
                )


def renamed_keyword(**renames: str) -> Any:
    """Decorator: accept the former keyword names ``old=`` of renamed arguments for a release.

    ``@renamed_keyword(x="evals")`` maps a call ``f(x=...)`` to ``f(evals=...)`` with a
    ``DeprecationWarning``; passing both is a ``TypeError``.
    """
    import functools
    import warnings

    def deco(fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(
                            f"{fn.__name__}() got both {old}= (its former name) and {new}="
                        )
                    warnings.warn(
                        f"the argument {old}= of {fn.__name__}() is deprecated and will be "
                        f"removed in the next release; use {new}=",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper

    return deco
