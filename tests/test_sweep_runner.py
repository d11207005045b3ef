"""htrmt.sweep: vmap == loop, resumption after SIGKILL, refusal of a mismatched folder,
sharding over 4 forced host devices, atomic writes, metadata."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jax
import numpy as np
import pytest

import htrmt as ht
from htrmt import sweep

ROOT = Path(__file__).resolve().parents[1]


def trial_fn(key, *, mu, M):
    """A small trial with a static size M and a traced float mu."""
    k1, k2 = jax.random.split(key)
    W = ht.ensembles.pareto(k1, (2 * M, M), mu=mu)
    lam = ht.esd(W)
    return {"lam_max": lam[-1], "stats": (lam.mean(), jax.random.normal(k2) * mu), "lam": lam}


GRID = {"mu": [2.5, 3.5], "M": [8, 12]}


def test_expand_grid_and_keys():
    pts = sweep.expand_grid(GRID)
    assert pts == [
        {"mu": 2.5, "M": 8},
        {"mu": 2.5, "M": 12},
        {"mu": 3.5, "M": 8},
        {"mu": 3.5, "M": 12},
    ]
    assert sweep.expand_grid([{"a": 1}, {"a": np.int64(2)}]) == [{"a": 1}, {"a": 2}]
    # the key of a point depends on its values only, not on the order of the grid
    k = jax.random.key(3)
    a = sweep.point_key(k, {"mu": 2.5, "M": 8})
    b = sweep.point_key(k, {"M": 8, "mu": 2.5})
    c = sweep.point_key(k, {"M": 8, "mu": 3.5})
    assert np.array_equal(jax.random.key_data(a), jax.random.key_data(b))
    assert not np.array_equal(jax.random.key_data(a), jax.random.key_data(c))
    with pytest.raises(ValueError, match="twice"):
        sweep.expand_grid([{"a": 1}, {"a": 1}])
    with pytest.raises(ValueError, match="empty"):
        sweep.expand_grid({"a": []})
    with pytest.raises(TypeError, match="list of values"):
        sweep.expand_grid({"a": 1.0})
    with pytest.raises(ValueError, match="same parameters"):
        sweep.expand_grid([{"a": 1}, {"b": 1}])
    with pytest.raises(TypeError, match="grid values"):
        sweep.expand_grid({"a": [object()]})


def test_key_collision_warns(tmp_path, key):
    # {"a": 37458} and {"a": 46323} have the same 31-bit fold value (found by a birthday search)
    def cheap(key, *, a):
        return {"x": jax.random.normal(key, (2,))}

    with pytest.warns(UserWarning, match="same random keys"):
        res = sweep.run(
            key, cheap, {"a": [37458, 46323]}, trials=5, out=tmp_path / "s", progress=False
        )
    np.testing.assert_array_equal(res.data[0]["x"], res.data[1]["x"])


def test_vmap_equals_loop_of_single_trials(tmp_path, key):
    res = sweep.run(key, trial_fn, GRID, trials=5, out=tmp_path / "s", progress=False)
    assert res.complete and len(res) == 4
    assert sorted(res.names) == ["lam", "lam_max", "stats.0", "stats.1"]
    assert res.stack("lam_max").shape == (4, 5)
    for p, d in zip(res.points, res.data, strict=True):
        ks = sweep.trial_keys(key, p, 5)
        single = jax.jit(trial_fn, static_argnames="M")  # one trial at a time, no vmap
        for i in range(5):
            one = single(ks[i], **p)
            np.testing.assert_allclose(d["lam"][i], one["lam"], rtol=1e-10)
            np.testing.assert_allclose(d["lam_max"][i], one["lam_max"], rtol=1e-10)
            np.testing.assert_allclose(d["stats.1"][i], one["stats"][1], rtol=1e-12)
        assert d["lam"].shape == (5, p["M"])
        assert d["lam"].dtype == np.float64  # x64 on in the tests: dtype follows the flag
    # shapes differ across M: stack refuses, per-point access works
    with pytest.raises(ValueError, match="different shapes"):
        res.stack("lam")
    with pytest.raises(KeyError, match="no output named"):
        res.stack("nope")


def test_chunking_and_static_do_not_change_results(tmp_path, key):
    a = sweep.run(key, trial_fn, GRID, trials=5, out=tmp_path / "a", progress=False)
    b = sweep.run(key, trial_fn, GRID, trials=5, out=tmp_path / "b", chunk_size=2, progress=False)
    for da, db in zip(a.data, b.data, strict=True):
        for n in da:
            np.testing.assert_allclose(da[n], db[n], rtol=1e-10)

    def cheap(key, *, a, n):
        return {"x": jax.random.normal(key, (n,)) * a}

    g = {"a": [0.5, 2.0], "n": [3]}
    c = sweep.run(key, cheap, g, trials=5, out=tmp_path / "c", progress=False)
    d = sweep.run(key, cheap, g, trials=5, out=tmp_path / "d", static=("a", "n"), progress=False)
    for dc, dd in zip(c.data, d.data, strict=True):
        np.testing.assert_allclose(dc["x"], dd["x"], rtol=1e-14)


def test_table_and_pandas(tmp_path, key):
    res = sweep.run(key, trial_fn, GRID, trials=5, out=tmp_path / "s", progress=False)
    t = res.table()
    assert set(t) == {"mu", "M", "trial", "lam_max", "stats.0", "stats.1"}  # "lam" is not scalar
    assert len(t["trial"]) == 20
    np.testing.assert_array_equal(t["lam_max"], res.stack("lam_max").ravel())
    np.testing.assert_array_equal(res.params("M"), [8, 12, 8, 12])
    pd = pytest.importorskip("pandas")
    df = res.to_pandas()
    assert isinstance(df, pd.DataFrame) and df.shape == (20, 6)


def test_mismatched_folder_is_refused(tmp_path, key):
    out = tmp_path / "s"
    sweep.run(key, trial_fn, GRID, trials=5, out=out, progress=False)
    cases = [
        (dict(key=key, grid={"mu": [2.5, 3.0], "M": [8, 12]}, trials=5), "grid"),
        (dict(key=jax.random.key(1), grid=GRID, trials=5), "key"),
        (dict(key=key, grid=GRID, trials=3), "trials"),
        (dict(key=key, grid=GRID, trials=5, name="other.fn"), "fn"),
    ]
    for kw, what in cases:
        kw = dict(kw)
        k = kw.pop("key")
        g = kw.pop("grid")
        with pytest.raises(sweep.SweepMismatchError) as err:
            sweep.run(k, trial_fn, g, out=out, progress=False, **kw)
        msg = str(err.value)
        assert str(out) in msg and f"{what}:" in msg, msg
    # a non-empty folder without a sidecar is refused too
    other = tmp_path / "other"
    other.mkdir()
    (other / "results.csv").write_text("x\n")
    with pytest.raises(sweep.SweepMismatchError, match="not empty"):
        sweep.run(key, trial_fn, GRID, trials=2, out=other, progress=False)
    # the refused calls did not touch the folder's results
    assert sweep.load(out).complete


def test_bad_arguments(tmp_path, key):
    with pytest.raises(TypeError, match="trials"):
        sweep.run(key, trial_fn, GRID, trials=2.0, out=tmp_path / "a")
    with pytest.raises(ValueError, match="trials"):
        sweep.run(key, trial_fn, GRID, trials=0, out=tmp_path / "a")
    with pytest.raises(ValueError, match="static"):
        sweep.run(key, trial_fn, GRID, trials=2, out=tmp_path / "a", static=("N",))
    with pytest.raises(TypeError, match="key"):
        sweep.run(0, trial_fn, GRID, trials=2, out=tmp_path / "a")
    with pytest.raises(TypeError, match="must be static"):
        sweep.run(key, lambda k, *, s: k, {"s": ["a"]}, trials=2, out=tmp_path / "b", static=())
    with pytest.raises(ValueError, match="devices"):
        sweep.run(key, trial_fn, GRID, trials=2, out=tmp_path / "c", devices=999)
    with pytest.raises(FileNotFoundError):
        sweep.load(tmp_path / "nowhere")


def test_metadata_contents(tmp_path, key):
    out = tmp_path / "s"
    sweep.run(key, trial_fn, GRID, trials=5, out=out, progress=False, meta={"seed": 7, "note": "x"})
    sweep.run(key, trial_fn, GRID, trials=5, out=out, progress=False)  # a second, empty run
    meta = json.loads((out / "sweep.json").read_text())
    fp = meta["fingerprint"]
    assert fp["fn"].endswith("trial_fn")
    assert fp["trials"] == 5 and fp["x64"] is True
    assert fp["grid"] == sweep.expand_grid(GRID)
    assert fp["key"] == np.asarray(jax.random.key_data(key)).tolist()
    assert meta["axes"] == {"mu": [2.5, 3.5], "M": [8, 12]}
    assert meta["meta"] == {"seed": 7, "note": "x"}
    env = meta["environment"]
    assert env["jax"] == jax.__version__ and env["numpy"] == np.__version__
    assert env["device_count"] == len(jax.devices()) and len(env["devices"]) == env["device_count"]
    assert env["x64"] is True and "commit" in env["git"]
    assert meta["complete"] is True
    assert [r["computed"] for r in meta["runs"]] == [4, 0]
    rows = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    assert [r["i"] for r in rows] == [0, 1, 2, 3]
    assert meta["fn_source_sha256"] is not None


def test_cli_status_and_csv(tmp_path, key, capsys):
    from htrmt.cli import main

    out = tmp_path / "s"
    sweep.run(key, trial_fn, GRID, trials=5, out=out, progress=False)
    assert main(["sweep", str(out), "--csv", str(tmp_path / "t.csv")]) == 0
    text = capsys.readouterr().out
    assert "complete     : 4/4 points" in text and "trial_fn" in text
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0].split(",")[:3] == ["mu", "M", "trial"] and len(lines) == 1 + 20
    assert main(["sweep", str(tmp_path / "nowhere")]) == 2


def test_atomic_writes_leave_no_partial_files(tmp_path, key, monkeypatch):
    # a write that dies half-way leaves the old file intact and no visible new file
    target = tmp_path / "f.bin"
    sweep.atomic_write_bytes(target, b"old")

    def dying_writer(f):
        f.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep.atomic_write_bytes(target, writer=dying_writer)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]

    # a sweep whose third point fails mid-write: two complete points, nothing partial,
    # and the rerun completes the rest with the same numbers as a clean run
    out = tmp_path / "s"
    from htrmt.sweep import _runner

    real = _runner.atomic_write_bytes
    calls = {"n": 0}

    def flaky(path, data=None, *, writer=None):
        if str(path).endswith(".npz"):
            calls["n"] += 1
            if calls["n"] == 3:
                return real(path, writer=dying_writer)
        return real(path, data, writer=writer)

    monkeypatch.setattr(_runner, "atomic_write_bytes", flaky)
    with pytest.raises(KeyboardInterrupt):
        sweep.run(key, trial_fn, GRID, trials=5, out=out, progress=False)
    monkeypatch.setattr(_runner, "atomic_write_bytes", real)
    names = sorted(p.name for p in (out / "points").iterdir())
    assert len(names) == 2 and all(n.endswith(".npz") and not n.startswith(".") for n in names)
    part = sweep.load(out)
    assert len(part) == 2 and len(part.missing) == 2 and not part.complete
    full = sweep.run(key, trial_fn, GRID, trials=5, out=out, progress=False)
    clean = sweep.run(key, trial_fn, GRID, trials=5, out=tmp_path / "clean", progress=False)
    for a, b in zip(full.data, clean.data, strict=True):
        for n in a:
            np.testing.assert_array_equal(a[n], b[n])


def test_index_repair_after_partial_line(tmp_path, key):
    out = tmp_path / "s"
    sweep.run(key, trial_fn, {"mu": [2.5], "M": [8, 12]}, trials=5, out=out, progress=False)
    idx = out / "index.jsonl"
    lines = idx.read_text().splitlines()
    # simulate: point 2's npz written, its index line cut mid-write
    idx.write_text(lines[0] + "\n" + lines[1][:10])
    res = sweep.run(key, trial_fn, {"mu": [2.5], "M": [8, 12]}, trials=5, out=out, progress=False)
    rows = [json.loads(line) for line in idx.read_text().splitlines()]
    assert sorted(r["i"] for r in rows) == [0, 1] and rows[1].get("recovered") is True
    assert res.complete


# --- subprocess tests: SIGKILL and forced host devices --------------------------------------

WORKER = textwrap.dedent(
    """
    import os, sys, time
    import jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    from htrmt import sweep

    def slow_trial(key, *, a, n):
        def nap(x):
            time.sleep(float(os.environ.get("NAP", "0")))
            return x
        x = jax.random.normal(key, (n,)) * a
        x = jax.pure_callback(nap, jax.ShapeDtypeStruct(x.shape, x.dtype), x,
                              vmap_method="broadcast_all")
        return {"x": x, "s": jnp.sort(x)[-1]}

    out = sys.argv[1]
    res = sweep.run(jax.random.key(11), slow_trial, {"a": [0.5, 1.0, 1.5, 2.0], "n": [3, 5, 7]},
                    trials=int(os.environ.get("TRIALS", "6")), out=out, progress=False,
                    chunk_size=int(os.environ.get("CHUNK", "0")) or None)
    print("DEVICES", len(jax.devices()), "COMPUTED", res.meta["runs"][-1]["computed"], flush=True)
    """
)


def _env(**extra):
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _run_worker(script, out, **extra):
    p = subprocess.run(
        [sys.executable, str(script), str(out)],
        env=_env(**extra),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


def test_resume_after_sigkill(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(out)],
        env=_env(NAP="0.4"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    idx = out / "index.jsonl"
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            if idx.exists() and len(idx.read_text().splitlines()) >= 3:
                break
            if proc.poll() is not None:
                pytest.fail(
                    "worker finished before it could be killed: "
                    + proc.stderr.read().decode()[-2000:]
                )
            time.sleep(0.05)
        else:
            pytest.fail("worker made no progress")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    before = [json.loads(line) for line in idx.read_text().splitlines() if line.endswith("}")]
    done_before = len(list((out / "points").glob("*.npz")))
    assert 3 <= done_before < 12

    stdout = _run_worker(script, out)
    computed = int(stdout.split("COMPUTED")[1].split()[0])
    assert computed == 12 - done_before  # nothing computed twice, nothing lost

    rows = [json.loads(line) for line in idx.read_text().splitlines()]
    assert sorted(r["i"] for r in rows) == list(range(12))  # each point exactly once
    assert all(r in rows for r in before)  # the index is append-only
    assert len(list((out / "points").glob("*.npz"))) == 12
    assert not [p for p in (out / "points").iterdir() if p.name.startswith(".tmp-")]

    _run_worker(script, tmp_path / "clean")
    a, b = sweep.load(out), sweep.load(tmp_path / "clean")
    assert a.complete and b.complete
    for da, db in zip(a.data, b.data, strict=True):
        for n in da:
            np.testing.assert_array_equal(da[n], db[n])


def test_sharded_over_four_host_devices_matches_one(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    flags = "--xla_force_host_platform_device_count=4"
    # 6 trials with chunks of 5 -> chunks padded to 8 for 4 devices; the pad must be dropped
    s4 = _run_worker(script, tmp_path / "four", XLA_FLAGS=flags, CHUNK="5")
    s1 = _run_worker(script, tmp_path / "one")
    assert "DEVICES 4" in s4 and "DEVICES 1" in s1
    meta = json.loads((tmp_path / "four" / "sweep.json").read_text())
    assert meta["environment"]["device_count"] == 4
    assert len(meta["runs"][0]["devices"]) == 4 and meta["runs"][0]["chunk_size"] == 8
    a, b = sweep.load(tmp_path / "four"), sweep.load(tmp_path / "one")
    assert a.complete and b.complete
    for da, db in zip(a.data, b.data, strict=True):
        assert da["x"].shape == db["x"].shape
        for n in da:
            np.testing.assert_allclose(da[n], db[n], rtol=1e-12)
