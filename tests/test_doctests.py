"""The examples in the docstrings of ``htrmt`` and ``vsdl`` run, and print what they say.

They run under the configuration a user starts with (``jax_enable_x64`` off, standard dtype
promotion), not under the suite's float64/strict settings, so each module is run with those
restored for its duration.
"""

import doctest
import importlib
import pkgutil

import jax
import numpy as np
import pytest

import htrmt
import vsdl


def _modules(package):
    yield package.__name__
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        if info.name.endswith("__main__"):
            continue
        yield info.name


MODULES = sorted(
    name
    for pkg in (htrmt, vsdl)
    for name in _modules(pkg)
    if doctest.DocTestFinder().find(importlib.import_module(name))
    and any(t.examples for t in doctest.DocTestFinder().find(importlib.import_module(name)))
)


@pytest.fixture
def user_config():
    saved = (jax.config.jax_enable_x64, jax.config.jax_numpy_dtype_promotion)
    jax.config.update("jax_enable_x64", False)
    jax.config.update("jax_numpy_dtype_promotion", "standard")
    printopts = np.get_printoptions()
    try:
        yield
    finally:
        np.set_printoptions(**printopts)
        jax.config.update("jax_enable_x64", saved[0])
        jax.config.update("jax_numpy_dtype_promotion", saved[1])


def test_modules_with_examples_found():
    # the walk really sees the packages' examples (a broken walk would make the test below vacuous)
    assert "htrmt" in MODULES and len(MODULES) >= 20


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, user_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=flags)
    for test in finder.find(module):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
