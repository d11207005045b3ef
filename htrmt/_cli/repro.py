"""``htrmt repro`` (deprecated): reproductions run as ``python -m paper_repro`` from a clone."""

from __future__ import annotations

import argparse

from ._moved import register_moved


def register(sub: argparse._SubParsersAction) -> None:
    register_moved(
        sub, "repro", "python -m paper_repro", "(from the root of a clone of the repository)"
    )
