"""The htrmt command starts fast: lazy package imports, and JAX's persistent compilation cache."""

import os
import subprocess
import sys

import pytest

from htrmt._cache import default_cache_dir, enable_compilation_cache

_CACHE_VARS = (
    "HTRMT_COMPILATION_CACHE",
    "HTRMT_CACHE_DIR",
    "JAX_COMPILATION_CACHE_DIR",
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES",
)


def _python(code_or_args, env=None):
    """Run python in a fresh process with no cache settings inherited; return its stdout."""
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else list(code_or_args)
    base = {k: v for k, v in os.environ.items() if k not in _CACHE_VARS}
    proc = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**base, **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_parser_imports_neither_jax_nor_numpy():
    out = _python("import sys, htrmt.cli; htrmt.cli.build_parser(); print('jax' in sys.modules)")
    assert out.strip() == "False"
    code = (
        "import sys, htrmt.cli\n"
        "htrmt.cli.build_parser().parse_args(['vsdl', 'diagram', '--quick'])\n"
        "htrmt.cli.build_parser().parse_args(['figures', '--quick'])\n"
        "heavy = ('jax', 'numpy', 'vsdl', 'figures', 'paper_repro', 'sims')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    assert _python(code).strip() == "[]"


def test_import_htrmt_is_lazy():
    code = "import sys, htrmt; print('jax' in sys.modules, 'htrmt.spectra' in sys.modules)"
    assert _python(code).split() == ["False", "False"]


def test_lazy_names():
    import htrmt
    import htrmt.networks
    import htrmt.spectra
    from htrmt import esd

    assert esd is htrmt.spectra.esd
    assert htrmt.esd is htrmt.spectra.esd
    assert htrmt.analyze is htrmt.networks.analyze
    assert htrmt.enable_compilation_cache is enable_compilation_cache
    for name in ("ensembles", "laws", "spectra", "fit", "edge", "phases", "metrics", "sweep"):
        assert getattr(htrmt, name).__name__ == f"htrmt.{name}"
    listed = set(dir(htrmt))
    assert {"esd", "analyze", "enable_compilation_cache", "ensembles", "laws", "cli"} <= listed
    assert "__version__" in listed
    with pytest.raises(AttributeError, match="no_such_name"):
        htrmt.no_such_name  # noqa: B018


@pytest.mark.parametrize("jax_first", [False, True])
def test_compilation_cache_writes_entries(tmp_path, jax_first):
    folder = tmp_path / "cache"
    code = (
        "import sys\n" + ("import jax\n" if jax_first else "") + "import htrmt\n"
        "print(htrmt.enable_compilation_cache(sys.argv[1]))\n"
        "print(htrmt.enable_compilation_cache(sys.argv[1]))\n"
        "import jax, jax.numpy as jnp\n"
        "jax.jit(lambda x: jnp.sin(x) * 2.0)(jnp.arange(3.0)).block_until_ready()\n"
    )
    out = _python(["-c", code, str(folder)]).split()
    assert out == [str(folder.resolve())] * 2
    entries = [p.name for p in folder.iterdir()]
    assert any(name.startswith("jit_") for name in entries), entries


def test_compilation_cache_switched_off(tmp_path):
    folder = tmp_path / "cache"
    code = (
        "import sys, htrmt\n"
        "print(htrmt.enable_compilation_cache(sys.argv[1]))\n"
        "import jax, jax.numpy as jnp\n"
        "jax.jit(lambda x: jnp.sin(x) * 2.0)(jnp.arange(3.0)).block_until_ready()\n"
    )
    out = _python(["-c", code, str(folder)], env={"HTRMT_COMPILATION_CACHE": "0"})
    assert out.strip() == "None"
    assert not folder.exists()


def test_compilation_cache_unusable_folder(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert enable_compilation_cache(blocker / "cache") is None  # never raises


def test_default_cache_dir(monkeypatch, tmp_path):
    for var in _CACHE_VARS + ("XDG_CACHE_HOME",):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "htrmt" / "jax"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "htrmt" / "jax"
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "jaxs"))
    assert default_cache_dir() == tmp_path / "jaxs"
    monkeypatch.setenv("HTRMT_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"


def test_command_uses_the_cache_only_to_run_a_subcommand(tmp_path):
    cache = tmp_path / "cache"
    env = {"HTRMT_CACHE_DIR": str(cache)}
    _python(["-m", "htrmt", "--help"], env=env)
    _python(["-m", "htrmt", "sample", "--help"], env=env)
    assert not cache.exists()
    W = tmp_path / "W.npy"
    _python(
        ["-m", "htrmt", "sample", "gaussian", "--shape", "20", "10", "-o", str(W), "--no-plot"], env
    )
    assert W.exists()
    assert any(p.name.startswith("jit_") for p in cache.iterdir())


def test_vsdl_without_action(capsys):
    from vsdl._cli import main as vsdl_main

    assert vsdl_main([]) == 2
    assert "usage: vsdl" in capsys.readouterr().err
