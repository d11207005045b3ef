"""``htrmt vsdl``: the Very Simple Deep Learning model's phase diagrams (the ``vsdl`` package)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "vsdl",
        help="load–temperature phase diagrams of the VSDL model (theory + Monte Carlo)",
        description="The Very Simple Deep Learning model: teacher–student perceptrons learning "
        "by Gibbs sampling. 'diagram' computes and plots a phase diagram (resumable); 'critical' "
        "prints the theory's transitions.",
    )
    from vsdl._cli import add_arguments, run

    add_arguments(p)
    p.set_defaults(func=run)
