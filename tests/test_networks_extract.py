"""Weight extraction: every framework gives exactly the expected matrices, shapes, orientation."""

import pickle

import equinox as eqx
import jax
import numpy as np
import pytest

import htrmt as ht
from htrmt.networks import extract


def _names(ext):
    return [layer.name for layer in ext.layers]


def test_equinox_mlp_names_shapes_orientation():
    mlp = eqx.nn.MLP(8, 3, 16, 2, key=jax.random.key(0))
    ext = extract(mlp)
    assert ext.framework == "equinox"
    assert _names(ext) == ["layers.0.weight", "layers.1.weight", "layers.2.weight"]
    assert [layer.shape for layer in ext.layers] == [(16, 8), (16, 16), (3, 16)]
    for layer, lin in zip(ext.layers, mlp.layers, strict=True):
        np.testing.assert_array_equal(layer.matrices[0], np.asarray(lin.weight))
        assert layer.kind == "linear" and layer.num_slices == 1
    assert [s.name for s in ext.skipped] == ["layers.0.bias", "layers.1.bias", "layers.2.bias"]
    assert all(s.reason == "bias" for s in ext.skipped)


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_equinox_conv_slices_and_flatten(dims):
    k = (3, 2, 2)[:dims]
    conv = eqx.nn.Conv(dims, 4, 6, k, key=jax.random.key(1))
    w = np.asarray(conv.weight)  # (out, in, *k)
    ext = extract({"c": conv} if False else [conv])
    (layer,) = ext.layers
    assert layer.kind == f"conv{dims}d" and layer.name == "0.weight"
    assert layer.matrices.shape == (int(np.prod(k)), 6, 4)
    # slice s is the kernel at spatial position s (C order over the kernel axes)
    for s, pos in enumerate(np.ndindex(*k)):
        np.testing.assert_array_equal(layer.matrices[s], w[(slice(None), slice(None), *pos)])
    (flat,) = extract([conv], conv="flatten").layers
    assert flat.matrices.shape == (1, 6, 4 * int(np.prod(k)))
    np.testing.assert_array_equal(flat.matrices[0], w.reshape(6, -1))
    assert extract([conv]).skipped[0].reason == "bias"


def test_equinox_conv_transpose_embedding_attention_norm():
    key = jax.random.split(jax.random.key(2), 4)
    model = {
        "up": eqx.nn.ConvTranspose2d(3, 5, (2, 2), key=key[0]),
        "emb": eqx.nn.Embedding(50, 8, key=key[1]),
        "att": eqx.nn.MultiheadAttention(2, 8, key=key[2]),
        "norm": eqx.nn.LayerNorm(8),
    }
    ext = extract(model)
    kinds = {layer.name: (layer.kind, layer.matrices.shape) for layer in ext.layers}
    assert kinds == {
        "att.query_proj.weight": ("attention", (1, 8, 8)),
        "att.key_proj.weight": ("attention", (1, 8, 8)),
        "att.value_proj.weight": ("attention", (1, 8, 8)),
        "att.output_proj.weight": ("attention", (1, 8, 8)),
        "emb.weight": ("embedding", (1, 50, 8)),
        "up.weight": ("conv_transpose2d", (4, 5, 3)),
    }
    np.testing.assert_array_equal(ext["emb.weight"].matrices[0], np.asarray(model["emb"].weight))
    skipped = {s.name: s.reason for s in ext.skipped}
    assert skipped["norm.weight"].startswith("1-D") and skipped["norm.bias"] == "bias"


@pytest.mark.parametrize("cell, gates", [("LSTMCell", "ifgo"), ("GRUCell", "rzn")])
def test_equinox_recurrent_cells_split_into_gates(cell, gates):
    c = getattr(eqx.nn, cell)(3, 5, key=jax.random.key(3))
    ext = extract(c)
    expected = [f"weight_ih[{g}]" for g in gates] + [f"weight_hh[{g}]" for g in gates]
    assert _names(ext) == expected
    wih = np.asarray(c.weight_ih)
    for i, g in enumerate(gates):
        np.testing.assert_array_equal(ext[f"weight_ih[{g}]"].matrices[0], wih[5 * i : 5 * (i + 1)])
        assert ext[f"weight_hh[{g}]"].shape == (5, 5)


