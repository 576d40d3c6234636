// A phone that rings: a WebAudio tone and a vibration pattern, repeated every few seconds until stopped.
// The staff page rings while any task is offered to its user (a task waiting for an answer), and stops
// on accept, decline or timeout. Browsers start sound only after a gesture, so the first tap or key
// anywhere unlocks it; the vibration and the visible banner do not need one.
const PERIOD_MS = 3000;
const TONES = [0, 0.35];  // seconds into each ring: two long notes, like a phone
const PITCHES_HZ = [880, 660];
const VIBRATION_MS = [500, 200, 500];

export function makeRinger({ periodMs = PERIOD_MS } = {}) {
  const state = { timer: null, rings: 0, vibrations: 0, audio: null };
  const wake = () => { if (state.audio?.state === "suspended") state.audio.resume().catch(() => {}); };
  document.addEventListener("click", wake);
  document.addEventListener("keydown", wake);

  function tone() {
    try {
      state.audio ||= new AudioContext();
      wake();
      const start = state.audio.currentTime;
      TONES.forEach((offset, i) => {
        const osc = state.audio.createOscillator();
        const gain = state.audio.createGain();
        osc.frequency.value = PITCHES_HZ[i % PITCHES_HZ.length];
        gain.gain.value = 0.3;
        osc.connect(gain).connect(state.audio.destination);
        osc.start(start + offset);
        osc.stop(start + offset + 0.3);
      });
    } catch (_) { /* no audio device: the vibration and the banner still tell */ }
  }

  function ring() {
    state.rings += 1;
    tone();
    if (typeof navigator.vibrate === "function") {
      navigator.vibrate(VIBRATION_MS);
      state.vibrations += 1;
    }
  }

  function start() {
    if (state.timer !== null) return;
    ring();
    state.timer = setInterval(ring, periodMs);
  }

  function stop() {
    if (state.timer === null) return;
    clearInterval(state.timer);
    state.timer = null;
    if (typeof navigator.vibrate === "function") navigator.vibrate(0);
  }

  const status = {
    get ringing() { return state.timer !== null; },
    get rings() { return state.rings; },
    get vibrations() { return state.vibrations; },
    get audible() { return state.audio?.state === "running"; },
  };
  return { start, stop, status };
}
