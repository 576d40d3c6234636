"""Render the fall classifier's training report (a JSON-ready dict) as Markdown for the repository."""

from __future__ import annotations

from typing import Any

_HEAD = (
    "| fold | subjects | trigger (g) | threshold | falls | ADLs | ADLs (older) | sensitivity | specificity "
    "| specificity (older) |"
)
_SWEEP_HEAD = "| trigger (g) | falls sent | ADLs sent | older people's ADLs sent |"
_TRADE_HEAD = "| target sensitivity | threshold | sensitivity | specificity | specificity (older) |"


def report_markdown(report: dict[str, Any]) -> str:
    """Render the report as Markdown."""
    cv, overall = report["cross_validated"], report["cross_validated"]["overall"]
    lines = [
        "# Fall classifier — training report",
        "",
        "Two stages: the bracelet sends a window when |a| reaches the impact trigger "
        f"(**{report['trigger_g']} g** shipped, `alerts.fall_model.IMPACT_TRIGGER_G`); the classifier confirms it.",
        f"Model: {report['model']}; decision threshold **{report['threshold']}**.",
        f"Validation: {report['validation']}. Older people: {report['elderly']}.",
        "",
        "## Held-out subjects (nested cross-validation), system = trigger + classifier",
        "",
        _HEAD,
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in cv["folds"]:
        lines.append(_row(str(f["fold"]), str(f["subjects"]), f"{f['trigger_g']} | {f['threshold']}", f))
    lines.append(_row("**all**", str(report["data"]["subjects"]), "per fold | per fold", overall))
    trig = cv["trigger"]
    lines += [
        "",
        f"- System: {_figures(overall)}.",
        f"- Classifier alone, on the trials that fired the trigger: {_figures(cv['classifier_only'])}.",
        f"- Trigger (median level {trig['threshold_g']} g): fires on {trig['sensitivity']} of falls; sends "
        f"{trig['adls_sent']} of ADL trials ({trig['adls_elderly_sent']} of older people's).",
    ]
    lines += ["", "By source (system):", ""]
    lines += [f"- {s}: " + _figures(r) for s, r in cv["by_source"].items()]
    alarms = ", ".join(f"{a} {n}" for a, n in cv["false_alarms_by_activity"].items()) or "none"
    lines += ["", f"False alarms by activity (held out): {alarms}"]
    lines += ["", "## Trigger levels (descriptive, all trials, nothing fitted)", "", _SWEEP_HEAD, "|---|---|---|---|"]
    lines += [
        _cells([p["trigger_g"], p["falls_sent"], p["adls_sent"], p["adls_elderly_sent"]])
        for p in report["trigger_sweep"]
    ]
    lines += [
        "",
        "## System trade-off (held-out scores, one threshold for all subjects — slightly optimistic)",
        "",
    ]
    lines += [_TRADE_HEAD, "|---|---|---|---|---|"]
    lines += [
        _cells([p["target_sensitivity"], p["threshold"], p["sensitivity"], p["specificity"], p["specificity_elderly"]])
        for p in report["operating_points"]
    ]
    rule = report["threshold_rule_on_all_trials"]
    lines += [
        "",
        "## Threshold rule (no model file), behind the same trigger",
        "",
        f"Parameters {rule['parameters']}: " + _figures(rule),
    ]
    w, d = report["windowing"], report["data"]
    lines += [
        "",
        "## Data and windows",
        "",
        f"{d['trials']} trials ({d['falls']} falls, {d['adls']} ADLs, {d['adls_elderly']} of older people), "
        f"{d['subjects']} subjects, {d['windows']} windows.",
        f"Windows: {w['pre_s']} s before to {w['post_s']} s after the peak at {w['rate_hz']} Hz; "
        f"falls: {w['fall']}; ADLs: {w['adl']}.",
        "Fall trials whose impact never reaches the trigger (SmartFallMM recordings where the watch shows little "
        "or no impact) are never sent: they are kept and count as misses of the system.",
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


def _row(name: str, subjects: str, threshold: str, r: dict[str, Any]) -> str:  # threshold may span two cells
    counts = [r["falls"], r["adls"], r["adls_elderly"]]
    return _cells([name, subjects, threshold, *counts, r["sensitivity"], r["specificity"], r["specificity_elderly"]])


def _cells(values: list[Any]) -> str:
    return "| " + " | ".join(str(v) for v in values) + " |"
