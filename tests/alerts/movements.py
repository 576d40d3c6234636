"""Impact windows of a few wrist movements, as a bracelet sends them (10 s at 50 Hz, the peak 4 s in).

* `habit` — the resident's everyday habit the bracelet keeps taking for a fall: walking with swinging arms,
  a hard slap on the table, walking on. Every call differs by noise only: the same movement again.
* `other_movement` — something else: sitting quietly, a sharp jolt, then vigorous shaking.
* `fall_then_still` — the same slap-like impact, and then the wrist lies still: maybe a fall with no movement
  afterwards, the case that must never be lowered.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

RATE_HZ = 50.0
Window = list[tuple[float, float, float]]


def _window(mag: npt.NDArray[np.float64], axis: tuple[float, float, float]) -> Window:
    xyz = np.outer(mag, np.asarray(axis) / np.linalg.norm(axis)).round(3)
    return [(float(x), float(y), float(z)) for x, y, z in xyz.tolist()]


def _walking(rng: np.random.Generator) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    t = np.arange(int(10 * RATE_HZ)) / RATE_HZ
    return t, 1 + 0.35 * np.sin(2 * np.pi * 1.8 * t) + rng.normal(0, 0.04, t.size)


def habit(rng: np.random.Generator) -> Window:
    """Return the resident's habit again: walking, a hard slap on the table, walking on."""
    _, mag = _walking(rng)
    i = int(4 * RATE_HZ)
    mag[i : i + 3] = [2.2, 3.6 + rng.normal(0, 0.1), 2.0]
    return _window(mag, (0.2, 0.1, 0.97))


def other_movement(rng: np.random.Generator) -> Window:
    """Return a different movement: sitting quietly, a sharp jolt, vigorous shaking."""
    t = np.arange(int(10 * RATE_HZ)) / RATE_HZ
    mag = 1 + rng.normal(0, 0.02, t.size)
    i = int(4 * RATE_HZ)
    mag[i : i + 4] = [3.0, 5.5, 4.0, 2.0]
    mag[i + 4 :] += 0.9 * np.sin(2 * np.pi * 3 * t[i + 4 :])
    return _window(mag, (0.6, 0.3, 0.74))


def fall_then_still(rng: np.random.Generator) -> Window:
    """Return the habit's walking and impact, after which the wrist does not move any more."""
    _, mag = _walking(rng)
    i = int(4 * RATE_HZ)
    mag[i : i + 3] = [2.2, 3.6, 2.0]
    mag[i + 3 :] = 1 + rng.normal(0, 0.005, mag.size - i - 3)
    return _window(mag, (0.2, 0.1, 0.97))
