"""Plumbing shared by the paper reproductions: data, small networks, training, cached parts,
expected-vs-obtained checks and their tables.

A reproduction is a folder ``paper_repro/<name>/`` with ``run.py`` (``main(argv=None)``),
``expected.json`` (the checks: expected number, tolerance, kind, per mode) and ``README.md``.
Its outputs go to ``<out>/paper_repro/<name>/<mode>/`` (``<out>``: ``$HTRMT_OUT`` or ``out``):

- ``part_<x>.json``: one file per part, written atomically when the part is finished; a rerun
  reads it instead of recomputing (an interrupted run redoes only the unfinished parts);
- ``results.json`` / ``results.md``: every check, expected against obtained, pass or fail;
- a JSON sidecar ``results.meta.json`` (seed, sizes, x64, versions, devices, git commit).

Data: scikit-learn's digits (1797 8×8 images shipped inside the package; nothing downloaded).
Networks: equinox MLPs trained with plain SGD, one epoch per jitted ``lax.scan``; the CNN of
``htrmt.networks.default_model()`` (``digits_cnn``) trained with any optax optimizer
(``train_optax``), one epoch per jitted ``lax.scan`` too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sims.outputs import dump_json, markdown_table, out_root, write_sidecar, write_text

__all__ = [
    "MODES",
    "parser",
    "result_dir",
    "cached_part",
    "digits_split",
    "make_mlp",
    "train_mlp",
    "digits_cnn",
    "digits_images",
    "train_optax",
    "accuracy",
    "linear_weights",
    "evaluate_checks",
    "write_results",
    "finish",
]

MODES = ("quick", "full")
ROOT = Path(__file__).resolve().parent


def parser(description: str) -> argparse.ArgumentParser:
    """The common arguments: ``--quick`` (default) / ``--full``, ``--seed``, ``--out``,
    ``--force`` (recompute finished parts), ``--parts``."""
    p = argparse.ArgumentParser(description=description)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="small and fast (as CI runs it; default)")
    g.add_argument("--full", action="store_true", help="the larger reproduction")
    p.add_argument(
        "--seed", type=int, default=0, help="seed (default 0, the one expected.json uses)"
    )
    p.add_argument("--out", default=None, help="output root (default $HTRMT_OUT or out)")
    p.add_argument("--force", action="store_true", help="recompute parts already finished")
    p.add_argument("--parts", nargs="*", default=None, help="only these parts (default: all)")
    return p


def mode_of(args: argparse.Namespace) -> str:
    return "full" if args.full else "quick"


def result_dir(paper: str, mode: str, seed: int = 0, root: str | os.PathLike | None = None) -> Path:
    """``<root>/paper_repro/<paper>/<mode>[_seed<k>]`` (created)."""
    p = out_root(root) / "paper_repro" / paper / (mode if seed == 0 else f"{mode}_seed{seed}")
    p.mkdir(parents=True, exist_ok=True)
    return p


def cached_part(
    folder: Path, part: str, config: Mapping[str, Any], compute: Callable[[], dict], *, force: bool
) -> dict:
    """Run one part or read its finished result.

    The result is ``folder/part_<part>.json`` with the ``config`` it was computed with; it is
    reused when present and its config matches (a changed config recomputes it).
    """
    path = folder / f"part_{part}.json"
    cfg = json.loads(json.dumps(config))
    if path.exists() and not force:
        try:
            old = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            old = None
        if old is not None and old.get("config") == cfg:
            print(f"[{part}] finished earlier: read {path}", flush=True)
            old["cached"] = True
            return old
    t0 = time.perf_counter()
    print(f"[{part}] running ...", flush=True)
    res = compute()
    res = {"config": cfg, "seconds": time.perf_counter() - t0, **res}
    dump_json(path, res)
    print(f"[{part}] done in {res['seconds']:.1f} s -> {path}", flush=True)
    res["cached"] = False
    return res


# ------------------------------------------------------------------------------------------
# Data and networks
# ------------------------------------------------------------------------------------------


def digits_split(seed: int = 0, n_test: int = 360):
    """scikit-learn's digits as float32 ``(X_train, y_train, X_test, y_test)``; X in [0, 1],
    64 features; a random test split of ``n_test`` images."""
    import jax.numpy as jnp
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int32)
    perm = np.random.default_rng(seed).permutation(len(y))
    te, tr = perm[:n_test], perm[n_test:]
    return jnp.asarray(X[tr]), jnp.asarray(y[tr]), jnp.asarray(X[te]), jnp.asarray(y[te])


def make_mlp(key, width: int, depth: int, *, in_size: int = 64, out_size: int = 10):
    """``eqx.nn.MLP`` (ReLU) with ``depth`` hidden layers of ``width`` units, float32."""
    import equinox as eqx
    import jax.numpy as jnp

    m = eqx.nn.MLP(in_size, out_size, width, depth, key=key)
    return jax_tree_cast(m, jnp.float32)


def jax_tree_cast(model, dtype):
    import equinox as eqx
    import jax

    return jax.tree_util.tree_map(
        lambda x: x.astype(dtype) if eqx.is_inexact_array(x) else x, model
    )


def linear_weights(model) -> list:
    """The weight matrices ``(out, in)`` of an MLP's linear layers, in order."""
    return [layer.weight for layer in model.layers]


