"""Lazy readers of weight files as they ship: one tensor at a time, in its stored dtype.

A :class:`Checkpoint` knows every tensor's name, shape, dtype and file from the headers alone
(safetensors' JSON header, the ``.npy`` headers inside an ``.npz``, a PyTorch archive opened with
``mmap=True``) and reads one tensor, or a range of its leading rows, when asked. What it reads:

- a file: ``.safetensors``, ``.npz``, ``.pt`` / ``.pth`` / ``.bin`` / ``.ckpt`` (PyTorch, always
  ``weights_only=True``);
- an index file: ``model.safetensors.index.json`` or ``pytorch_model.bin.index.json`` (the
  ``weight_map`` says which shard holds each tensor; the shards sit beside it);
- a Hugging Face style folder: ``config.json`` with ``model.safetensors``, or the sharded files
  and their index, or ``pytorch_model.bin`` (+ index); a PEFT adapter folder
  (``adapter_config.json`` + ``adapter_model.safetensors``) opens as an adapter.

Nothing here unpickles arbitrary objects. Every header is checked against its file before a
tensor is read: a truncated shard, sizes that disagree with the dtype and shape, an index that
names a missing shard or one tensor twice raise a ``ValueError`` naming the file and the tensor.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Checkpoint",
    "TensorEntry",
    "open_checkpoint",
    "natural_key",
    "write_safetensors",
    "WEIGHT_SUFFIXES",
]

WEIGHT_SUFFIXES = (".safetensors", ".npz", ".pt", ".pth", ".bin", ".ckpt")
_TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")

_READS = (
    "htrmt reads local .safetensors, .npz and PyTorch (.pt/.pth/.bin, weights only) files, "
    "their index files (model.safetensors.index.json, pytorch_model.bin.index.json), Hugging "
    "Face model folders and PEFT adapter folders"
)


def _st_dtypes() -> dict[str, np.dtype]:
    import ml_dtypes

    d = {
        "F64": np.dtype(np.float64),
        "F32": np.dtype(np.float32),
        "F16": np.dtype(np.float16),
        "BF16": np.dtype(ml_dtypes.bfloat16),
        "F8_E4M3": np.dtype(ml_dtypes.float8_e4m3fn),
        "F8_E5M2": np.dtype(ml_dtypes.float8_e5m2),
        "I64": np.dtype(np.int64),
        "I32": np.dtype(np.int32),
        "I16": np.dtype(np.int16),
        "I8": np.dtype(np.int8),
        "U64": np.dtype(np.uint64),
        "U32": np.dtype(np.uint32),
        "U16": np.dtype(np.uint16),
        "U8": np.dtype(np.uint8),
        "BOOL": np.dtype(np.bool_),
    }
    return d


def natural_key(name: str) -> tuple:
    """Sort key that orders ``layers.2`` before ``layers.10`` (the model's order)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


@dataclasses.dataclass(frozen=True)
class TensorEntry:
    """One stored tensor: where it is and what it is, without its data.

    Attributes:
        name: the tensor's name in the checkpoint.
        shape: stored shape.
        dtype: stored NumPy dtype (``bfloat16`` and ``float8`` from ``ml_dtypes``).
        file: the file that holds it.
    """

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    file: Path
    fetch: Callable[[slice | None], np.ndarray] = dataclasses.field(repr=False, compare=False)

    @property
    def nbytes(self) -> int:
        return int(math.prod(self.shape)) * int(self.dtype.itemsize)

    def read(self, rows: slice | None = None) -> np.ndarray:
        """The tensor (or ``rows`` of its leading axis) in its stored dtype."""
        return self.fetch(rows)


@dataclasses.dataclass
class Checkpoint:
    """The tensors of a weight file, index or model folder, read lazily (see the module doc).

    Attributes:
        path: what was opened.
        framework: ``"safetensors"``, ``"torch"`` or ``"npz"``.
        entries: ``{name: TensorEntry}`` in the model's order.
        files: the weight files behind the entries.
        config: the folder's ``config.json`` (``{}`` when none).
        adapter_config: ``adapter_config.json`` of a PEFT adapter (None for a model).
    """

    path: Path
    framework: str
    entries: dict[str, TensorEntry]
    files: tuple[Path, ...]
    config: dict[str, Any]
    adapter_config: dict[str, Any] | None = None

    def names(self) -> list[str]:
        return list(self.entries)

    def read(self, name: str, rows: slice | None = None) -> np.ndarray:
        try:
            entry = self.entries[name]
        except KeyError:
            raise KeyError(f"{str(self.path)!r} has no tensor {name!r}") from None
        return entry.read(rows)

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self.entries.values())


