// The action bar: Generate and Cancel, what is happening and for how long,
// and errors as readable messages (with a countdown when a retry time is known).
import { h, seconds } from "./dom.js";

/**
 * @param {object} opts
 * @param {() => void} opts.generate
 * @param {() => void} opts.cancel
 */
export function createStatus({ generate, cancel }) {
  const go = h("button", { class: "fluxpanel-primary", "data-action": "generate", onclick: () => generate() }, "Generate");
  const stop = h("button", { class: "fluxpanel-secondary", "data-action": "cancel", onclick: () => cancel(), hidden: true }, "Cancel");
  const text = h("span", { class: "fluxpanel-status-text", "data-part": "status", "aria-live": "polite" });
  // How far the generation is: a bar that fills where the host says how far
  // (or while images download), and moves without a value where it does not.
  const bar = h("progress", { class: "fluxpanel-progress", "data-part": "progress", max: 1, hidden: true, "aria-label": "Progress" });
  const phase = h("span", { class: "fluxpanel-phase", "data-part": "phase" });
  const progressRow = h("div", { class: "fluxpanel-row fluxpanel-progress-row" }, bar, phase);
  progressRow.hidden = true;
  const cost = h("span", { class: "fluxpanel-cost", "data-part": "cost" });
  const estimate = h("span", { class: "fluxpanel-estimate", "data-part": "estimate", title: "What Generate is expected to cost with these settings (the host's bill is what counts)" });
  const title = h("strong", {});
  const message = h("span", { class: "fluxpanel-error-message" });
  const countdown = h("span", { class: "fluxpanel-countdown" });
  const dismiss = h("button", { class: "fluxpanel-link", "aria-label": "Dismiss", onclick: () => (error.hidden = true) }, "×");
  const error = h("div", { class: "fluxpanel-error", role: "alert", "data-part": "error", hidden: true }, title, " ", message, " ", countdown, dismiss);
  const el = h("div", { class: "fluxpanel-status" }, h("div", { class: "fluxpanel-row" }, go, stop, text, h("span", { class: "fluxpanel-spacer" }), estimate, cost), progressRow, error);

  let ticker = null;
  let countdownTimer = null;
  const stopTicker = () => ticker && (clearInterval(ticker), (ticker = null));
  const stopCountdown = () => countdownTimer && (clearInterval(countdownTimer), (countdownTimer = null));

  /**
   * @param {object} s  { status, statusText, elapsed, canGenerate, error, cost }
   */
  function update(s) {
    const running = s.status === "running";
    go.disabled = running || !s.canGenerate;
    go.title = s.canGenerate ? "Generate (Ctrl/Cmd+Enter in the prompt)" : s.blocked || "";
    stop.hidden = !running;
    el.dataset.status = s.status;
    cost.textContent = s.cost || "";
    estimate.textContent = running ? "" : s.estimate || "";
    stopTicker();
    const p = s.progress || {};
    progressRow.hidden = !running;
    bar.hidden = !running;
    if (running && typeof p.fraction === "number") bar.value = p.fraction;
    else bar.removeAttribute("value"); // indeterminate: the host says nothing
    bar.dataset.phase = p.phase || "";
    if (running) {
      const start = performance.now() - (s.elapsed || 0) * 1000;
      const tick = () => {
        const spent = (performance.now() - start) / 1000;
        text.textContent = `${s.statusText || "Generating"}… ${seconds(spent)}`;
        const usual = p.expected > 0 ? ` · usually about ${seconds(p.expected)} here` : "";
        phase.textContent = `${p.text || "Working"}${usual}`;
      };
      tick();
      ticker = setInterval(tick, 100);
    } else {
      text.textContent = s.statusText || "";
    }
    stopCountdown();
    const err = s.error || {};
    error.hidden = !err.message;
    title.textContent = err.title || "";
    message.textContent = err.message || "";
    countdown.textContent = "";
    if (err.retry_after > 0) {
      const until = performance.now() + err.retry_after * 1000;
      const tick = () => {
        const left = (until - performance.now()) / 1000;
        countdown.textContent = left > 0 ? `You can try again in ${Math.ceil(left)} s.` : "You can try again now.";
        if (left <= 0) stopCountdown();
      };
      tick();
      countdownTimer = setInterval(tick, 250);
    }
  }

  return { el, update, destroy: () => (stopTicker(), stopCountdown()) };
}
