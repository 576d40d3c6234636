"""`anxin train`: build models from reference data (`falls` here; other trainers join as siblings)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from alerts.fall_model import DEFAULT_MODEL_PATH

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add the `train` subcommand and its `falls` trainer."""
    parser: argparse.ArgumentParser = sub.add_parser("train", help="train a detector's model from a data folder")
    kinds = parser.add_subparsers(dest="model", required=True)
    falls = kinds.add_parser("falls", help="train the fall classifier on a folder in the falls format")
    falls.add_argument("--data", type=Path, required=True, help="folder with trials.csv (e.g. ../shared/data/falls)")
    falls.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH, help="model file; reports go beside it")
    falls.add_argument("--target-sensitivity", type=float, default=0.95, help="sensitivity the threshold keeps")
    falls.add_argument("--folds", type=int, default=5, help="subject-wise cross-validation folds")
    falls.set_defaults(func=run_falls)


def run_falls(args: argparse.Namespace) -> int:
    """Train, cross-validate and save the fall classifier; print the held-out figures as JSON."""
    from alerts.fall_data import falls_folder  # noqa: PLC0415 — sklearn is slow to import
    from alerts.fall_training import TrainingConfig, save, train_fall_model  # noqa: PLC0415

    data_dir = falls_folder(args.data)
    config = TrainingConfig(n_splits=args.folds, target_sensitivity=args.target_sensitivity)
    result = train_fall_model(data_dir, config)
    save(result, args.out)
    log.info("fall model written to %s (threshold %.4f)", args.out, result.classifier.threshold)
    print(json.dumps({"model": "falls", "out": str(args.out), **result.report["cross_validated"]["overall"]}))
    return 0