# ---------------------------------------------------------------------------------------------
# safetensors


def _safetensors_header(path: Path) -> tuple[dict[str, TensorEntry], int]:
    """Entries of one ``.safetensors`` file, every size checked against the file."""
    dtypes = _st_dtypes()
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError(f"{str(path)!r} is truncated: {size} bytes, not a .safetensors file")
        (hlen,) = struct.unpack("<Q", head)
        if hlen > size - 8:
            raise ValueError(
                f"{str(path)!r} is truncated or not a .safetensors file: its header claims "
                f"{hlen} bytes, the file has {size - 8} after the length"
            )
        raw = fh.read(hlen)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{str(path)!r} has an unreadable .safetensors header: {err}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{str(path)!r} has a .safetensors header that is not a JSON object")
    base = 8 + hlen
    avail = size - base
    out: dict[str, TensorEntry] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        where = f"{str(path)!r}, tensor {name!r}"
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise ValueError(f"{where}: malformed header entry {info!r}")
        if info["dtype"] not in dtypes:
            raise ValueError(f"{where}: unknown dtype {info['dtype']!r}")
        dt = dtypes[info["dtype"]]
        try:
            shape = tuple(int(s) for s in info["shape"])
            begin, end = (int(v) for v in info["data_offsets"])
        except (TypeError, ValueError):
            raise ValueError(f"{where}: malformed header entry {info!r}") from None
        if any(s < 0 for s in shape) or begin < 0:
            raise ValueError(f"{where}: negative shape or offset in {info!r}")
        need = int(math.prod(shape)) * dt.itemsize
        if end - begin != need:
            raise ValueError(
                f"{where}: the header's sizes disagree: shape {list(shape)} of "
                f"{info['dtype']} is {need} bytes, data_offsets [{begin}, {end}] give "
                f"{end - begin}"
            )
        if end > avail:
            raise ValueError(
                f"{where}: the file is truncated: the tensor ends at byte {end} of the data, "
                f"the file holds {avail}"
            )
        out[name] = TensorEntry(
            name, shape, dt, path, _safetensors_fetch(path, base + begin, shape, dt, name)
        )
    return out, hlen


def _safetensors_fetch(path: Path, offset: int, shape: tuple[int, ...], dt: np.dtype, name: str):
    def fetch(rows: slice | None) -> np.ndarray:
        shp = shape
        off = offset
        if rows is not None and shape:
            start, stop, step = rows.indices(shape[0])
            if step != 1:
                raise ValueError("row ranges must be contiguous")
            row_bytes = int(math.prod(shape[1:])) * dt.itemsize
            off = offset + start * row_bytes
            shp = (max(stop - start, 0), *shape[1:])
        arr = np.empty(shp, dtype=dt)
        with open(path, "rb") as fh:
            fh.seek(off)
            n = fh.readinto(memoryview(arr.reshape(-1).view(np.uint8)))  # type: ignore[arg-type]
        if n != arr.nbytes:
            raise ValueError(
                f"{str(path)!r}, tensor {name!r}: the file is truncated (read {n} of "
                f"{arr.nbytes} bytes)"
            )
        return arr

    return fetch


# ---------------------------------------------------------------------------------------------
# npz


