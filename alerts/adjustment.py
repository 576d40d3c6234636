"""A resident's personal adjustment of fall alerts, learned from how the desk closed their earlier ones (pure).

Some bracelets keep raising "falls" on one everyday movement of their wearer (clapping, a slap on the table,
dropping into an armchair). When the desk has closed enough of those as false alarms, a new alert on the
same movement is still raised — never dropped — but below critical, with the reason on the alert: "this
resident's last 5 similar alerts were false alarms".

What "the same movement" means, kept simple enough to say to an operator: the runtime classifier's own
per-second profile of the acceleration around the impact (`alerts.fall_model`'s ``m_mean_±Ns`` and
``m_std_±Ns`` features: the magnitude's mean and spread in each second from 4 s before to 6 s after the
peak), compared as a root-mean-square difference in g. Two windows within ``radius_g`` of each other are
similar.

Safety first, in this order:

* only a fall the platform read from an impact window is ever adjusted; an SOS, the bracelet's own fall
  report, a long lie, and every other kind are left as they are;
* a window in which the wrist lies still after the impact (``post_still_s``, the longest quiet stretch after
  it, reaching ``still_after_s``), or that does not show enough of what follows the impact to tell, is a
  possible fall with no movement afterwards: it is raised at full severity whatever the history;
* one confirmed real fall among the similar examples cancels the adjustment;
* fewer than ``min_similar`` similar false alarms change nothing;
* an adjusted alert is lowered one step (critical → high): it stays in the emergency group, is still
  escalated (on a longer acknowledgement timeout) and the family is still told.

Nothing here reads a clock or the database: `alerts.outcomes` hands in the examples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

import numpy as np

from alerts.fall_model import HAND_FEATURE_NAMES, FloatArray, impact_features
from alerts.findings import Finding
from alerts.kinds import Severity

Label = Literal["false_alarm", "fall"]
Samples = Sequence[Sequence[float]]

# The runtime features that describe the movement, by name: if the classifier's features are renamed, no
# profile is found and nothing is ever adjusted (the safe way to fail); a test pins the names.
PROFILE_FEATURES: Final = tuple(n for n in HAND_FEATURE_NAMES if n.startswith(("m_mean_", "m_std_")))
_PROFILE_AT: Final = tuple(HAND_FEATURE_NAMES.index(n) for n in PROFILE_FEATURES)
_STILL_AT: Final = HAND_FEATURE_NAMES.index("post_still_s") if "post_still_s" in HAND_FEATURE_NAMES else None
_AFTER_AT: Final = tuple(HAND_FEATURE_NAMES.index(n) for n in ("m_mean_+1s", "m_mean_+2s") if n in HAND_FEATURE_NAMES)
CODE: Final = "similar_false_alarms"


@dataclass(frozen=True, slots=True)
class Movement:
    """What one impact window says about the movement: its per-second profile and the stillness after it."""

    profile: FloatArray  # the `PROFILE_FEATURES` values (g), NaN where the device sent nothing
    still_after_s: float  # the longest quiet stretch after the impact (s), NaN when not known
    shows_after: bool  # the window holds at least 2 s after the impact, so movement afterwards can be seen


def movement(samples: Samples, rate_hz: float) -> Movement:
    """Describe a device window with the runtime classifier's features."""
    row = impact_features(samples, rate_hz)
    still = float(row[_STILL_AT]) if _STILL_AT is not None else math.nan
    after = bool(_AFTER_AT) and all(math.isfinite(float(row[i])) for i in _AFTER_AT)
    return Movement(np.asarray(row[list(_PROFILE_AT)], dtype=np.float64), still, after)


def distance_g(a: Movement, b: Movement, min_shared: float = 0.5) -> float:
    """Return the RMS difference (g) of two profiles over the seconds both windows hold; inf if too few do."""
    if not PROFILE_FEATURES:
        return math.inf
    both = np.isfinite(a.profile) & np.isfinite(b.profile)
    if both.sum() < max(1, min_shared * len(PROFILE_FEATURES)):
        return math.inf
    diff = a.profile[both] - b.profile[both]
    return float(np.sqrt(np.mean(diff * diff)))


@dataclass(frozen=True, slots=True)
class Example:
    """One earlier fall alert of the resident, labelled by how the desk closed it (newest first in a history)."""

    id: int
    label: Label
    movement: Movement


@dataclass(frozen=True, slots=True)
class AdjustmentPolicy:
    """When a resident's history lowers a new fall alert, and to what."""

    min_similar: int = 3  # similar false alarms needed, with no similar confirmed fall
    radius_g: float = 0.12  # profiles closer than this are the same movement
    lookback: int = 20  # the resident's most recent examples compared
    still_after_s: float = 1.5  # a quiet stretch this long after the impact: maybe lying still, never lowered
    lowered_to: Severity = Severity.HIGH


@dataclass(frozen=True, slots=True)
class Adjustment:
    """Why a fall alert was lowered: how many similar false alarms, the nearest one, and which examples."""

    similar: int
    nearest_g: float
    example_ids: tuple[int, ...]


def may_lower(window: Movement, policy: AdjustmentPolicy) -> bool:
    """Tell whether a window shows movement after the impact (a fall followed by stillness never is lowered)."""
    return window.shows_after and math.isfinite(window.still_after_s) and window.still_after_s < policy.still_after_s


def decide(window: Movement, history: Sequence[Example], policy: AdjustmentPolicy) -> Adjustment | None:
    """Return the adjustment a new window gets from the resident's examples (newest first), or None."""
    if not may_lower(window, policy):
        return None
    near = [(e, d) for e in history[: policy.lookback] if (d := distance_g(window, e.movement)) <= policy.radius_g]
    if any(e.label == "fall" for e, _ in near) or len(near) < policy.min_similar:
        return None
    return Adjustment(len(near), min(d for _, d in near), tuple(e.id for e, _ in near))


def adjusted(finding: Finding, adjustment: Adjustment, policy: AdjustmentPolicy) -> Finding:
    """Return the finding lowered to the policy's severity, with the reason in both languages and in details."""
    n = adjustment.similar
    before = finding.severity or Severity.CRITICAL
    details = {
        **finding.details,
        "personal_adjustment": {
            "code": CODE,
            "similar": n,
            "nearest_g": round(adjustment.nearest_g, 4),
            "radius_g": policy.radius_g,
            "examples": list(adjustment.example_ids),
            "from_severity": before.name.lower(),
            "to_severity": policy.lowered_to.name.lower(),
        },
    }
    return replace(
        finding,
        severity=min(before, policy.lowered_to),
        explanation=f"{finding.explanation}; this resident's last {n} similar alerts were false alarms"
        " (priority lowered, still call to check)",
        explanation_zh=f"{finding.explanation_zh}；该老人最近{n}次类似报警均为误报（已降低优先级，仍请致电确认）",
        details=details,
    )
