"""``htrmt figures`` (deprecated): the figures are drawn by ``python -m figures`` from a clone."""

from __future__ import annotations

import argparse

from ._moved import register_moved


def register(sub: argparse._SubParsersAction) -> None:
    register_moved(
        sub, "figures", "python -m figures", "(from the root of a clone of the repository)"
    )
