// The re-alarm. An alert nobody acknowledged in time climbs its escalation ladder (the server counts the
// rungs passed in escalation_step); while any such alert is still unacknowledged, a banner names it and a
// tone repeats every few seconds on every open console, until someone acknowledges it. The console calls
// `update` with its queue after every change, so the pushed "escalated" change and the stored state of a
// console opened later ring alike. `window.anxinAlarm` tells tests (and curious operators) what rings.
import { el, kindTitle, t } from "./common.js";

const PERIOD_MS = 4000;
const TONES = [0, 0.25, 0.5];  // seconds into each ring: three short high beeps
const PITCH_HZ = 988;

export function needsRealarm(alert) {
  return alert.state === "raised" && alert.escalation_step > 0;
}

export function makeAlarm(banner, onPick) {
  const state = { timer: null, rings: 0, alerts: [], audio: null };
  const wake = () => { if (state.audio?.state === "suspended") state.audio.resume().catch(() => {}); };
  // Browsers start sound only after a gesture: the first click or key anywhere unlocks it.
  document.addEventListener("click", wake);
  document.addEventListener("keydown", wake);
  window.anxinAlarm = {
    get ringing() { return state.timer !== null; },
    get rings() { return state.rings; },
    get alerts() { return [...state.alerts]; },
    get audible() { return state.audio?.state === "running"; },
  };

  function ring() {
    state.rings += 1;
    try {
      state.audio ||= new AudioContext();
      wake();
      const start = state.audio.currentTime;
      for (const offset of TONES) {
        const osc = state.audio.createOscillator();
        const gain = state.audio.createGain();
        osc.frequency.value = PITCH_HZ;
        gain.gain.value = 0.25;
        osc.connect(gain).connect(state.audio.destination);
        osc.start(start + offset);
        osc.stop(start + offset + 0.15);
      }
    } catch (_) { /* no audio device: the banner still shows */ }
  }

  function update(alerts) {
    const due = alerts.filter(needsRealarm);
    state.alerts = due.map((a) => a.id);
    banner.hidden = due.length === 0;
    banner.replaceChildren(
      el("strong", {}, t("realarm.title", { n: due.length })), " ",
      ...due.map((a) => el("button", { class: "small", "data-testid": "realarm-alert", dataset: { alertId: a.id },
        onclick: () => onPick(a.id) },
      `${kindTitle(a.kind)} · ${a.resident_name || a.resident_id} · `,
      t("realarm.step", { n: a.escalation_step }), " · ", el("span", { class: "age", dataset: { since: a.raised_at } }))),
    );
    if (due.length && state.timer === null) {
      ring();
      state.timer = setInterval(ring, PERIOD_MS);
    } else if (!due.length && state.timer !== null) {
      clearInterval(state.timer);
      state.timer = null;
    }
  }

  return { update };
}
