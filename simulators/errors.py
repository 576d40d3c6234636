"""The simulators' exception tree."""

from __future__ import annotations


class SimulatorError(Exception):
    """Base of every error the simulators raise."""


class BrokerUnavailableError(SimulatorError):
    """The MQTT broker cannot be reached or refused the simulated devices."""


class ScenarioError(SimulatorError):
    """A scenario or its command-line options do not make sense."""
