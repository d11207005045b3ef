"""JAX's persistent compilation cache in the user's cache folder.

A run of ``htrmt analyze`` compiles one eigenvalue program per distinct matrix shape; with the
cache, the next run of the same command reads the compiled programs back from disk instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["default_cache_dir", "enable_compilation_cache"]

_OFF = ("0", "false", "no", "off")
_active: str | None = None  # the folder this module last turned the cache on for


def default_cache_dir() -> Path:
    """Where :func:`enable_compilation_cache` puts the cache when given no folder.

    ``$HTRMT_CACHE_DIR`` if set; else the folder JAX itself was given through
    ``$JAX_COMPILATION_CACHE_DIR``; else ``$XDG_CACHE_HOME/htrmt/jax``; else
    ``~/.cache/htrmt/jax``.
    """
    for var in ("HTRMT_CACHE_DIR", "JAX_COMPILATION_CACHE_DIR"):
        value = os.environ.get(var)
        if value:
            return Path(value).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "htrmt" / "jax"


def enable_compilation_cache(path: str | os.PathLike[str] | None = None) -> str | None:
    """Turn on JAX's persistent compilation cache, so that later runs skip recompiling.

    Every compiled program is written to the cache (no minimum compile time, no minimum
    size): the eigenvalue programs of a network analysis compile in well under JAX's default
    threshold of one second each, yet together they are most of a cold run. A setting made
    through JAX's own environment variables (``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS``,
    ``JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES``) is kept. Calling this twice is harmless;
    call it before the first compilation, since JAX opens its cache only once per process.

    If JAX is not imported yet, this only sets JAX's environment variables (which JAX reads
    when it is imported, and which subprocesses inherit), so it costs nothing for a command
    that turns out not to need JAX.

    Args:
        path: the cache folder; default :func:`default_cache_dir`.

    Returns:
        The cache folder, or ``None`` (and nothing changed) when ``$HTRMT_COMPILATION_CACHE``
        is ``0`` or the folder cannot be created or written. It never raises for these.

    Example:
        >>> import htrmt as ht
        >>> folder = ht.enable_compilation_cache()  # doctest: +SKIP
    """
    global _active
    if os.environ.get("HTRMT_COMPILATION_CACHE", "").strip().lower() in _OFF:
        return None
    try:
        folder = Path(path).expanduser() if path is not None else default_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        folder = folder.resolve()
    except (OSError, ValueError, RuntimeError):  # unwritable parent, NUL in the name, no home
        return None
    if not os.access(folder, os.W_OK | os.X_OK):
        return None
    where = str(folder)
    if where == _active:
        return where
    settings: dict[str, object] = {"jax_compilation_cache_dir": where}
    for name, threshold in (
        ("jax_persistent_cache_min_compile_time_secs", 0.0),
        ("jax_persistent_cache_min_entry_size_bytes", 0),
    ):
        if name.upper() not in os.environ:  # the user's own JAX setting wins
            settings[name] = threshold
    jax = sys.modules.get("jax")
    for name, value in settings.items():
        if jax is None:
            os.environ[name.upper()] = str(value)
        elif hasattr(jax.config, name):  # the size threshold is missing from older JAX
            jax.config.update(name, value)
    _active = where
    return where
