"""Detectors: pure objects that turn a resident's observations and the passing of time into findings.

One module per detector family; `base` holds the shared interface and `DetectorSet`, which runs them all.
"""

from __future__ import annotations

from alerts.detectors.base import Detector, DetectorSet, ResidentProfile
from alerts.detectors.devices import DeviceHealthDetector
from alerts.detectors.emergency import FallClassifier, FallDetector, ImpactFallDetector, SosDetector
from alerts.detectors.environment import EnvironmentDetector
from alerts.detectors.inactivity import InactivityDetector
from alerts.detectors.long_lie import LongLieDetector
from alerts.detectors.vitals import VitalsDetector
from alerts.detectors.wandering import NightWanderingDetector

__all__ = [
    "Detector",
    "DetectorSet",
    "DeviceHealthDetector",
    "EnvironmentDetector",
    "FallClassifier",
    "FallDetector",
    "ImpactFallDetector",
    "InactivityDetector",
    "LongLieDetector",
    "NightWanderingDetector",
    "ResidentProfile",
    "SosDetector",
    "VitalsDetector",
    "standard_detectors",
]


def standard_detectors(classifier: FallClassifier | None = None) -> list[Detector]:
    """Return one of every detector with default settings; the impact ones only with a classifier."""
    detectors: list[Detector] = [
        SosDetector(),
        FallDetector(),
        LongLieDetector(classifier),
        InactivityDetector(),
        VitalsDetector(),
        DeviceHealthDetector(),
        NightWanderingDetector(),
        EnvironmentDetector(),
    ]
    if classifier is not None:
        detectors.append(ImpactFallDetector(classifier))
    return detectors
