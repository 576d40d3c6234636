"""`anxin simulate`: bring a simulated neighbourhood to life, or load the broker.

    anxin simulate --residents 200 --speed 60 --days 1 --incidents fall:2,sos:1 --seed 7 \\
        [--mqtt-url mqtt://host:port] [--scenario scenarios/demo.toml] [--out FILE] [--truth FILE]
    anxin simulate --fast --residents 200 --days 28 --out history.jsonl --truth truth.jsonl
    anxin simulate --registry-out fleet.json --residents 200
    anxin simulate load --devices 2000 --rate 5000 --duration 30 --connections shared
    anxin simulate --protocol watch --watch 127.0.0.1:5050 --mqtt-url mqtt://… --speed 60
        (bracelets speak the watch protocol to `anxin gateway watch` over TCP; home sensors stay on MQTT)

Progress goes to stderr; the summary, one JSON object, is the last line on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from simulators.faults import FAULTS
from simulators.fleet import build_fleet, registry_document
from simulators.load import LoadPlan, run_load
from simulators.run import run_scenario
from simulators.scenario import CONNECTIONS, Scenario, load, parse_start
from simulators.schedule import IncidentSpec


def register(sub: Any) -> None:
    """Add the `simulate` subcommand (and its `load` mode)."""
    parser: argparse.ArgumentParser = sub.add_parser("simulate", help="run simulated residents and devices")
    parser.add_argument("--scenario", type=Path, help="scenario TOML file (options below override it)")
    parser.add_argument("--residents", type=int, help="number of residents (default 20)")
    parser.add_argument("--days", type=float, help="simulated days (default 1)")
    parser.add_argument("--speed", type=float, help="1 real time, 60 or 3600 accelerated, 0 as fast as possible")
    parser.add_argument("--fast", action="store_true", help="as fast as possible (same as --speed 0)")
    parser.add_argument("--seed", type=int, help="random seed (default 7)")
    parser.add_argument("--incidents", help="kind:count,… e.g. fall:2,sos:1")
    parser.add_argument("--start", help="simulated start, ISO-8601 (default: so device clocks never run ahead)")
    parser.add_argument("--mqtt-url", help="publish to this broker, e.g. mqtt://127.0.0.1:1883")
    parser.add_argument("--connections", choices=CONNECTIONS, help="one connection per device or shared")
    parser.add_argument("--protocol", choices=("mqtt", "watch"), default="mqtt", help="what the bracelets speak")
    parser.add_argument("--watch", default="127.0.0.1:5050", help="the watch gateway, HOST:PORT (--protocol watch)")
    parser.add_argument("--prefix", help="topic prefix (default ec/v1)")
    parser.add_argument("--faulty", type=float, help=f"fraction of damaged messages ({', '.join(FAULTS)})")
    parser.add_argument("--out", type=Path, help="write messages as JSON lines {topic, payload, retain}")
    parser.add_argument("--truth", type=Path, help="write ground-truth incidents as JSON lines")
    parser.add_argument("--registry-out", type=Path, help="write the fleet registry (JSON) and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=run)
    modes = parser.add_subparsers(dest="mode")
    lp = modes.add_parser("load", help="publish at a target rate from many devices")
    lp.add_argument("--devices", type=int, default=2000)
    lp.add_argument("--rate", type=float, default=5000.0, help="messages a second, in total")
    lp.add_argument("--duration", type=float, default=30.0, help="seconds")
    lp.add_argument("--connections", dest="load_connections", choices=CONNECTIONS, default="shared")
    lp.add_argument("--processes", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    lp.add_argument("--mqtt-url", dest="load_url", help="broker URL (default: settings / MQTT_URL)")
    lp.set_defaults(func=run_load_command)


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """Build the scenario from a file and/or the command-line options."""
    speed = 0.0 if args.fast else args.speed
    overrides: dict[str, Any] = {
        "residents": args.residents,
        "days": args.days,
        "speed": speed,
        "seed": args.seed,
        "connections": args.connections,
        "prefix": args.prefix,
        "faulty": args.faulty,
        "start": parse_start(args.start) if args.start else None,
        "incidents": IncidentSpec.parse(args.incidents) if args.incidents else None,
    }
    if args.scenario is not None:
        return load(args.scenario, **overrides)
    return replace(Scenario(), **{k: v for k, v in overrides.items() if v is not None})


def run(args: argparse.Namespace) -> int:
    """Run a scenario and print its summary."""
    try:
        scenario = scenario_from_args(args)
    except (ValueError, OSError) as exc:
        print(f"anxin simulate: {exc}", file=sys.stderr)
        return 2
    if args.registry_out is not None:
        doc = registry_document(build_fleet(scenario.residents, scenario.seed, scenario.neighbourhood), scenario.seed)
        args.registry_out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return 0
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    watch = _address(args.watch) if args.protocol == "watch" else None
    try:
        summary = run_scenario(scenario, args.mqtt_url, out=args.out, truth=args.truth, progress=progress, watch=watch)
    except KeyboardInterrupt:
        print("anxin simulate: interrupted", file=sys.stderr)
        return 130
    print(json.dumps(summary.as_json(), ensure_ascii=False))
    return 0


def run_load_command(args: argparse.Namespace) -> int:
    """Run the load mode and print its summary."""
    url = args.load_url or args.mqtt_url or _settings_url()
    if url is None:
        print("anxin simulate load: no broker; pass --mqtt-url", file=sys.stderr)
        return 2
    plan = LoadPlan(
        url=url,
        devices=args.devices,
        rate=args.rate,
        duration=args.duration,
        connections=args.load_connections,
        processes=args.processes,
        prefix=args.prefix or "ec/v1",
    )
    print(
        f"load: {plan.devices} devices, {plan.rate:g} msg/s for {plan.duration:g} s over "
        f"{plan.processes} processes ({plan.connections})",
        file=sys.stderr,
    )
    summary = run_load(plan)
    print(json.dumps(summary, ensure_ascii=False))
    return 0 if not summary["errors"] else 1


def _address(text: str) -> tuple[str, int]:
    """Read ``HOST:PORT``."""
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def _settings_url() -> str | None:
    return os.environ.get("MQTT_URL")
