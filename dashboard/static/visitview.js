// What a welfare visit shows, shared by the staff page and the supervisors' visits page: its day, why it
// is planned (the reason and the trend signals, translated from the server's codes), how late it is,
// and the structured note it was closed with.
import { config, el, isZh, locale, t } from "./common.js";

const DAY_MS = 86400000;

export function fmtDay(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(locale(), { timeZone: config().timezone, month: "short", day: "numeric", weekday: "short" })
    .format(new Date(iso));
}

export function whyText(visit) {
  const signals = (visit.signals || []).map((code) => t("visit.signal." + code));
  const reason = t("visit.reason." + visit.reason);
  return signals.length ? `${reason}${isZh() ? "：" : ": "}${signals.join(isZh() ? "、" : ", ")}` : reason;
}

export function overdueTag(visit) {
  if (!visit.overdue) return null;
  const days = Math.max(1, Math.floor((Date.now() - Date.parse(visit.due_at)) / DAY_MS));
  return el("span", { class: "tag error", "data-testid": "visit-overdue" }, t("visit.overdue", { days }));
}

const yesNo = (value) => t(value ? "visit.yes" : "visit.no");

// The note's fields in the order a reader wants them; each turns its stored value into words.
export const NOTE_FIELDS = [
  { key: "wellbeing", label: "visit.wellbeing", text: (v) => t("visit.wellbeing." + v) },
  { key: "home_safe", label: "visit.home_safe", text: yesNo },
  { key: "follow_up", label: "visit.follow_up", text: yesNo },
];

export function findingsText(findings) {
  return NOTE_FIELDS.filter((f) => f.key in (findings || {}))
    .map((f) => `${t(f.label)}: ${f.text(findings[f.key])}`).join(" · ");
}
