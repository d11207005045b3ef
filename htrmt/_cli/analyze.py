"""``htrmt analyze``: HT-SR analysis of a model's weight matrices, as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import sys

DEFAULT_HTML = "htrmt_report.html"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyze the weight matrices of a model (alpha, alpha_hat, norms, MP fit, phase)",
        description=(
            "Heavy-Tailed Self-Regularization analysis of every weight matrix of a model file "
            "(.npz, .safetensors, a PyTorch .pt/.pth/.bin state dict, an index file of a sharded "
            "checkpoint, a Hugging Face model folder or a LoRA adapter folder), read one tensor "
            "at a time. Without PATH, the embedded "
            f"default model (a small CNN trained on scikit-learn's digits) is analysed and an HTML "
            f"report is written to {DEFAULT_HTML} unless --html/--no-html say otherwise."
        ),
    )
    p.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="weight file, index file, model folder or LoRA adapter folder "
        "(default: embedded model)",
    )
    add_selection_options(p)
    p.add_argument(
        "--base",
        metavar="PATH",
        help="analyse W - W_base for every layer in both (a fine-tune against its base); "
        "with an adapter PATH, analyse W_base + dW",
    )
    p.add_argument(
        "--delta",
        action="store_true",
        help="with an adapter and --base: analyse dW alone, not W_base + dW",
    )
    p.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="what is printed (default: table)",
    )
    p.add_argument(
        "--output", "-o", metavar="FILE", help="write the table/csv/json here instead of stdout"
    )
    p.add_argument("--plots", metavar="DIR", help="write overview.png and one PNG per layer here")
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    p.add_argument("--no-html", action="store_true", help="no HTML report for the default model")
    p.add_argument(
        "--normalization",
        choices=("N", "none"),
        default="N",
        help="eigenvalues of W^T W / N (default) or of W^T W (weightwatcher's)",
    )
    p.add_argument(
        "--peer-conventions",
        action="store_true",
        help="reproduce weightwatcher's conventions (W^T W, its xmin rule, its spike margin)",
    )
    p.add_argument(
        "--conv",
        choices=("slices", "flatten"),
        default="slices",
        help="conv kernels as k*k slices of out x in (default) or one flattened matrix",
    )
    p.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="B",
        help="bootstrap resamples for an error bar on alpha (default 0: none)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--no-fingers", action="store_true", help="skip the fingers test")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--x64", action="store_true", help="compute the spectra in float64")
    p.add_argument(
        "-j",
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="threads reading and computing the spectra while the layers already done are "
        "fitted (default: the CPU's cores, at most 4, one BLAS thread each; 1 on a GPU)",
    )
    p.set_defaults(func=run)


def add_selection_options(p) -> None:
    """--layers, --kind, --split-qkv, --conv: which tensors are read and how (shared)."""
    p.add_argument(
        "--layers",
        metavar="REGEX",
        help="analyse only the layers whose name matches REGEX (others are never read)",
    )
    p.add_argument(
        "--kind",
        action="append",
        default=[],
        metavar="REGEX=KIND",
        help="read tensors matching REGEX as KIND: linear, transposed (stored in x out), "
        "embedding, conv, experts (stacked E x out x in), skip; repeatable, first match wins",
    )
    p.add_argument(
        "--split-qkv",
        action="store_true",
        help="split fused QKV projections into Q, K and V (head counts from config.json)",
    )


def emit(result, fmt: str, output: str | None) -> None:
    """Print (or write whole to ``output``) a result as its table, CSV or JSON."""
    if fmt == "table":
        text = result.table() + "\n"
    elif fmt == "csv":
        text = result.to_csv()
    else:
        text = result.to_json() + "\n"
    if output:
        from ..networks._report import write_atomic

        write_atomic(output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def parse_kinds(items: list[str]) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for item in items:
        pat, sep, kind = item.rpartition("=")
        if not sep or not pat:
            raise ValueError(f"--kind must be REGEX=KIND, got {item!r}")
        out[pat] = kind
    return out or None


def run(args: argparse.Namespace) -> int:
    from ..networks import analyze, default_model

    if args.bootstrap < 0:
        raise ValueError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    model = args.path if args.path is not None else default_model()
    key = None
    if args.bootstrap:
        import jax

        key = jax.random.key(args.seed)
    rep = analyze(
        model,
        normalization=args.normalization,
        peer_conventions=args.peer_conventions,
        conv=args.conv,
        bootstrap=args.bootstrap,
        key=key,
        fingers=not args.no_fingers,
        progress=not args.no_progress,
        dtype="float64" if args.x64 else None,
        workers=args.workers,
        layers=args.layers,
        kinds=parse_kinds(args.kind),
        split_qkv=args.split_qkv,
        base=args.base,
        merged=False if args.delta else None,
    )
    emit(rep, args.format, args.output)
    html_path = args.html
    if html_path is None and args.path is None and not args.no_html:
        html_path = DEFAULT_HTML
    if args.plots:
        from ..plotting import save_plots

        paths = save_plots(rep, args.plots)
        print(f"wrote {len(paths)} figures to {args.plots}", file=sys.stderr)
    if html_path:
        from ..plotting import html_report

        name = args.path or "embedded default model (DigitsCNN on digits)"
        html_report(rep, html_path, title=f"htrmt analysis: {name}", progress=not args.no_progress)
        print(f"wrote HTML report {html_path}", file=sys.stderr)
    return 0