def test_flax_nnx_kernels_transposed():
    nnx = pytest.importorskip("flax.nnx")
    rngs = nnx.Rngs(0)

    class Net(nnx.Module):
        def __init__(self):
            self.dense = nnx.Linear(3, 5, rngs=rngs)
            self.conv = nnx.Conv(3, 4, (2, 2), rngs=rngs)
            self.emb = nnx.Embed(10, 4, rngs=rngs)
            self.att = nnx.MultiHeadAttention(
                num_heads=2, in_features=8, qkv_features=8, decode=False, rngs=rngs
            )
            self.gru = nnx.GRUCell(3, 4, rngs=rngs)
            self.norm = nnx.LayerNorm(5, rngs=rngs)

    net = Net()
    ext = extract(net)
    assert ext.framework == "flax.nnx"
    # nnx.Linear kernel is (in, out) = (3, 5): extracted as (out, in)
    np.testing.assert_array_equal(ext["dense.kernel"].matrices[0], np.asarray(net.dense.kernel).T)
    # conv kernel (kh, kw, in, out): slice (i, j) is kernel[i, j].T
    conv = ext["conv.kernel"]
    assert conv.kind == "conv2d" and conv.matrices.shape == (4, 4, 3)
    np.testing.assert_array_equal(conv.matrices[1], np.asarray(net.conv.kernel)[0, 1].T)
    assert ext["emb.embedding"].shape == (10, 4)
    q = ext["att.query.kernel"]  # (in, heads, head_dim) = (8, 2, 4) -> (8, 8)
    assert q.kind == "attention" and q.shape == (8, 8)
    np.testing.assert_array_equal(q.matrices[0], np.asarray(net.att.query.kernel).reshape(8, 8).T)
    assert ext["att.out.kernel"].shape == (8, 8)
    assert [n for n in _names(ext) if n.startswith("gru.dense_i")] == [
        "gru.dense_i.kernel[r]",
        "gru.dense_i.kernel[z]",
        "gru.dense_i.kernel[n]",
    ]
    assert {s.name for s in ext.skipped} >= {"dense.bias", "norm.scale", "norm.bias"}


def test_flax_linen_params():
    linen = pytest.importorskip("flax.linen")
    import jax.numpy as jnp

    class Net(linen.Module):
        @linen.compact
        def __call__(self, x):
            h = linen.Conv(4, (3, 3))(x)
            h = h.reshape(h.shape[0], -1)
            h = linen.Dense(7)(h)
            return linen.LayerNorm()(h)

    variables = Net().init(jax.random.key(0), jnp.ones((1, 5, 5, 2), jnp.float32))
    ext = extract(variables)
    assert ext.framework == "flax.linen"
    assert _names(ext) == ["Conv_0.kernel", "Dense_0.kernel"]
    kernel = np.asarray(variables["params"]["Dense_0"]["kernel"])  # (in, out) = (100, 7)
    np.testing.assert_array_equal(ext["Dense_0.kernel"].matrices[0], kernel.T)
    assert ext["Conv_0.kernel"].matrices.shape == (9, 4, 2)
    assert {s.name for s in ext.skipped} == {
        "Conv_0.bias",
        "Dense_0.bias",
        "LayerNorm_0.scale",
        "LayerNorm_0.bias",
    }


def _state_dict(rng):
    return {
        "enc.0.weight": rng.standard_normal((6, 4)).astype(np.float32),
        "enc.0.bias": np.zeros(6, np.float32),
        "conv.weight": rng.standard_normal((5, 3, 2, 2)).astype(np.float32),
        "norm.weight": np.ones(6, np.float32),
        "steps": np.arange(3),
    }


