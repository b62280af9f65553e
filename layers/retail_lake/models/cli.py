"""``retail-lake train``: train, validate and gate the models; print each metric against its baseline.

The lead CLI (retail_lake/cli.py) calls ``add_parser(subparsers)`` on every invocation, so this module
imports nothing heavy: the training code (numpy, scikit-learn, xgboost) loads only when ``run`` runs.
Progress goes to stderr, the summary to stdout. Exit 0 when every model trained (promoted or
rejected by the gate), 1 when one failed or the lake has no sales, 2 for a bad parameter.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from retail_lake.models._types import MODEL_NAMES


def _positive(limit: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not 1 <= value <= limit:
            raise argparse.ArgumentTypeError(f"{value} is out of range (1-{limit})")
        return value

    return parse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``train [--models ...] [--clv-horizon-days N] [--forecast-weeks N] [--lake DIR|s3://...]``."""
    parser = subparsers.add_parser(
        "train",
        help="train the segmentation, CLV and sales forecast models; publish their predictions",
        description="Train each model on the lake's sales, validate it on held-out time against a simple "
        "baseline, and promote it only when it beats the baseline and is not worse than the current version "
        "(models/<model>/<version>/ in the lake). Predictions are published as the tables customer_segments_ml, "
        "customer_clv, sales_forecast; every version is listed in model_registry (retail-lake sql).",
        epilog="Defaults come from TRAIN_CLV_HORIZON_DAYS, TRAIN_FORECAST_WEEKS, TRAIN_GATE_TOLERANCE and "
        "TRAIN_SEED when set. See docs/MODELS.md.",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        metavar="MODEL",
        choices=MODEL_NAMES,
        default=None,
        help=f"which models to train (default: all; choose from {', '.join(MODEL_NAMES)})",
    )
    parser.add_argument(
        "--clv-horizon-days",
        type=_positive(3650),
        default=None,
        metavar="N",
        help="predict each customer's spend over the next N days (default 90)",
    )
    parser.add_argument(
        "--forecast-weeks",
        type=_positive(104),
        default=None,
        metavar="N",
        help="forecast weekly revenue N weeks ahead (default 12)",
    )
    parser.add_argument(
        "--lake",
        default=None,
        metavar="DIR|s3://bucket/prefix",
        help="the lake: a local folder or an S3 URI (default: $RETAIL_LAKE, else ./lake)",
    )
    parser.set_defaults(func=run)
    return parser


def _progress(line: str) -> None:
    print(f"  .. {line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Train on ``args.lake``; print the summary; 0 when no model failed."""
    from retail_lake.models import EmptyLakeError, format_summary, train

    lake = getattr(args, "lake", None) or os.environ.get("RETAIL_LAKE") or "./lake"
    started = time.monotonic()
    try:
        results = train(
            lake,
            getattr(args, "models", None),
            clv_horizon_days=getattr(args, "clv_horizon_days", None),
            forecast_weeks=getattr(args, "forecast_weeks", None),
            progress=_progress,
        )
    except (EmptyLakeError, ValueError) as exc:
        print(f"retail-lake train: {exc}", file=sys.stderr)
        return 1
    failed = [r for r in results if not r.ok]
    promoted = sum(r.promoted for r in results)
    version = results[0].version if results else "-"
    print(
        f"train: {len(results)} model(s), {promoted} promoted, {len(failed)} failed, version {version}, "
        f"{time.monotonic() - started:.1f}s"
    )
    for line in format_summary(results):
        print(f"  {line}")
    return 1 if failed else 0