def _epoch_impl(model, X, y, idx, lr, l2):
    """One epoch of SGD over the batches ``idx`` (shape ``(num_batches, batch)``) in a scan.

    Loss: mean cross-entropy + ``Σ_l l2[l]·‖W_l‖_F²`` (``l2`` one coefficient per layer)."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax

    params, static = eqx.partition(model, eqx.is_inexact_array)

    def loss_fn(p, xb, yb):
        m = eqx.combine(p, static)
        ce = optax.softmax_cross_entropy_with_integer_labels(jax.vmap(m)(xb), yb).mean()
        pen = sum(l2[i] * jnp.sum(w**2) for i, w in enumerate(linear_weights(m)))
        return ce + pen, ce

    def body(p, ib):
        (_, ce), g = jax.value_and_grad(loss_fn, has_aux=True)(p, X[ib], y[ib])
        p = jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g)
        return p, ce

    params, ces = jax.lax.scan(body, params, idx)
    return eqx.combine(params, static), jnp.mean(ces)


_EPOCH = None


def _epoch(*args):
    global _EPOCH
    if _EPOCH is None:
        import equinox as eqx

        _EPOCH = eqx.filter_jit(_epoch_impl)
    return _EPOCH(*args)


def train_mlp(
    key,
    model,
    data,
    *,
    batch_size: int,
    epochs: int,
    lr: float,
    l2: Sequence[float] | None = None,
    on_epoch: Callable[[int, Any, float], None] | None = None,
):
    """Train ``model`` with plain SGD (constant ``lr``), reshuffling every epoch.

    Args:
        key: a ``jax.random`` key (the batch order).
        model: an equinox MLP.
        data: ``(X_train, y_train, X_test, y_test)``.
        batch_size: images per step (the last incomplete batch of an epoch is dropped).
        epochs: number of passes.
        lr: learning rate.
        l2: per linear layer, the coefficient of ``‖W‖_F²`` added to the loss (default none).
        on_epoch: ``on_epoch(epoch, model, train_loss)`` after each epoch (epoch 0: before).

    Returns:
        ``(model, final mean training cross-entropy)``.
    """
    import jax
    import jax.numpy as jnp

    Xtr, ytr = data[0], data[1]
    n = int(Xtr.shape[0])
    bs = min(int(batch_size), n)
    nb = n // bs
    nl = len(model.layers)
    coef = jnp.asarray(list(l2) if l2 is not None else [0.0] * nl, jnp.float32)
    if coef.shape != (nl,):
        raise ValueError(f"l2 must have one value per layer ({nl}), got l2={l2!r}")
    if on_epoch is not None:
        on_epoch(0, model, float("nan"))
    loss = float("nan")
    for e in range(1, epochs + 1):
        key, k = jax.random.split(key)
        idx = jax.random.permutation(k, n)[: nb * bs].reshape(nb, bs)
        model, ce = _epoch(model, Xtr, ytr, idx, jnp.float32(lr), coef)
        loss = float(ce)
        if not math.isfinite(loss):
            raise FloatingPointError(f"training diverged at epoch {e} (batch {bs}, lr {lr})")
        if on_epoch is not None:
            on_epoch(e, model, loss)
    return model, loss


def digits_cnn(seed: int):
    """A freshly initialised CNN of the architecture of ``htrmt.networks.default_model()``
    (Conv 1→16, Conv 16→32, 2×2 max-pool, Linear 512→256→128→10; input ``(1, 8, 8)``).

    The initialisation is equinox's (and PyTorch's) default, drawn with NumPy: every weight and
    bias of a layer uniform on ``±1/√fan_in`` (``fan_in`` = the weight's inputs times kernel
    size). NumPy draws it in microseconds where the eager ``jax.random`` initialisation of the
    module compiles for seconds.
    """
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    import htrmt as ht

    cls = type(ht.networks.default_model())
    skeleton = eqx.filter_eval_shape(cls, jax.random.key(0))
    params, static = eqx.partition(skeleton, lambda x: isinstance(x, jax.ShapeDtypeStruct))
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    fan_in: dict[str, int] = {}
    for path, x in leaves:
        name = jax.tree_util.keystr(path, simple=True, separator=".")
        if name.endswith(".weight"):
            fan_in[name[: -len(".weight")]] = int(np.prod(x.shape[1:]))
    rng = np.random.default_rng(seed)
    new = []
    for path, x in leaves:
        name = jax.tree_util.keystr(path, simple=True, separator=".")
        bound = 1.0 / math.sqrt(fan_in[name.rsplit(".", 1)[0]])
        new.append(jnp.asarray(rng.uniform(-bound, bound, x.shape), jnp.float32))
    tdef = jax.tree_util.tree_structure(params)
    return eqx.combine(jax.tree_util.tree_unflatten(tdef, new), static)


def digits_images(data):
    """``digits_split`` data with the images as ``(n, 1, 8, 8)`` (for :func:`digits_cnn`)."""
    Xtr, ytr, Xte, yte = data
    return Xtr.reshape(-1, 1, 8, 8), ytr, Xte.reshape(-1, 1, 8, 8), yte


def _optax_epoch_impl(model, opt_state, X, y, idx, opt):
    import equinox as eqx
    import jax
    import optax

    params, static = eqx.partition(model, eqx.is_inexact_array)

    def loss_fn(p, xb, yb):
        m = eqx.combine(p, static)
        return optax.softmax_cross_entropy_with_integer_labels(jax.vmap(m)(xb), yb).mean()

    def body(carry, ib):
        p, s = carry
        ce, g = jax.value_and_grad(loss_fn)(p, X[ib], y[ib])
        u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), ce

    (params, opt_state), ces = jax.lax.scan(body, (params, opt_state), idx)
    return eqx.combine(params, static), opt_state, ces.mean()


_OPTAX_EPOCH = None


def train_optax(
    seed: int,
    model,
    data,
    opt,
    *,
    batch_size: int,
    epochs: int,
    on_epoch: Callable[[int, Any, Any, float], None] | None = None,
):
    """Train ``model`` with the optax optimizer ``opt`` (mean cross-entropy), reshuffling every
    epoch; one jitted ``lax.scan`` per epoch (compiled once per optimizer and shapes).

    Args:
        seed: seed of the batch order (NumPy: no ``jax.random`` compilation per run).
        model: an equinox model mapping one input to logits.
        data: ``(X_train, y_train, X_test, y_test)``.
        opt: an ``optax.GradientTransformation`` (its ``update`` receives the params).
        batch_size: inputs per step (the last incomplete batch of an epoch is dropped).
        epochs: number of passes.
        on_epoch: ``on_epoch(epoch, model, opt_state, train_loss)`` after each epoch
            (epoch 0: before training).

    Returns:
        ``(model, opt_state, final mean training cross-entropy)``.

    Raises:
        FloatingPointError: the training loss is not finite.
    """
    import equinox as eqx
    import jax.numpy as jnp
    import numpy as np

    global _OPTAX_EPOCH
    if _OPTAX_EPOCH is None:
        _OPTAX_EPOCH = eqx.filter_jit(_optax_epoch_impl)
    Xtr, ytr = data[0], data[1]
    n = int(Xtr.shape[0])
    bs = min(int(batch_size), n)
    nb = n // bs
    opt_state = eqx.filter_jit(opt.init)(eqx.filter(model, eqx.is_inexact_array))
    if on_epoch is not None:
        on_epoch(0, model, opt_state, float("nan"))
    loss = float("nan")
    rng = np.random.default_rng(seed)
    for e in range(1, epochs + 1):
        idx = jnp.asarray(rng.permutation(n)[: nb * bs].reshape(nb, bs))
        model, opt_state, ce = _OPTAX_EPOCH(model, opt_state, Xtr, ytr, idx, opt)
        loss = float(ce)
        if not math.isfinite(loss):
            raise FloatingPointError(f"training diverged at epoch {e} (batch {bs})")
        if on_epoch is not None:
            on_epoch(e, model, opt_state, loss)
    return model, opt_state, loss


def accuracy(model, X, y) -> float:
    import jax
    import jax.numpy as jnp

    return float(jnp.mean(jnp.argmax(jax.vmap(model)(X), -1) == y))


# ------------------------------------------------------------------------------------------
# Checks: expected against obtained
# ------------------------------------------------------------------------------------------

KINDS = ("approx", "min", "max", "one_of")


def _lookup(results: Mapping[str, Any], path: str) -> Any:
    cur: Any = results
    for k in path.split("."):
        if isinstance(cur, Mapping) and k in cur:
            cur = cur[k]
        else:
            raise KeyError(f"no value at {path!r} in the results (missing {k!r})")
    return cur


def evaluate_checks(
    expected: Mapping[str, Any], results: Mapping[str, Any], mode: str
) -> list[dict]:
    """Compare each check of ``expected["checks"]`` with the obtained value.

    A check: ``{"part", "value" (dotted path in the results), "what", "kind", "<mode>":
    {"expected", "tol"}}``. Kinds: ``approx`` (|obtained − expected| <= tol), ``min``
    (obtained >= expected − tol), ``max`` (obtained <= expected + tol), ``one_of`` (obtained in
    the list ``expected``). Checks of parts not run are reported as ``not run``.
    """
    rows = []
    for name, chk in expected["checks"].items():
        kind = chk["kind"]
        if kind not in KINDS:
            raise ValueError(f"check {name!r}: kind must be one of {KINDS}, got {kind!r}")
        spec = chk.get(mode)
        row = {
            "name": name,
            "part": chk["part"],
            "what": chk["what"],
            "kind": kind,
            "expected": None if spec is None else spec["expected"],
            "tol": None if spec is None else spec.get("tol", 0.0),
            "obtained": None,
            "status": "not run",
        }
        if spec is None:
            row["status"] = "no expectation in this mode"
            rows.append(row)
            continue
        if chk["part"] not in results:
            rows.append(row)
            continue
        try:
            val = _lookup(results, chk["value"])
        except KeyError as err:
            row["status"] = f"missing: {err}"
            rows.append(row)
            continue
        row["obtained"] = val
        exp, tol = spec["expected"], float(spec.get("tol", 0.0))
        if kind == "one_of":
            ok = val in exp
        elif val is None or not isinstance(val, (int, float)) or not math.isfinite(val):
            ok = False
        elif kind == "approx":
            ok = abs(val - exp) <= tol
        elif kind == "min":
            ok = val >= exp - tol
        else:
            ok = val <= exp + tol
        row["status"] = "pass" if ok else "FAIL"
        rows.append(row)
    return rows


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"
    if isinstance(v, list):
        return ", ".join(_fmt(x) for x in v)
    return "–" if v is None else str(v)


def _criterion(r: Mapping[str, Any]) -> str:
    k, e, t = r["kind"], r["expected"], r["tol"]
    if e is None:
        return "–"
    if k == "approx":
        return f"{_fmt(e)} ± {_fmt(t)}"
    if k == "min":
        return f"≥ {_fmt(e - t if t else e)}"
    if k == "max":
        return f"≤ {_fmt(e + t if t else e)}"
    return "one of: " + _fmt(e)


def checks_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A markdown table: check, what, expected (criterion), obtained, status."""
    return markdown_table(
        ["check", "what", "expected", "obtained", "status"],
        [(r["name"], r["what"], _criterion(r), _fmt(r["obtained"]), r["status"]) for r in rows],
    )


