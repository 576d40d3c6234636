"""`anxin detect`: evaluate the shipped detectors on data folders; the last stdout line is JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the `detect` subcommand with one sub-subcommand per evaluated detector."""
    parser: argparse.ArgumentParser = sub.add_parser("detect", help="evaluate a detector on a data folder")
    benches = parser.add_subparsers(dest="bench", required=True)

    falls = benches.add_parser("falls", help="evaluate the fall classifier on a folder in the falls format")
    falls.add_argument("--data", type=Path, required=True, help="folder with trials.csv (e.g. ../shared/data/falls)")
    falls.add_argument("--model", type=Path, default=None, help="model file (default: the shipped one)")
    falls.set_defaults(func=run_falls)

    inactivity = benches.add_parser("inactivity", help="evaluate inactivity detection on home sensor logs")
    inactivity.add_argument("--data", type=Path, required=True, help="folder of houseX.* files")
    inactivity.set_defaults(func=run_inactivity)

    fleet = benches.add_parser("fleet", help="score every detector on the simulated fleet against its ground truth")
    fleet.add_argument("--residents", type=int, default=50, help="residents in the simulated fleet")
    fleet.add_argument("--days", type=int, default=7, help="simulated days of evaluation, with incidents")
    fleet.add_argument("--learn-days", type=int, default=14, help="simulated days of normal life learned first")
    fleet.add_argument("--seed", type=int, default=7)
    fleet.add_argument(
        "--per-kind", type=int, default=None, help="incidents of each kind (default: about one per 50 resident-days)"
    )
    fleet.add_argument("--model", type=Path, default=None, help="fall model file (default: the shipped one)")
    fleet.set_defaults(func=run_fleet)


def run_falls(args: argparse.Namespace) -> int:
    """Print the fall benchmark record as the last line."""
    from alerts.fall_data import falls_folder  # noqa: PLC0415 — sklearn is slow to import
    from alerts.fall_eval import evaluate_falls  # noqa: PLC0415

    print(json.dumps(evaluate_falls(falls_folder(args.data), args.model), ensure_ascii=False))
    return 0


def run_inactivity(args: argparse.Namespace) -> int:
    """Print the inactivity benchmark record as the last line."""
    from alerts.inactivity_eval import evaluate_homes  # noqa: PLC0415 — only this command needs it

    print(json.dumps(evaluate_homes(args.data), ensure_ascii=False))
    return 0


def run_fleet(args: argparse.Namespace) -> int:
    """Print the fleet benchmark record as the last line."""
    from anxin.fleet_eval import EXPECTED, FleetRun, evaluate_fleet  # noqa: PLC0415 — sklearn is slow to import

    counts = None if args.per_kind is None else dict.fromkeys(EXPECTED, args.per_kind)
    run = FleetRun(
        residents=args.residents, learn_days=args.learn_days, eval_days=args.days, seed=args.seed, incidents=counts
    )
    print(json.dumps(evaluate_fleet(run, model=args.model), ensure_ascii=False))
    return 0