def _npz_entries(path: Path) -> dict[str, TensorEntry]:
    out: dict[str, TensorEntry] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for member in zf.namelist():
                if not member.endswith(".npy"):
                    continue
                name = member[:-4]
                with zf.open(member) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dt = np.lib.format.read_array_header_1_0(fh)
                    else:
                        shape, _, dt = np.lib.format.read_array_header_2_0(fh)
                if dt.hasobject:
                    raise ValueError(f"tensor {name!r} is an object array (needs pickle)")
                out[name] = TensorEntry(name, tuple(shape), dt, path, _npz_fetch(path, name))
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{str(path)!r} is not a readable .npz file of arrays: {err}") from None
    return out


def _npz_fetch(path: Path, name: str):
    def fetch(rows: slice | None) -> np.ndarray:
        try:
            with np.load(path, allow_pickle=False) as z:
                a = z[name]
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
            raise ValueError(f"{str(path)!r}, tensor {name!r}: unreadable: {err}") from None
        return a if rows is None else a[rows]

    return fetch


# ---------------------------------------------------------------------------------------------
# PyTorch


def _torch_to_numpy(t: Any) -> np.ndarray:
    import torch

    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.contiguous().view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    if t.dtype in (getattr(torch, "float8_e4m3fn", None), getattr(torch, "float8_e5m2", None)):
        return t.float().numpy()
    return t.numpy()


def _torch_load(path: Path) -> dict[str, Any]:
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"reading {path.suffix} files needs PyTorch (the optional 'torch' extra): "
            "pip install torch"
        ) from None
    from collections.abc import Mapping

    try:
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as err:  # legacy (non-zip) archives cannot be memory-mapped
            if "mmap" not in str(err).lower() and "zip" not in str(err).lower():
                raise
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"{str(path)!r} could not be read as a PyTorch state dict with weights_only=True "
            f"(arbitrary pickled objects are never loaded): {err}"
        ) from None
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise ValueError(
            f"{str(path)!r} holds a {type(obj).__name__}, not a state dict (a mapping of names to "
            "tensors)"
        )
    flat: dict[str, Any] = {}

    def walk(d: Mapping, prefix: str) -> None:
        for k, v in d.items():
            name = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, Mapping):
                walk(v, name)
            else:
                flat[name] = v

    walk(obj, "")
    return flat


def _torch_entries(path: Path) -> dict[str, TensorEntry]:
    sd = _torch_load(path)
    out: dict[str, TensorEntry] = {}
    for name, t in sd.items():
        if not (hasattr(t, "shape") and hasattr(t, "dtype")):
            continue
        if hasattr(t, "detach"):
            dt = _torch_dtype(t)
        else:
            dt = np.asarray(t).dtype
        out[name] = TensorEntry(name, tuple(int(s) for s in t.shape), dt, path, _torch_fetch(t))
    return out


def _torch_dtype(t: Any) -> np.dtype:
    import torch

    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    try:
        return np.dtype(str(t.dtype).replace("torch.", ""))
    except TypeError:
        return np.dtype(np.float32)


def _torch_fetch(t: Any):
    def fetch(rows: slice | None) -> np.ndarray:
        if not hasattr(t, "detach"):
            a = np.asarray(t)
            return a if rows is None else a[rows]
        return _torch_to_numpy(t if rows is None else t[rows])

    return fetch


# ---------------------------------------------------------------------------------------------
# files, indexes, folders


