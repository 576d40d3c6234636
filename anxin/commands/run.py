"""`anxin run`: the whole platform on local services, with a simulated neighbourhood (what `make run` does)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anxin.demo import demo_device_secrets, seed_demo
from anxin.platform import Platform, start_platform
from anxin.runtime import settle
from anxin.settings import load_settings

if TYPE_CHECKING:
    from simulators.scenario import Scenario

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
        settle()
        sim_thread = None
        if not args.no_simulation:
            sim_thread = simulate_demo(platform, _load_scenario(args.scenario), stop)
        LOG.info("Anxin is running. Console: %s — press Ctrl-C to stop.", platform.dashboard_url)
        stop.wait()
        LOG.info("stopping…")
        if sim_thread is not None:
            sim_thread.join(10)
    LOG.info("stopped; data kept in %s", settings.data_dir)
    return 0


def _load_scenario(path: Path) -> Scenario:
    from simulators.scenario import load  # noqa: PLC0415 - only `run` uses the simulators

    return load(path)


def simulate_demo(platform: Platform, scenario: Scenario, stop: threading.Event) -> threading.Thread:
    """Register the simulated neighbourhood, its demo accounts and device secrets, then bring it to life on a thread."""
    from simulators.run import run_scenario  # noqa: PLC0415 - only `run` uses the simulators

    data_dir = Path(platform.settings.data_dir)
    for line in seed_demo(platform.database_url, scenario, data_dir):
        LOG.info("demo account: %s", line)
    if platform.reload_broker is not None:  # our own broker: the demo's devices sign in with their new secrets
        platform.reload_broker()
    if scenario.connections != "per-device":
        LOG.info("the demo's devices connect one client each, signing in with their own secrets")
        scenario = dataclasses.replace(scenario, connections="per-device")
    thread = threading.Thread(
        target=run_scenario,
        args=(scenario, platform.mqtt_url, stop),
        kwargs={"credentials": demo_device_secrets(data_dir)},
        name="simulator",
        daemon=True,
    )
    thread.start()
    return thread