def _check_state_dict(ext, sd, ordered=True):
    names = _names(ext) if ordered else sorted(_names(ext), reverse=True)
    assert names == ["enc.0.weight", "conv.weight"]
    np.testing.assert_array_equal(ext["enc.0.weight"].matrices[0], sd["enc.0.weight"])
    assert ext["conv.weight"].matrices.shape == (4, 5, 3)
    np.testing.assert_array_equal(ext["conv.weight"].matrices[3], sd["conv.weight"][:, :, 1, 1])
    reasons = {s.name: s.reason for s in ext.skipped}
    assert reasons["enc.0.bias"] == "bias"
    assert reasons["norm.weight"].startswith("1-D")
    assert reasons["steps"].startswith("not a float")


def test_dict_npz_safetensors(tmp_path):
    sd = _state_dict(np.random.default_rng(0))
    _check_state_dict(extract(sd), sd)
    np.savez(tmp_path / "w.npz", **sd)
    ext = extract(tmp_path / "w.npz")
    assert ext.framework == "npz"
    _check_state_dict(ext, sd)
    st = pytest.importorskip("safetensors.numpy")
    st.save_file(sd, str(tmp_path / "w.safetensors"))
    ext = extract(str(tmp_path / "w.safetensors"))
    assert ext.framework == "safetensors"
    _check_state_dict(ext, sd, ordered=False)  # safetensors stores names sorted


def test_torch_state_dict_file_and_module(tmp_path):
    torch = pytest.importorskip("torch")
    sd = _state_dict(np.random.default_rng(1))
    tsd = {k: torch.from_numpy(v) for k, v in sd.items()}
    _check_state_dict(extract(tsd), sd)
    torch.save(tsd, tmp_path / "w.pt")
    ext = extract(tmp_path / "w.pt")
    assert ext.framework == "torch"
    _check_state_dict(ext, sd)

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Embedding(20, 6),
        torch.nn.LSTM(6, 4),
        torch.nn.Conv1d(3, 5, 3),
        torch.nn.Linear(6, 2),
    )
    ext = extract(model)
    assert _names(ext) == (
        ["0.weight"]
        + [f"1.weight_ih_l0[{g}]" for g in "ifgo"]
        + [f"1.weight_hh_l0[{g}]" for g in "ifgo"]
        + ["2.weight", "3.weight"]
    )
    assert ext["0.weight"].kind == "embedding"
    assert ext["1.weight_ih_l0[f]"].shape == (4, 6)
    np.testing.assert_array_equal(
        ext["1.weight_ih_l0[f]"].matrices[0], model[1].weight_ih_l0.detach().numpy()[4:8]
    )
    assert ext["2.weight"].kind == "conv1d" and ext["2.weight"].matrices.shape == (3, 5, 3)


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        extract(tmp_path / "missing.npz")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="not a model file"):
        extract(tmp_path / "notes.txt")
    (tmp_path / "fake.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable .npz"):
        extract(tmp_path / "fake.npz")
    np.savez(tmp_path / "vec.npz", bias=np.zeros(5), scale=np.ones(3))
    with pytest.raises(ValueError, match="no 2-D weight matrices"):
        extract(tmp_path / "vec.npz")
    # an object array needs pickle: refused
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    np.savez(tmp_path / "obj.npz", w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="not a readable .npz"):
        extract(tmp_path / "obj.npz")
    with pytest.raises(ValueError, match="conv must be one of"):
        extract({"w": np.ones((3, 3))}, conv="fold")
    with pytest.raises(TypeError, match="model must be"):
        extract(42)


def test_torch_file_with_pickled_object_is_refused(tmp_path):
    pytest.importorskip("torch")
    with open(tmp_path / "evil.pt", "wb") as fh:
        pickle.dump({"w": _Evil()}, fh)
    with pytest.raises(ValueError, match="weights_only=True"):
        extract(tmp_path / "evil.pt")


def test_default_model_extracts():
    model = ht.networks.default_model()
    ext = extract(model)
    assert _names(ext) == ["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "fc3.weight"]
    assert [layer.matrices.shape for layer in ext.layers] == [
        (9, 16, 1),
        (9, 32, 16),
        (1, 256, 512),
        (1, 128, 256),
        (1, 10, 128),
    ]
    assert ht.networks.default_model_path().stat().st_size <= 2 * 1024 * 1024
