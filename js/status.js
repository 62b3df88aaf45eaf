// The action bar: Generate and Cancel, what is happening and for how long,
// and errors as readable messages (with a countdown when a retry time is known).
import { h, seconds } from "./dom.js";

/**
 * @param {object} opts
 * @param {() => void} opts.generate
 * @param {() => void} opts.cancel
 */

/** The error line: a title, the message, a countdown, and ×. */
function errorLine() {
  const title = h("strong", {});
  const message = h("span", { class: "error-message" });
  const countdown = h("span", { class: "countdown" });
  const dismiss = h("button", { class: "link", "aria-label": "Dismiss", onclick: () => (el.hidden = true) }, "×");
  const el = h("div", { class: "error", role: "alert", "data-part": "error", hidden: true }, title, " ", message, " ", countdown, dismiss);
  return { el, title, message, countdown };
}

export class Status {
  #bar;
  #cost;
  #countdownTimer;
  #error;
  #estimate;
  #go;
  #phase;
  #progressRow;
  #stopButton;
  #text;
  #start = null;
  #ticker;

  constructor({ generate, cancel }) {
    this.#go = h("button", { class: "primary", "data-action": "generate", onclick: () => generate() }, "Generate");
    this.#stopButton = h("button", { class: "secondary", "data-action": "cancel", onclick: () => cancel(), hidden: true }, "Cancel");
    this.#text = h("span", { class: "status-text", "data-part": "status", "aria-live": "polite" });
    // How far the generation is: a bar that fills where the host says how far
    // (or while images download), and moves without a value where it does not.
    this.#bar = h("progress", { class: "progress", "data-part": "progress", max: 1, hidden: true, "aria-label": "Progress" });
    this.#phase = h("span", { class: "phase", "data-part": "phase" });
    this.#progressRow = h("div", { class: "row progress-row" }, this.#bar, this.#phase);
    this.#progressRow.hidden = true;
    this.#cost = h("span", { class: "cost", "data-part": "cost" });
    this.#estimate = h("span", { class: "estimate", "data-part": "estimate", title: "What Generate is expected to cost with these settings (the host's bill is what counts)" });
    this.#error = errorLine();
    const row = h("div", { class: "row" }, this.#go, this.#stopButton, this.#text, h("span", { class: "spacer" }), this.#estimate, this.#cost);
    this.el = h("div", { class: "status" }, row, this.#progressRow, this.#error.el);
    this.#ticker = null;
    this.#countdownTimer = null;
  }

  stop() {
    if (this.#ticker) clearInterval(this.#ticker);
    if (this.#countdownTimer) clearInterval(this.#countdownTimer);
    this.#ticker = this.#countdownTimer = null;
  }

  /** @param {object} s  { status, statusText, elapsed, canGenerate, blocked, error, cost, estimate, progress } */
  update(s) {
    const running = s.status === "running";
    this.#go.disabled = running || !s.canGenerate;
    this.#go.title = s.canGenerate ? "Generate (Ctrl/Cmd+Enter in the prompt)" : s.blocked || "";
    this.#stopButton.hidden = !running;
    this.el.dataset.status = s.status;
    this.#cost.textContent = s.cost || "";
    this.#estimate.textContent = running ? "" : s.estimate || "";
    this.stop();
    this.#showProgress(running, s);
    this.#showError(s.error || {});
  }

  #showProgress(running, s) {
    const p = s.progress || {};
    this.#progressRow.hidden = !running;
    this.#bar.hidden = !running;
    if (running && typeof p.fraction === "number") this.#bar.value = p.fraction;
    else this.#bar.removeAttribute("value"); // indeterminate: the host says nothing
    this.#bar.dataset.phase = p.phase || "";
    if (!running) {
      this.#text.textContent = s.statusText || "";
      this.#start = null;
      return;
    }
    // The run's own clock: set when it begins, not at each image or progress step.
    const start = (this.#start ??= performance.now() - (s.elapsed || 0) * 1000);
    const tick = () => {
      const spent = (performance.now() - start) / 1000;
      this.#text.textContent = `${s.statusText || "Generating"}… ${seconds(spent)}`;
      const usual = p.expected > 0 ? ` · usually about ${seconds(p.expected)} here` : "";
      this.#phase.textContent = `${p.text || "Working"}${usual}`;
    };
    tick();
    this.#ticker = setInterval(tick, 100);
  }

  #showError(err) {
    const { el, title, message, countdown } = this.#error;
    el.hidden = !err.message;
    title.textContent = err.title || "";
    message.textContent = err.message || "";
    countdown.textContent = "";
    if (!(err.retry_after > 0)) return;
    const until = performance.now() + err.retry_after * 1000;
    const tick = () => {
      const left = (until - performance.now()) / 1000;
      countdown.textContent = left > 0 ? `You can try again in ${Math.ceil(left)} s.` : "You can try again now.";
      if (left <= 0 && this.#countdownTimer) clearInterval(this.#countdownTimer);
    };
    tick();
    this.#countdownTimer = setInterval(tick, 250);
  }
}
