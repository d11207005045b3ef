"""htrmt.sweep over several processes: the grid split by point index, one shared folder.

Fast: processes without a coordinator (explicit ``num_processes``/``process_id``) run one
after the other in this process, their merged folder equal to a one-process run, resumable
per process. Slow: two processes of one ``jax.distributed`` job on CPU, started from the
``htrmt sweep`` command, equal to a one-process run; two independent processes at once, one
killed with SIGKILL and run again, complete every point once.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

from htrmt import sweep

ROOT = Path(__file__).resolve().parents[1]
GRID = {"a": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0], "n": [3]}  # one static size: one compilation


def trial(key, *, a, n):
    k1, k2 = jax.random.split(key)
    return {"x": jax.random.normal(k1, (n,)) * a, "u": jax.random.uniform(k2)}


def _assert_same(a, b):
    assert a.complete and b.complete and a.points == b.points
    for da, db in zip(a.data, b.data, strict=True):
        assert sorted(da) == sorted(db)
        for name in da:
            np.testing.assert_array_equal(da[name], db[name])


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_split_without_coordinator_equals_one_process(tmp_path, key):
    out = tmp_path / "two"
    first = sweep.run(key, trial, GRID, trials=4, out=out, num_processes=2, process_id=0,
                      progress=False)  # fmt: skip
    # process 0 computed the even positions only, and the folder is not complete yet
    assert [p for p in first.points] == [sweep.expand_grid(GRID)[i] for i in (0, 2, 4)]
    assert not first.complete
    assert json.loads((out / "sweep.json").read_text())["complete"] is False
    second = sweep.run(key, trial, GRID, trials=4, out=out, num_processes=2, process_id=1,
                       progress=False)  # fmt: skip
    one = sweep.run(key, trial, GRID, trials=4, out=tmp_path / "one", progress=False)
    _assert_same(second, one)
    # each process logs to its own index file; read together they hold each point once
    assert [r["i"] for r in _rows(out / "index.jsonl")] == [0, 2, 4]
    assert [r["i"] for r in _rows(out / "index-p1.jsonl")] == [1, 3, 5]
    from htrmt.sweep._store import read_index

    assert sorted(r["i"] for r in read_index(out)) == list(range(6))
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["complete"] is True
    assert [(r["process"], r["processes"], r["computed"]) for r in meta["runs"]] == [
        (0, 2, 3),
        (1, 2, 3),
    ]
    # a rerun with one process finds every point done
    again = sweep.run(key, trial, GRID, trials=4, out=out, progress=False)
    assert again.meta["runs"][-1]["computed"] == 0


def test_repair_touches_only_this_process_share(tmp_path, key):
    out = tmp_path / "s"
    for pid in (0, 1):
        sweep.run(key, trial, GRID, trials=4, out=out, num_processes=2, process_id=pid,
                  progress=False)  # fmt: skip
    pts = sweep.expand_grid(GRID)
    from htrmt.sweep._store import point_file

    # as if process 1 was killed: point 5 written but its index line cut; point 3 lost;
    # a temp file of each process left behind
    idx1 = out / "index-p1.jsonl"
    lines = idx1.read_text().splitlines()
    idx1.write_text(lines[0] + "\n" + lines[1][:7])
    (out / "points" / point_file(pts[3])).unlink()
    tmp0 = out / "points" / f".tmp-{point_file(pts[0])}-abc123"
    tmp1 = out / "points" / f".tmp-{point_file(pts[3])}-def456"
    tmp0.write_bytes(b"x")
    tmp1.write_bytes(b"x")
    # process 0 repairs nothing of process 1's (its point 5 and its temp file stay as they are)
    r0 = sweep.run(key, trial, GRID, trials=4, out=out, num_processes=2, process_id=0,
                   progress=False)  # fmt: skip
    assert r0.meta["runs"][-1]["computed"] == 0 and not r0.complete
    assert not tmp0.exists() and tmp1.exists()
    assert idx1.read_text() == lines[0] + "\n" + lines[1][:7]
    # process 1 repairs its own: the partial line dropped, point 5 recovered, point 3 redone
    r1 = sweep.run(key, trial, GRID, trials=4, out=out, num_processes=2, process_id=1,
                   progress=False)  # fmt: skip
    assert r1.meta["runs"][-1]["computed"] == 1 and r1.complete and not tmp1.exists()
    rows = _rows(idx1)
    assert [r["i"] for r in rows] == [1, 5, 3] and rows[1].get("recovered") is True
    _assert_same(r1, sweep.run(key, trial, GRID, trials=4, out=tmp_path / "one", progress=False))


def test_process_arguments_are_checked(tmp_path, key):
    kw = dict(trials=2, out=tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="num_processes and process_id"):
        sweep.run(key, trial, GRID, process_id=1, **kw)
    with pytest.raises(ValueError, match="num_processes and process_id"):
        sweep.run(key, trial, GRID, num_processes=2, **kw)
    with pytest.raises(ValueError, match="process_id must be < num_processes"):
        sweep.run(key, trial, GRID, num_processes=2, process_id=2, **kw)
    with pytest.raises(ValueError, match="num_processes"):
        sweep.run(key, trial, GRID, num_processes=0, process_id=0, **kw)
    with pytest.raises(TypeError, match="process_id"):
        sweep.run(key, trial, GRID, num_processes=2, process_id=1.0, **kw)
    with pytest.raises(TypeError, match="distributed"):
        sweep.run(key, trial, GRID, distributed="yes", **kw)
    with pytest.raises(ValueError, match="contradicts"):
        sweep.run(key, trial, GRID, distributed=False, coordinator_address="localhost:1", **kw)
    # JAX has run in this process: jax.distributed cannot start any more, and says so
    with pytest.raises(RuntimeError, match="before JAX has run"):
        sweep.run(key, trial, GRID, coordinator_address="localhost:1", **kw)
    with pytest.raises(RuntimeError, match="before JAX has run"):
        sweep.run(key, trial, GRID, distributed=True, **kw)
    assert not (tmp_path / "s").exists()  # nothing was written by a refused call


def test_raw_key_data_is_the_key(tmp_path):
    raw = np.array([0, 11], np.uint32)
    a = sweep.run(raw, trial, GRID, trials=4, out=tmp_path / "a", progress=False)
    b = sweep.run(jax.random.key(11), trial, GRID, trials=4, out=tmp_path / "b", progress=False)
    _assert_same(a, b)


def test_cli_flags_need_run(tmp_path, capsys):
    from htrmt.cli import main

    assert main(["sweep", str(tmp_path), "--num-processes", "2"]) == 2
    assert "--num-processes needs --run" in capsys.readouterr().err
    assert main(["sweep", str(tmp_path / "s"), "--run", "nocolon", "--grid", "{}",
                 "--trials", "2"]) == 2  # fmt: skip
    assert "MODULE:FUNCTION" in capsys.readouterr().err


# --- two processes of one jax.distributed job -----------------------------------------------

TRIALS_MODULE = textwrap.dedent(
    """
    import jax

    def trial(key, *, a, n):
        k1, k2 = jax.random.split(key)
        return {"x": jax.random.normal(k1, (n,)) * a, "u": jax.random.uniform(k2)}
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_coordinated_processes_equal_one(tmp_path):
    (tmp_path / "trials_mod.py").write_text(TRIALS_MODULE)
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["HTRMT_COMPILATION_CACHE"] = "0"
    port = _free_port()
    out = tmp_path / "two"
    cmd = [sys.executable, "-m", "htrmt", "sweep", str(out), "--run", "trials_mod:trial",
           "--grid", json.dumps(GRID), "--trials", "4", "--seed", "11", "--x64",
           "--coordinator-address", f"localhost:{port}", "--num-processes", "2"]  # fmt: skip
    procs = [
        subprocess.Popen(
            cmd + ["--process-id", str(i)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (0, 1)
    ]
    try:
        results = [p.communicate(timeout=240) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (stdout, stderr) in zip(procs, results, strict=True):
        assert p.returncode == 0, stderr[-3000:]
        # the coordinator makes each process wait for the other: both see every point
        assert "complete     : 6/6 points" in stdout, stdout
    two = sweep.load(out)
    meta = two.meta
    assert sorted((r["process"], r["computed"], r["coordinated"]) for r in meta["runs"]) == [
        (0, 3, True),
        (1, 3, True),
    ]
    assert meta["environment"]["process_count"] == 2
    one = sweep.run(jax.random.key(11), trial, GRID, trials=4, out=tmp_path / "one",
                    progress=False)  # fmt: skip
    _assert_same(two, one)
    assert meta["fingerprint"]["key"] == one.meta["fingerprint"]["key"]


def test_atomic_write_exports_are_deprecated(tmp_path):
    for name in ("atomic_write_bytes", "atomic_write_json"):
        assert name not in sweep.__all__
        with pytest.warns(DeprecationWarning, match=f"htrmt.sweep.{name} is deprecated"):
            helper = getattr(sweep, name)
        assert helper.__module__ == "htrmt.sweep._meta"
    with pytest.warns(DeprecationWarning):
        sweep.atomic_write_json(tmp_path / "a.json", {"x": 1})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1}
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sweep.nope  # noqa: B018


SLOW_WORKER = textwrap.dedent(
    """
    import os, sys, time
    import jax, numpy as np
    jax.config.update("jax_enable_x64", True)
    from htrmt import sweep

    def trial(key, *, a, n):
        k1, k2 = jax.random.split(key)
        x = jax.random.normal(k1, (n,)) * a
        def nap(x):
            time.sleep(float(os.environ.get("NAP", "0")))
            return x
        x = jax.pure_callback(nap, jax.ShapeDtypeStruct(x.shape, x.dtype), x,
                              vmap_method="broadcast_all")
        return {"x": x, "u": jax.random.uniform(k2)}

    grid = {"a": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0], "n": [3]}
    res = sweep.run(jax.random.key(11), trial, grid, trials=4, out=sys.argv[1], progress=False,
                    num_processes=2, process_id=int(sys.argv[2]))
    print("COMPUTED", res.meta["runs"][-1]["computed"], flush=True)
    """
)


@pytest.mark.slow
def test_independent_processes_resume_after_one_is_killed(tmp_path):
    import signal
    import time

    script = tmp_path / "worker.py"
    script.write_text(SLOW_WORKER)
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = tmp_path / "two"

    def start(pid, nap):
        return subprocess.Popen(
            [sys.executable, str(script), str(out), str(pid)],
            env={**env, "NAP": nap},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    p0, p1 = start(0, "0"), start(1, "0.5")  # both at once; process 1 slow, then killed
    idx1 = out / "index-p1.jsonl"
    try:
        deadline = time.time() + 240
        while time.time() < deadline:
            if idx1.exists() and len(idx1.read_text().splitlines()) >= 1:
                break
            assert p1.poll() is None, p1.stderr.read()[-2000:] if p1.stderr else ""
            time.sleep(0.05)
        else:
            pytest.fail("process 1 made no progress")
        os.kill(p1.pid, signal.SIGKILL)
        p1.wait(timeout=60)
        stdout0, stderr0 = p0.communicate(timeout=240)
    finally:
        for p in (p0, p1):
            if p.poll() is None:
                p.kill()
    assert p0.returncode == 0, stderr0[-3000:]
    assert "COMPUTED 4" in stdout0
    from htrmt.sweep._store import point_file, read_index

    grid = {"a": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0], "n": [3]}
    mine1 = sweep.expand_grid(grid)[1::2]
    done1 = sum((out / "points" / point_file(p)).exists() for p in mine1)
    assert 1 <= done1 < 4 and not sweep.load(out).complete
    again = start(1, "0")
    stdout1, stderr1 = again.communicate(timeout=240)
    assert again.returncode == 0, stderr1[-3000:]
    computed = int(stdout1.split("COMPUTED")[1].split()[0])
    assert computed == 4 - done1  # nothing lost, nothing computed twice
    assert len(list((out / "points").glob("*.npz"))) == 8
    assert sorted(r["i"] for r in read_index(out)) == list(range(8))  # each point once
    assert json.loads((out / "sweep.json").read_text())["complete"] is True

    def plain(key, *, a, n):
        k1, k2 = jax.random.split(key)
        return {"x": jax.random.normal(k1, (n,)) * a, "u": jax.random.uniform(k2)}

    one = sweep.run(jax.random.key(11), plain, grid, trials=4, out=tmp_path / "one", progress=False)
    _assert_same(sweep.load(out), one)