def write_results(
    folder: Path,
    paper: str,
    mode: str,
    seed: int,
    expected: Mapping[str, Any],
    results: Mapping[str, Any],
    *,
    extra_md: str = "",
    sizes: Mapping[str, Any] | None = None,
) -> list[dict]:
    """Evaluate the checks and write ``results.json``, ``results.md`` and the sidecar."""
    rows = evaluate_checks(expected, results, mode)
    summary = {
        "paper": paper,
        "title": expected.get("title", paper),
        "mode": mode,
        "seed": seed,
        "checks": rows,
        "num_pass": sum(r["status"] == "pass" for r in rows),
        "num_fail": sum(r["status"] == "FAIL" for r in rows),
        "num_not_run": sum(r["status"] not in ("pass", "FAIL") for r in rows),
        "seconds": {k: v.get("seconds") for k, v in results.items() if isinstance(v, Mapping)},
    }
    dump_json(folder / "results.json", summary)
    md = (
        f"# {expected.get('title', paper)}: {mode} run (seed {seed})\n\n"
        + checks_table(rows)
        + ("\n" + extra_md if extra_md else "")
    )
    write_text(folder / "results.md", md)
    write_sidecar(
        folder / "results.meta.json",
        seed=seed,
        sizes=dict(sizes or {}),
        paper=paper,
        mode=mode,
        script=f"python -m paper_repro {paper} --{mode}",
    )
    return rows


def save_figure(fig, folder: Path, name: str = "figure") -> Path:
    """Write ``<folder>/<name>.png`` and ``.pdf`` (the gallery shows the PNG)."""
    import matplotlib.pyplot as plt

    for ext in ("png", "pdf"):
        fig.savefig(folder / f"{name}.{ext}", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return folder / f"{name}.png"


def pyplot():
    """matplotlib's pyplot on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def load_expected(paper_dir: Path) -> dict:
    return json.loads((paper_dir / "expected.json").read_text())


def finish(rows: Sequence[Mapping[str, Any]], folder: Path) -> int:
    """Print the table; exit status 1 if a check failed."""
    print(checks_table(rows))
    failed = [r["name"] for r in rows if r["status"] == "FAIL"]
    print(f"results: {folder / 'results.md'}")
    if failed:
        print(f"FAILED checks: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
