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
  const cost = h("span", { class: "fluxpanel-cost", "data-part": "cost" });
  const title = h("strong", {});
  const message = h("span", { class: "fluxpanel-error-message" });
  const countdown = h("span", { class: "fluxpanel-countdown" });
  const dismiss = h("button", { class: "fluxpanel-link", "aria-label": "Dismiss", onclick: () => (error.hidden = true) }, "×");
  const error = h("div", { class: "fluxpanel-error", role: "alert", "data-part": "error", hidden: true }, title, " ", message, " ", countdown, dismiss);
  const el = h("div", { class: "fluxpanel-status" }, h("div", { class: "fluxpanel-row" }, go, stop, text, h("span", { class: "fluxpanel-spacer" }), cost), error);

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
    stopTicker();
    if (running) {
      const start = performance.now() - (s.elapsed || 0) * 1000;
      const tick = () => (text.textContent = `${s.statusText || "Generating"}… ${seconds((performance.now() - start) / 1000)}`);
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
