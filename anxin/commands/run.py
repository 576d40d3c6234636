"""`anxin run`: the whole platform on local services, with a simulated neighbourhood (what `make run` does)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from typing import Any

from anxin.demo import seed_demo
from anxin.platform import start_platform
from anxin.settings import load_settings

LOG = logging.getLogger("anxin.run")
DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo.toml"


def register(sub: Any) -> None:
    """Add the `run` subcommand."""
    parser: argparse.ArgumentParser = sub.add_parser("run", help="run the platform (local services by default)")
    parser.add_argument("--scenario", type=Path, default=DEMO, help="simulated neighbourhood (default: the demo)")
    parser.add_argument("--no-simulation", action="store_true", help="real devices only")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run until Ctrl-C."""
    settings = load_settings()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with start_platform(settings) as platform:
        sim_thread = None
        if not args.no_simulation:
            sim_thread = _simulate(args.scenario, platform.database_url, platform.mqtt_url, stop)
        LOG.info("Anxin is running. Console: %s — press Ctrl-C to stop.", platform.dashboard_url)
        stop.wait()
        LOG.info("stopping…")
        if sim_thread is not None:
            sim_thread.join(10)
    LOG.info("stopped; data kept in %s", settings.data_dir)
    return 0


def _simulate(path: Path, db_url: str, mqtt_url: str, stop: threading.Event) -> threading.Thread:
    """Register the simulated neighbourhood and its demo accounts, then bring it to life on a thread."""
    from simulators.run import run_scenario  # noqa: PLC0415 - only `run` uses the simulators
    from simulators.scenario import load as load_scenario  # noqa: PLC0415

    scenario = load_scenario(path)
    accounts = seed_demo(db_url, scenario)
    for line in accounts:
        LOG.info("demo account: %s", line)
    thread = threading.Thread(target=run_scenario, args=(scenario, mqtt_url, stop), name="simulator", daemon=True)
    thread.start()
    return thread
