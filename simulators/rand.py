"""Seeded random streams: one per purpose, named by the parts that make it unique.

A stream named ``(seed, "day", "r0007", day_start)`` is the same whatever else the run does, so
residents, days and incidents stay repeatable on their own. These generators drive a simulation;
nothing here is fit for secrets.
"""

from __future__ import annotations

import random

import numpy as np


def seeded(*parts: object) -> random.Random:
    """Return a random stream determined by ``parts``."""
    return random.Random(":".join(map(str, parts)))  # noqa: S311 - simulation, not secrets


def seeded_np(*parts: object) -> np.random.Generator:
    """Return a numpy random stream determined by ``parts``."""
    return np.random.default_rng(list(":".join(map(str, parts)).encode()))
