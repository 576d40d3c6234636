"""Render the fall classifier's training report (a JSON-ready dict) as Markdown for the repository."""

from __future__ import annotations

from typing import Any

_HEAD = (
    "| held out | trigger (g) | impact thr. | thr. | falls | ADLs | ADLs (older) | sensitivity | specificity "
    "| specificity (older) | false alarms / h |"
)
_RULE = "|---|---|---|---|---|---|---|---|---|---|---|"
_STAGE_HEAD = "| | fire the trigger | pass the impact model | pass the post-impact model (→ operator) |"


def report_markdown(report: dict[str, Any]) -> str:
    """Render the report as Markdown."""
    loso, subject = report["leave_one_source_out"], report["subject_cross_validation"]
    worst = loso["worst"]
    lines = [
        "# Fall classifier — training report",
        "",
        f"Stages: the bracelet's trigger at **{report['trigger_g']} g** (conditioned magnitude), the impact model "
        f"(threshold **{report['impact_threshold']}**), the whole-window model with the seconds after the impact "
        f"(threshold **{report['threshold']}**), then the operator. Model: {report['model']}.",
        f"Selection: {report['selection']}.",
        "",
        "## Each device held out (leave-one-source-out): the criterion",
        "",
        "Trained on the other sources; trigger and thresholds chosen on them "
        f"(thresholds in inner {report['config']['threshold_folds']}-wise folds).",
        "",
        _HEAD,
        _RULE,
    ]
    lines += [_row(f["held_out"], f) for f in loso["folds"]]
    lines += [_row("**all**", {**loso["overall"], "trigger_g": "per fold", "impact_threshold": "", "threshold": ""})]
    lines += [
        "",
        f"Worst left-out source: **{worst.get('source')}** — sensitivity {worst.get('sensitivity')}, specificity "
        f"{worst.get('specificity')}, older people {worst.get('specificity_elderly')}, "
        f"{worst.get('false_alarms_per_hour')} false alarms per hour.",
        "",
        "With a calibration from the device's own recordings (trigger and post-impact threshold chosen on half "
        "its subjects, judged on the other half, and the other way round; models as trained without it): "
        + "; ".join(
            f"{f['held_out']}: {c.get('sensitivity')} / {c.get('specificity')} / {c.get('specificity_elderly')} / "
            f"{c.get('false_alarms_per_hour')}"
            for f in loso["folds"]
            if (c := f.get("calibrated"))
        )
        + " (sensitivity / specificity / older people / false alarms per hour).",
        "",
        "Pass rates per stage (all left-out sources together):",
        "",
        *_stages(loso["overall"]["stages"]),
        "",
        "## Trade-off on unseen devices (leave-one-source-out, thresholds aimed at other sensitivities)",
        "",
        "Each fold's thresholds chosen on its training sources for the target; per source: sensitivity / "
        "specificity / older people / false alarms per hour.",
        "",
        "| target sensitivity | sensitivity | specificity | specificity (older) | false alarms / h | per source |",
        "|---|---|---|---|---|---|",
        *_trade(loso.get("operating_points", [])),
        "",
        "## Candidates (leave-one-source-out)",
        "",
        "| candidate | worst source | criterion | per source: sensitivity / specificity / older / false alarms per h |",
        "|---|---|---|---|",
    ]
    for c in report["candidates"]:
        per = "; ".join(
            f"{s}: {f['sensitivity']} / {f['specificity']} / {f['specificity_elderly']} / {f['false_alarms_per_hour']}"
            for s, f in c["per_source"].items()
        )
        lines.append(f"| {c['config']} | {c['worst'].get('source')} | {c['worst'].get('criterion')} | {per} |")
    lines += [
        "",
        "## Subjects held out (nested subject-wise cross-validation): secondary",
        "",
        "Devices seen in training, subjects not: optimistic for a new bracelet model.",
        "",
        _HEAD,
        _RULE,
    ]
    lines += [_row(f["held_out"], f) for f in subject["folds"]]
    lines += [_row("**all**", {**subject["overall"], "trigger_g": "per fold", "impact_threshold": "", "threshold": ""})]
    d = report["data"]
    lines += [
        "",
        "## Data",
        "",
        f"{d['trials']} trials ({d['falls']} falls, {d['adls']} ADLs) of {d['subjects']} subjects from "
        f"{', '.join(d['sources'])}; {d['windows']} windows, and {d['augmented_windows']} augmented copies for "
        "training.",
        "Falls were performed by volunteers onto mats: sensitivity here is an upper bound for real falls of older "
        "people. Fall trials whose impact never reaches the trigger are kept and count as misses.",
        "",
        f"Data: {report['citation']}",
        "",
    ]
    return "\n".join(lines)


def _row(name: str, r: dict[str, Any]) -> str:
    cells = [
        name,
        r.get("trigger_g", ""),
        r.get("impact_threshold", ""),
        r.get("threshold", ""),
        r["falls"],
        r["adls"],
        r["adls_elderly"],
        r["sensitivity"],
        r["specificity"],
        r["specificity_elderly"],
        r["false_alarms_per_hour"],
    ]
    return "| " + " | ".join(str(v) for v in cells) + " |"


def _trade(points: list[dict[str, Any]]) -> list[str]:
    lines = []
    for p in points:
        per = "; ".join(
            f"{s}: {f['sensitivity']} / {f['specificity']} / {f['specificity_elderly']} / {f['false_alarms_per_hour']}"
            for s, f in p["per_source"].items()
        )
        cells = [p["target_sensitivity"], p["sensitivity"], p["specificity"], p["specificity_elderly"]]
        lines.append("| " + " | ".join(str(v) for v in [*cells, p["false_alarms_per_hour"], per]) + " |")
    return lines


def _stages(stages: dict[str, Any]) -> list[str]:
    lines = [_STAGE_HEAD, "|---|---|---|---|"]
    for name, s in stages.items():
        lines.append(f"| {name} | {s['trigger']} | {s['impact_model']} | {s['post_impact_model']} |")
    return lines
