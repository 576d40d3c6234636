"""`anxin train`: build models from reference data (`falls` here; other trainers join as siblings)."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alerts.fall_model import DEFAULT_MODEL_PATH

if TYPE_CHECKING:
    from evaluation.fall_data import TrialWindows

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add the `train` subcommand and its `falls` trainer."""
    parser: argparse.ArgumentParser = sub.add_parser("train", help="train a detector's model from a data folder")
    kinds = parser.add_subparsers(dest="model", required=True)
    falls = kinds.add_parser("falls", help="train the fall classifier on a folder in the falls format")
    falls.add_argument("--data", type=Path, required=True, help="folder with trials.csv (e.g. ../shared/data/falls)")
    falls.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH, help="model file; reports go beside it")
    falls.add_argument("--target-sensitivity", type=float, default=0.95, help="sensitivity the threshold keeps")
    falls.add_argument("--folds", type=int, default=5, help="subject-wise cross-validation folds (secondary figure)")
    falls.add_argument(
        "--no-selection",
        action="store_true",
        help="train the default configuration only, without choosing among the candidates by leave-one-source-out",
    )
    falls.add_argument(
        "--include-outcomes",
        action="store_true",
        help="add the desk's labelled outcomes (consented residents' closed fall alerts) from the platform's database",
    )
    falls.set_defaults(func=run_falls)


def run_falls(args: argparse.Namespace) -> int:
    """Choose, train and save the fall classifier; print the leave-one-source-out and subject-wise figures as JSON."""
    from evaluation.fall_data import falls_folder  # noqa: PLC0415 — sklearn is slow to import
    from evaluation.fall_training import CANDIDATES, TrainingConfig, save, train_fall_model  # noqa: PLC0415

    data_dir = falls_folder(args.data)
    outcomes = outcome_windows() if args.include_outcomes else []
    if args.include_outcomes:
        falls = sum(tw.trial.is_fall for tw in outcomes)
        log.info("the desk's outcomes: %d examples (%d confirmed falls)", len(outcomes), falls)
    config = TrainingConfig(n_splits=args.folds, target_sensitivity=args.target_sensitivity)
    candidates = (
        [config]
        if args.no_selection
        else [replace(c, n_splits=args.folds, target_sensitivity=args.target_sensitivity) for c in CANDIDATES]
    )
    result = train_fall_model(data_dir, config, candidates, extra=outcomes)
    save(result, args.out)
    log.info("fall model written to %s (threshold %.4f)", args.out, result.classifier.threshold)
    added = (
        {"outcome_examples": len(outcomes), "outcome_examples_trained": len(outcomes)} if args.include_outcomes else {}
    )
    report = result.report
    loso, subject = report["leave_one_source_out"], report["subject_cross_validation"]["overall"]
    headline = ("sensitivity", "specificity", "specificity_elderly", "false_alarms_per_hour")
    figures = {
        "leave_one_source_out": {
            s: {**{k: f[k] for k in headline}, "calibrated_on_own_subjects": f.get("calibrated")}
            for s, f in loso["per_source"].items()
        },
        "worst_source": loso["worst"],
        "subject_cross_validation": {k: subject[k] for k in headline},
        "trigger_g": report["trigger_g"],
        "impact_threshold": report["impact_threshold"],
        "threshold": report["threshold"],
    }
    print(json.dumps({"model": "falls", "out": str(args.out), **added, **figures}, ensure_ascii=False))
    return 0


def outcome_windows() -> list[TrialWindows]:
    """Read the desk's labelled outcomes from the platform's database (``DATABASE_URL``, else the local one)."""
    from anxin.commands.common import database  # noqa: PLC0415
    from anxin.settings import load_settings  # noqa: PLC0415
    from evaluation.outcomes import outcome_windows as read  # noqa: PLC0415

    with database(load_settings()) as url:
        return read(url)
