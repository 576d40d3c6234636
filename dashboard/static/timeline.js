// The case timeline, shared by the console, the staff page and the family page.
import { el, fmtTime, isZh, kindTitle, t } from "./common.js";

function describe(entry) {
  switch (entry.source) {
    case "transition": return t("state." + entry.what) + (entry.detail?.outcome ? ` (${t("outcome." + entry.detail.outcome)})` : "");
    case "finding": return kindTitle(entry.what) + (entry.detail?.cancels ? ` · ${t("timeline.cancel_key")}` : "");
    case "dispatch": return `${entry.note || ""} ${t("task." + entry.what)}`;
    case "reply": return `${entry.note || t("family")}: ${t("reply." + entry.what)}`;
    case "escalation": return t("escalation." + entry.what);
    case "notice": return `${t("timeline.notified")} ${entry.note || ""}`;
    default: return entry.what;
  }
}

export function renderTimeline(list, entries) {
  list.replaceChildren(...entries.map((entry) => el("li", { class: `tl tl-${entry.source}`, "data-testid": "timeline-entry" },
    el("time", {}, fmtTime(entry.at, true)), " ", describe(entry),
    entry.source === "finding" && entry.note ? el("div", { class: "muted" }, isZh() ? entry.detail?.zh || entry.note : entry.note) : null,
    entry.source === "transition" && entry.note ? el("div", { class: "muted" }, entry.note) : null)));
}
