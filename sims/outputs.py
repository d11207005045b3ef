"""Where the script folders write, and how: the output root, JSON sidecars, atomic writes.

Every script folder (``sims/``, ``figures/``, ``paper_repro/``) writes under one output root:
the ``root`` it is given, else ``$HTRMT_OUT``, else ``out`` (relative to the working directory),
read when called, not at import. Data go to ``<root>/sims/...``, reproductions to
``<root>/paper_repro/...``, the gallery to ``<root>/gallery``. Every file is written atomically
(a hidden temporary file in the same folder, fsync, ``os.replace``): a reader sees the old file
or the whole new one, never a partial file, even when the writer is killed mid-write.

Example:
    >>> import tempfile
    >>> from sims.outputs import dump_json, out_dir
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = out_dir("sims", "demo", root=tmp)
    ...     dump_json(folder / "x.json", {"a": float("nan")})
    ...     print((folder / "x.json").read_text().split())
    ['{', '"a":', 'null', '}']
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = [
    "atomic_write_bytes",
    "dump_json",
    "jsonable",
    "markdown_table",
    "out_dir",
    "out_root",
    "save_arrays",
    "write_sidecar",
    "write_text",
]


def out_root(root: str | os.PathLike | None = None) -> Path:
    """The output root: ``root`` when given, else ``$HTRMT_OUT``, else ``out``."""
    if root is not None:
        return Path(root)
    return Path(os.environ.get("HTRMT_OUT") or "out")


def out_dir(*parts: str, root: str | os.PathLike | None = None) -> Path:
    """``<out_root(root)>/<parts...>``, created if missing."""
    p = out_root(root).joinpath(*parts)
    p.mkdir(parents=True, exist_ok=True)
    return p


def atomic_write_bytes(
    path: str | os.PathLike,
    data: bytes | None = None,
    *,
    writer: Callable[[IO[bytes]], Any] | None = None,
) -> None:
    """Write ``data`` (or what ``writer(file)`` writes) to ``path`` atomically.

    A killed write leaves at most a hidden ``.tmp-*`` file next to ``path``, never a partial
    ``path``.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
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


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy values as Python ones, paths as strings, NaN as None, ±inf as "±inf"."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        return None if np.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dump_json(path: str | os.PathLike, obj: Any) -> None:
    """``obj`` as indented JSON (through :func:`jsonable`), written atomically."""
    atomic_write_bytes(path, (json.dumps(jsonable(obj), indent=2) + "\n").encode())


def write_text(path: str | os.PathLike, text: str) -> None:
    """A text file written atomically."""
    atomic_write_bytes(path, text.encode())


def save_arrays(path: str | os.PathLike, **arrays: Any) -> None:
    """``np.savez`` written atomically."""
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    atomic_write_bytes(path, writer=lambda f: np.savez(f, **arrays))


def write_sidecar(
    path: str | os.PathLike, *, seed: int, sizes: Mapping[str, Any], **extra: Any
) -> dict[str, Any]:
    """Write the JSON sidecar of a data file: seed, sizes, x64, versions, devices, git commit.

    Args:
        path: the sidecar's path (conventionally ``<data>.json`` next to the data).
        seed: the integer seed of the run.
        sizes: the sizes / grid / trial counts that define the run.
        **extra: anything else worth recording (mode, timings, script name).

    Returns:
        The dict written.
    """
    from htrmt.sweep import environment

    env = environment()
    meta = {
        "seed": seed,
        "sizes": sizes,
        "x64": env["x64"],
        "jax": env["jax"],
        "jaxlib": env["jaxlib"],
        "numpy": env["numpy"],
        "htrmt": env["htrmt"],
        "backend": env["backend"],
        "devices": env["devices"],
        "git_commit": env["git"]["commit"],
        "git_dirty": env["git"]["dirty"],
        "python": env["python"],
        "platform": env["platform"],
        "time": env["time"],
        **extra,
    }
    meta = jsonable(meta)
    dump_json(path, meta)
    return meta


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "{:.3f}"
) -> str:
    """A GitHub markdown table; floats formatted with ``fmt``, other values with ``str``."""

    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "–" if not np.isfinite(v) else fmt.format(float(v))
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