def _sniff(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head[:4] == b"GGUF":
        raise ValueError(
            f"{str(path)!r} is a GGUF file (llama.cpp's quantised format), which htrmt does not "
            f"read: {_READS}. Analyse the original Hugging Face checkpoint the GGUF was made from "
            "(its safetensors), e.g. `htrmt analyze MODEL_DIR`."
        )
    if head[:2] == b"PK":
        return "zip"
    if len(head) >= 9:
        (hlen,) = struct.unpack("<Q", head[:8])
        if head[8:9] == b"{" and hlen < 1 << 32:
            return "safetensors"
    return "unknown"


def _open_file(path: Path) -> tuple[str, dict[str, TensorEntry]]:
    suffix = path.suffix.lower()
    kind = _sniff(path)
    if suffix == ".safetensors" or (suffix not in WEIGHT_SUFFIXES and kind == "safetensors"):
        entries, _ = _safetensors_header(path)
        return "safetensors", dict(sorted(entries.items(), key=lambda kv: natural_key(kv[0])))
    if suffix == ".npz":
        return "npz", _npz_entries(path)
    if suffix in _TORCH_SUFFIXES:
        return "torch", _torch_entries(path)
    if kind == "zip":
        try:
            return "npz", _npz_entries(path)
        except ValueError:
            return "torch", _torch_entries(path)
    if suffix == ".json":
        raise ValueError(
            f"{str(path)!r} is not a model file: a JSON file is read only as an index "
            "(model.safetensors.index.json or pytorch_model.bin.index.json with a 'weight_map')"
        )
    raise ValueError(
        f"{str(path)!r} is not a model file htrmt can read: expected one of "
        f"{', '.join(WEIGHT_SUFFIXES)}, an index file or a model folder ({_READS})"
    )


def _load_json(path: Path, what: str) -> Any:
    def no_duplicates(pairs):
        d: dict[str, Any] = {}
        for k, v in pairs:
            if k in d:
                raise ValueError(f"{str(path)!r}: {what} names {k!r} twice")
            d[k] = v
        return d

    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as err:
        raise ValueError(f"{str(path)!r} is not valid JSON ({what}): {err}") from None


def _open_index(path: Path) -> tuple[str, dict[str, TensorEntry], tuple[Path, ...]]:
    index = _load_json(path, "the index")
    wmap = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(wmap, dict) or not wmap:
        raise ValueError(f"{str(path)!r} is not an index file: it has no 'weight_map'")
    shards: dict[str, list[str]] = {}
    for name, shard in wmap.items():
        if not isinstance(shard, str):
            raise ValueError(f"{str(path)!r}: tensor {name!r} maps to {shard!r}, not a file name")
        shards.setdefault(shard, []).append(name)
    entries: dict[str, TensorEntry] = {}
    framework = "safetensors"
    files = []
    for shard, names in shards.items():
        f = path.parent / shard
        if not f.exists():
            raise ValueError(
                f"{str(path)!r} names a missing shard {shard!r} (for tensor {names[0]!r}"
                f"{f' and {len(names) - 1} more' if len(names) > 1 else ''})"
            )
        framework, got = _open_file(f)
        files.append(f)
        for name in names:  # the index decides which shard a tensor comes from
            if name not in got:
                raise ValueError(
                    f"{str(path)!r} says tensor {name!r} is in {shard!r}, which does not hold it"
                )
            entries[name] = got[name]
    entries = dict(sorted(entries.items(), key=lambda kv: natural_key(kv[0])))
    return framework, entries, tuple(files)


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _not_found(path: Path, raw: Any) -> FileNotFoundError:
    s = str(raw)
    if _HUB_ID.match(s) and not s.startswith((".", "/")):
        return FileNotFoundError(
            f"no such file or folder: {s!r}. It looks like a Hugging Face Hub repo id; htrmt "
            f"never downloads: fetch it first (`huggingface-cli download {s} --local-dir DIR`, "
            f"or `hf download {s} --local-dir DIR`) and give DIR. {_READS}."
        )
    return FileNotFoundError(f"no such file: {s!r}")


def _read_config(folder: Path) -> dict[str, Any]:
    f = folder / "config.json"
    if not f.is_file():
        return {}
    try:
        cfg = _load_json(f, "config.json")
    except ValueError:
        return {}
    return cfg if isinstance(cfg, dict) else {}


def open_checkpoint(path: Any) -> Checkpoint:
    """Open a weight file, index file or model / adapter folder lazily (see the module doc).

    Raises:
        FileNotFoundError: the path does not exist (a Hub repo id gets a hint).
        ValueError: a file htrmt does not read (GGUF, JSON that is not an index, ...), a
            truncated or inconsistent file, an index naming a missing shard or a tensor twice,
            a folder with no weights (or several with no index).
    """
    raw = path
    p = Path(os.fspath(path)).expanduser()
    if not p.exists():
        raise _not_found(p, raw)
    if p.is_dir():
        return _open_folder(p)
    if p.name.endswith(".index.json"):
        framework, entries, files = _open_index(p)
        return Checkpoint(p, framework, entries, files, _read_config(p.parent))
    framework, entries = _open_file(p)
    return Checkpoint(p, framework, entries, (p,), _read_config(p.parent))


def _open_folder(p: Path) -> Checkpoint:
    cfg = _read_config(p)
    if (p / "adapter_config.json").is_file():
        acfg = _load_json(p / "adapter_config.json", "adapter_config.json")
        for fname in ("adapter_model.safetensors", "adapter_model.bin"):
            f = p / fname
            if f.is_file():
                framework, entries = _open_file(f)
                return Checkpoint(p, framework, entries, (f,), cfg, acfg if acfg else {})
        raise ValueError(
            f"{str(p)!r} has adapter_config.json but no adapter_model.safetensors or "
            "adapter_model.bin"
        )
    for idx in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (p / idx).is_file():
            framework, entries, files = _open_index(p / idx)
            return Checkpoint(p, framework, entries, files, cfg)
    for single in ("model.safetensors", "pytorch_model.bin"):
        if (p / single).is_file():
            framework, entries = _open_file(p / single)
            return Checkpoint(p, framework, entries, (p / single,), cfg)
    found = sorted(
        (q for q in p.iterdir() if q.is_file() and q.suffix.lower() in WEIGHT_SUFFIXES),
        key=lambda q: natural_key(q.name),
    )
    st = [q for q in found if q.suffix == ".safetensors"]
    pick = st or found
    if len(pick) == 1:
        framework, entries = _open_file(pick[0])
        return Checkpoint(p, framework, entries, (pick[0],), cfg)
    shard_re = re.compile(r".*-\d+-of-\d+\.safetensors$")
    if st and all(shard_re.match(q.name) for q in st):  # shards without their index
        entries = {}
        for q in st:
            _, got = _open_file(q)
            for name, e in got.items():
                if name in entries:
                    raise ValueError(
                        f"tensor {name!r} is in both {entries[name].file.name!r} and "
                        f"{q.name!r} and there is no index to say which is meant"
                    )
                entries[name] = e
        entries = dict(sorted(entries.items(), key=lambda kv: natural_key(kv[0])))
        return Checkpoint(p, "safetensors", entries, tuple(st), cfg)
    if not found:
        gguf = [q.name for q in p.iterdir() if q.suffix.lower() == ".gguf"]
        extra = f" (found GGUF files {gguf}, which htrmt does not read)" if gguf else ""
        raise ValueError(f"{str(p)!r} holds no weight files{extra}; {_READS}")
    raise ValueError(
        f"{str(p)!r} holds several weight files and no index to say which form the model: "
        f"{[q.name for q in found]}; give one file or an index file"
    )


def write_safetensors(path: Any, tensors: dict[str, np.ndarray], metadata: dict | None = None):
    """Write ``{name: array}`` as a ``.safetensors`` file (bf16 / fp16 / fp32 / ints kept).

    The format's own layout: an 8-byte little-endian header length, a JSON header (dtype,
    shape, data_offsets per tensor), the raw little-endian bytes in header order.
    """
    inv = {v: k for k, v in _st_dtypes().items()}
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    off = 0
    arrays = []
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        if a.dtype not in inv:
            raise ValueError(f"tensor {name!r}: dtype {a.dtype} has no safetensors code")
        header[name] = {
            "dtype": inv[a.dtype],
            "shape": list(a.shape),
            "data_offsets": [off, off + a.nbytes],
        }
        off += a.nbytes
        arrays.append(a)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)))
        fh.write(raw)
        for a in arrays:
            fh.write(a.tobytes())
    os.replace(tmp, path)
