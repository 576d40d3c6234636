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
    falls.add_argument(
        "--calibrate",
        metavar="MODEL",
        default=None,
        help="write the calibration of bracelet model MODEL from the folder's recordings (its source's trials if "
        "it has a source of that name, else all) beside the model, and print its figures",
    )
    falls.add_argument(
        "--calibrations", type=Path, default=None, help="calibration folder (default: calibrations/ beside the model)"
    )
    falls.set_defaults(func=run_falls)

    inactivity = benches.add_parser(
        "inactivity", help="evaluate inactivity detection on home sensor logs: curve, chosen point, leave-one-home-out"
    )
    inactivity.add_argument("--data", type=Path, required=True, help="folder of houseX.* files")
    inactivity.add_argument(
        "--budget", type=float, default=1.0, help="false alerts allowed per home per 30 days (default 1)"
    )
    inactivity.add_argument("--learn-days", type=int, default=10, help="days learned before the first scored day")
    inactivity.add_argument("--seed", type=int, default=7, help="seed of the injected incidents' moments")
    inactivity.add_argument(
        "--day-ceiling-h",
        nargs="+",
        type=_hours,
        default=None,
        metavar="H",
        help="fixed ceilings on a daytime silence to score, in hours or 'none' (default: none 6 4 3)",
    )
    inactivity.add_argument(
        "--night-ceiling-h", type=_hours, default=_SHIPPED, metavar="H", help="the night's (default: the shipped)"
    )
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
    from alerts.fall_model import DEFAULT_MODEL_PATH  # noqa: PLC0415 — sklearn is slow to import
    from evaluation.fall_data import falls_folder  # noqa: PLC0415
    from evaluation.fall_eval import calibrate, evaluate_falls  # noqa: PLC0415

    data = falls_folder(args.data)
    folder = args.calibrations or (args.model or DEFAULT_MODEL_PATH).parent / "calibrations"
    if args.calibrate is not None:
        print(json.dumps(calibrate(data, args.calibrate, args.model, folder), ensure_ascii=False))
        return 0
    print(json.dumps(evaluate_falls(data, args.model, folder), ensure_ascii=False))
    return 0


def run_inactivity(args: argparse.Namespace) -> int:
    """Print the curve and each left-out home as a table, then the inactivity benchmark record as the last line."""
    from alerts.detectors.inactivity import Tuning  # noqa: PLC0415
    from evaluation.inactivity_budget import Ceiling  # noqa: PLC0415
    from evaluation.inactivity_eval import (  # noqa: PLC0415 — only this command needs it
        DAY_CEILINGS_H,
        Protocol,
        evaluate_homes,
        shipped_ceiling,
    )

    protocol = Protocol(learn_days=args.learn_days, seed=args.seed)
    shipped = shipped_ceiling(Tuning()).night_min
    night = shipped if args.night_ceiling_h is _SHIPPED else _minutes(args.night_ceiling_h)
    day_hours = DAY_CEILINGS_H if args.day_ceiling_h is None else args.day_ceiling_h
    ceilings = [Ceiling(_minutes(day), night) for day in day_hours]
    record = evaluate_homes(args.data, protocol=protocol, budget=args.budget, ceilings=ceilings)
    print("alpha        false alerts   of them while out   per home per 30 d   found   daytime median   p90 (min)")
    for row in record["curve"].values():  # type: ignore[attr-defined]
        print(
            f"{row['alpha']:<12g} {row['false_alerts']:>12} {row['false_alerts_while_out']:>19}"
            f" {row['false_alerts_per_30_days']:>19} {row['detected']:>7} {row['median_delay_min']!s:>16}"
            f" {row['p90_delay_min']!s:>11}"
        )
    print(f"chosen: {record['chosen']}")
    ours: Any = record["shipped"]
    print(
        f"shipped: {ours['setting']} alpha {ours['alpha']:g}, ceiling {ours['ceiling']}:"
        f" {ours['false_alerts_per_30_days']} false alerts / 30 d, {ours['detected']}/{ours['incidents']} found,"
        f" daytime median {ours['median_delay_min']} min, night {ours['median_delay_min_night']} min"
    )
    loho = record["leave_one_home_out"]
    for home, at in loho["per_home"].items():  # type: ignore[index]
        print(
            f"left out {home}: {at['setting']} alpha {at['alpha']:g}: {at['false_alerts_per_30_days']} false alerts"
            f" / 30 d, {at['detected']}/{at['incidents']} found, daytime median {at['median_delay_min']} min"
        )
    print(f"worst left out: {loho['worst']}")  # type: ignore[index]
    _print_ceilings(record["by_ceiling"])  # type: ignore[arg-type]
    print(json.dumps(record, ensure_ascii=False))
    return 0


_SHIPPED: Any = object()  # an option left out: the detector's default


def _hours(text: str) -> float | None:
    """Read a ceiling in hours from the command line; ``none`` is no ceiling."""
    return None if text.lower() == "none" else float(text)


def _minutes(hours: float | None) -> float | None:
    return None if hours is None else 60 * hours


def _print_ceilings(table: dict[str, Any]) -> None:
    """Print each ceiling at the shipped setting and alpha, the worst home, and leave-one-home-out."""
    print(f"ceilings at {table['setting']} alpha {table['alpha']:g}:")
    print(
        "ceiling                 day median   night median   false alerts / home / 30 d   found"
        "   worst home: fa/30 d, day median   left out (budget): fa/30 d, day median, missed"
    )
    for name, row in table["ceilings"].items():
        at, home, out = row["at_shipped_alpha"], row["worst_home_at_shipped_alpha"], row["leave_one_home_out_worst"]
        print(
            f"{name:<22} {at['median_delay_min']!s:>11} {at['median_delay_min_night']!s:>14}"
            f" {at['false_alerts_per_30_days']!s:>28} {at['detected']:>4}/{at['incidents']}"
            f" {home['false_alerts_per_30_days']!s:>16}, {home['median_delay_min']!s:>6}"
            f" {out['false_alerts_per_30_days']!s:>30}, {out['median_delay_min']!s:>6}, {out['missed']}"
        )
    left = table["chosen_leaving_each_home_out"]
    print(f"ceiling chosen (shortest daytime median within {left['rate_per_30_days']:g} / 30 d): {table['chosen']}")
    for home, at in left["per_home"].items():
        print(
            f"left out {home}: {at['ceiling']}: {at['false_alerts_per_30_days']} false alerts / 30 d,"
            f" {at['detected']}/{at['incidents']} found, daytime median {at['median_delay_min']} min"
        )
    print(f"worst left out (ceiling chosen on the others): {left['worst']}")


def run_fleet(args: argparse.Namespace) -> int:
    """Print the fleet benchmark record as the last line."""
    from evaluation.fleet_eval import EXPECTED, FleetRun, evaluate_fleet  # noqa: PLC0415 — sklearn is slow to import

    counts = None if args.per_kind is None else dict.fromkeys(EXPECTED, args.per_kind)
    run = FleetRun(
        residents=args.residents, learn_days=args.learn_days, eval_days=args.days, seed=args.seed, incidents=counts
    )
    print(json.dumps(evaluate_fleet(run, model=args.model), ensure_ascii=False))
    return 0
