"""Environment metadata (versions, devices, precision, git commit) and atomic file writes."""

from __future__ import annotations

import datetime
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jax
import numpy as np

__all__ = ["environment", "git_commit", "atomic_write_bytes", "atomic_write_json", "now"]


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def git_commit(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the git work tree holding ``path``.

    ``path`` defaults to the current directory, falling back to the htrmt source tree.
    """
    return dict(_git_commit(str(Path(path).resolve()) if path is not None else str(Path.cwd())))


@functools.lru_cache(maxsize=16)
def _git_commit(path: str) -> tuple:
    candidates = [Path(path), Path(__file__).resolve().parent]
    for p in candidates:
        try:
            sha = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=p, capture_output=True, text=True, timeout=10
            )
            if sha.returncode != 0:
                continue
            st = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=p,
                capture_output=True,
                text=True,
                timeout=20,
            )
            dirty = bool(st.stdout.strip()) if st.returncode == 0 else None
            return (("commit", sha.stdout.strip()), ("dirty", dirty))
        except (OSError, subprocess.SubprocessError):
            continue
    return (("commit", None), ("dirty", None))


def environment() -> dict[str, Any]:
    """Where and with what a computation ran: versions, devices, precision, git commit, host.

    Returns:
        A JSON-serialisable dict with keys ``python``, ``platform``, ``jax``, ``jaxlib``,
        ``numpy``, ``htrmt``, ``backend``, ``devices`` (one string per device),
        ``device_count``, ``process_count``, ``x64``, ``git`` and ``time``.

    Example:
        >>> env = environment()
        >>> sorted(env)[:3]
        ['backend', 'device_count', 'devices']
    """
    try:
        import jaxlib

        jaxlib_version = jaxlib.__version__
    except Exception:  # pragma: no cover - jaxlib always ships with jax
        jaxlib_version = None
    from .. import __version__ as htrmt_version

    devices = jax.devices()
    return {
        "backend": jax.default_backend(),
        "device_count": len(devices),
        "devices": [f"{d.platform}:{d.id}:{getattr(d, 'device_kind', '')}" for d in devices],
        "git": git_commit(),
        "htrmt": htrmt_version,
        "jax": jax.__version__,
        "jaxlib": jaxlib_version,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "process_count": jax.process_count(),
        "python": sys.version.split()[0],
        "time": now(),
        "x64": bool(jax.config.read("jax_enable_x64")),
    }


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes | None = None, *, writer=None) -> None:
    """Write a file atomically: a hidden temp file in the same folder, fsync, ``os.replace``.

    Readers see either the old file or the whole new one, never a partial file, even if the
    process is killed (SIGKILL) mid-write; a killed write leaves a ``.tmp-*`` file that
    readers ignore.

    Args:
        path: the destination.
        data: the bytes to write, or
        writer: a callable given the open binary file object (e.g. ``lambda f: np.savez(f, ...)``).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            if writer is not None:
                writer(f)
            else:
                f.write(data if data is not None else b"")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """:func:`atomic_write_bytes` of ``obj`` as indented JSON."""
    atomic_write_bytes(
        path, (json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n").encode()
    )
