"""Render the fall classifier's training report (a JSON-ready dict) as Markdown for the repository."""

from __future__ import annotations

from typing import Any

_HEAD = (
    "| fold | subjects | threshold | falls | ADLs | ADLs (older) | sensitivity | specificity | specificity (older) |"
)
_TRADE_HEAD = "| target sensitivity | threshold | sensitivity | specificity | specificity (older) |"


def report_markdown(report: dict[str, Any]) -> str:
    """Render the report as Markdown."""
    cv, overall = report["cross_validated"], report["cross_validated"]["overall"]
    lines = [
        "# Fall classifier — training report",
        "",
        f"Model: {report['model']}; decision threshold **{report['threshold']}**.",
        f"Validation: {report['validation']}. Older people: {report['elderly']}.",
        "",
        "## Held-out subjects (nested cross-validation)",
        "",
        _HEAD,
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in cv["folds"]:
        lines.append(_row(str(f["fold"]), str(f["subjects"]), str(f["threshold"]), f))
    lines.append(_row("**all**", str(report["data"]["subjects"]), "per fold", overall))
    lines += ["", "By source:", ""]
    lines += [f"- {s}: " + _figures(r) for s, r in cv["by_source"].items()]
    alarms = ", ".join(f"{a} {n}" for a, n in cv["false_alarms_by_activity"].items()) or "none"
    lines += ["", f"False alarms by activity (held out): {alarms}"]
    lines += ["", "## Trade-off (out-of-fold scores, one threshold for all subjects — slightly optimistic)", ""]
    lines += [_TRADE_HEAD, "|---|---|---|---|---|"]
    lines += [
        _cells([p["target_sensitivity"], p["threshold"], p["sensitivity"], p["specificity"], p["specificity_elderly"]])
        for p in report["operating_points"]
    ]
    rule = report["threshold_rule_on_all_trials"]
    lines += ["", "## Threshold rule (no model file)", "", f"Parameters {rule['parameters']}: " + _figures(rule)]
    w, d = report["windowing"], report["data"]
    lines += [
        "",
        "## Data and windows",
        "",
        f"{d['trials']} trials ({d['falls']} falls, {d['adls']} ADLs, {d['adls_elderly']} of older people), "
        f"{d['subjects']} subjects, {d['windows']} windows.",
        f"Windows: {w['pre_s']} s before to {w['post_s']} s after the peak at {w['rate_hz']} Hz; "
        f"falls: {w['fall']}; ADLs: {w['adl']}.",
        f"{report['falls_without_impact']} fall trials never exceed 1.5 g at the wrist (SmartFallMM recordings "
        "where the watch shows no impact): no window-based detector can find them; they are kept and count as misses.",
        "Falls were performed by young volunteers onto mats: sensitivity here is an upper bound for real falls "
        "of older people.",
        "",
        f"Features: {', '.join(report['features'])}.",
        "",
        f"Data: {report['citation']}",
        "",
    ]
    return "\n".join(lines)


def _figures(r: dict[str, Any]) -> str:
    older = r["specificity_elderly"]
    return f"sensitivity {r['sensitivity']}, specificity {r['specificity']}, specificity (older) {older}"


def _row(name: str, subjects: str, threshold: str, r: dict[str, Any]) -> str:
    counts = [r["falls"], r["adls"], r["adls_elderly"]]
    return _cells([name, subjects, threshold, *counts, r["sensitivity"], r["specificity"], r["specificity_elderly"]])


def _cells(values: list[Any]) -> str:
    return "| " + " | ".join(str(v) for v in values) + " |"
