// The mask painter: paint over the image what should be repainted. The mask
// is drawn at the image's own size (white = repaint, black = keep, as the
// FLUX Fill hosts read it) and sent to the kernel as a PNG. Brush size,
// erase, clear, invert and undo; every tool is a button (keyboard reachable),
// with [ and ] for the brush, Ctrl/Cmd+Z to undo and Esc to close.
import { h } from "./dom.js";

const SHOW = "rgba(255, 40, 90, 0.55)"; // how the mask is shown over the image
const UNDO = 20;
// The mask is painted at most this many pixels a side (what the screen shows)
// and scaled to the image's own size once, when it is used: a phone photo's
// twenty undo steps are megabytes, not gigabytes.
const SIDE = 1024;

/** Each pixel of `ctx` white where it was light (or dark, when `invert`), else black. */
function blackAndWhite(ctx, width, height, invert) {
  const data = ctx.getImageData(0, 0, width, height);
  for (let i = 0; i < data.data.length; i += 4) {
    const x = data.data[i] > 127 !== invert ? 255 : 0;
    data.data[i] = data.data[i + 1] = data.data[i + 2] = x;
    data.data[i + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
}

/**
 * @param {object} opts
 * @param {HTMLElement} opts.host        where the dialog goes
 * @param {{width: number, height: number, name?: string}} opts.image
 * @param {() => Promise<string>} opts.picture   URL of a display-size picture of the image
 * @param {(png: Blob) => Promise<void>} opts.done  send the mask; the dialog closes once it is sent
 * @param {string} [opts.help]   what the model does with the painted part (the mask's own help)
 */

function line(ctx, colour, mode, width, from, to) {
  ctx.save();
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = width;
  ctx.strokeStyle = colour;
  ctx.globalCompositeOperation = mode;
  ctx.beginPath();
  ctx.moveTo(...from);
  ctx.lineTo(...to);
  ctx.stroke();
  ctx.restore();
}

export class MaskPainter {
  #brush;
  #done;
  #erase;
  #image;
  #height;
  #history;
  #last;
  #m;
  #modeButton;
  #opener;
  #photo;
  #sendButton;
  #sizeInput;
  #status;
  #v;
  #view;
  #width;

  constructor({ host, image, picture, done, help = "White (what you paint) is repainted, black is kept." }) {
    const scale = Math.min(1, SIDE / Math.max(image.width, image.height));
    const width = Math.max(1, Math.round(image.width * scale));
    const height = Math.max(1, Math.round(image.height * scale));
    this.#image = image;
    this.#width = width;
    this.#height = height;
    this.#done = done;
    this.mask = h("canvas", { width, height, class: "mask-data" });
    this.#view = h("canvas", { width, height, class: "mask-view", "aria-label": "Paint the mask over the image", role: "img" });
    this.#photo = h("img", { class: "mask-photo", alt: image.name || "the image" });
    picture().then((url) => (this.#photo.src = url)).catch(() => {});
    this.#m = this.mask.getContext("2d");
    this.#v = this.#view.getContext("2d");
    this.#m.fillStyle = "#000";
    this.#m.fillRect(0, 0, width, height);
    this.#brush = Math.max(4, Math.round(Math.min(width, height) / 20));
    this.#erase = false;
    this.#history = [];
    this.#last = null;
    this.#opener = document.activeElement;
    this.dialog = this.#build(help);
    this.#paintWithPointer();
    host.append(this.dialog);
    this.dialog.focus();
  }

  #build(help) {
    const width = this.#width, height = this.#height;
    this.#sizeInput = h("input", { type: "range", min: 2, max: Math.max(8, Math.round(Math.min(width, height) / 4)), value: this.#brush, "aria-label": "Brush size", oninput: (e) => (this.#brush = Number(e.target.value)) });
    this.#modeButton = h("button", { type: "button", class: "button", "aria-pressed": "false", "data-action": "erase", onclick: () => this.setErase(!this.#erase) }, "Erase");
    this.#status = h("span", { class: "mask-status", role: "status", "aria-live": "polite" });
    this.#sendButton = h("button", { type: "button", class: "button primary", "data-action": "use-mask", onclick: () => this.#finish() }, "Use this mask");
    const tool = (label, action, onclick, title) => h("button", { type: "button", class: "button", "data-action": action, title, onclick }, label);
    const tools = h(
      "div",
      { class: "row mask-tools" },
      h("label", { class: "toggle" }, "Brush ", this.#sizeInput),
      this.#modeButton,
      tool("Undo", "undo", () => this.undo(), "Ctrl/Cmd+Z"),
      tool("Clear", "clear", () => this.clear(), "Keep everything"),
      tool("Invert", "invert", () => this.invert(), "Swap repainted and kept"),
      h("span", { class: "spacer" }),
      this.#status,
      tool("Cancel", "cancel", () => this.#close(), "Esc"),
      this.#sendButton,
    );
    return h(
      "div",
      { class: "mask-dialog", role: "dialog", "aria-modal": "true", "aria-label": "Paint the mask", tabindex: -1, onkeydown: (e) => this.#key(e) },
      h("div", { class: "mask-help" }, `${help} `, h("small", {}, `${this.#image.width}×${this.#image.height} · [ and ] change the brush · Ctrl/Cmd+Z undoes`)),
      h("div", { class: "mask-stage", style: `aspect-ratio: ${width} / ${height}` }, this.#photo, this.#view),
      tools,
    );
  }

  #key(e) {
    if (e.key === "Escape") this.#close();
    else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") {
      e.preventDefault();
      this.undo();
    } else if (e.key === "[" || e.key === "]") {
      this.#brush = Math.max(2, Math.min(Number(this.#sizeInput.max), this.#brush + (e.key === "]" ? 4 : -4)));
      this.#sizeInput.value = this.#brush;
    }
    e.stopPropagation(); // the panel's keys, not the notebook's
  }

  setErase(on) {
    this.#erase = on;
    this.#modeButton.setAttribute("aria-pressed", String(on));
    this.#modeButton.textContent = on ? "Erasing (click to paint)" : "Erase";
  }

  #snapshot() {
    this.#history.push(this.#m.getImageData(0, 0, this.#width, this.#height));
    if (this.#history.length > UNDO) this.#history.shift();
  }

  /** Show the mask over the image: red where it is white. */
  #redraw() {
    const width = this.#width, height = this.#height;
    const data = this.#m.getImageData(0, 0, width, height);
    const out = this.#v.createImageData(width, height);
    for (let i = 0; i < data.data.length; i += 4) {
      if (data.data[i] > 127) {
        out.data[i] = 255;
        out.data[i + 1] = 40;
        out.data[i + 2] = 90;
        out.data[i + 3] = 140;
      }
    }
    this.#v.putImageData(out, 0, 0);
  }

  #point(e) {
    const r = this.#view.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * this.#width, ((e.clientY - r.top) / r.height) * this.#height];
  }

  #stroke(from, to) {
    const erase = this.#erase, brush = this.#brush;
    line(this.#m, erase ? "#000" : "#fff", "source-over", brush, from, to);
    line(this.#v, erase ? "#000" : SHOW, erase ? "destination-out" : "source-over", brush, from, to);
  }

  #paintWithPointer() {
    const view = this.#view;
    view.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      view.setPointerCapture(e.pointerId);
      this.#snapshot();
      this.#last = this.#point(e);
      this.#stroke(this.#last, this.#last);
    });
    view.addEventListener("pointermove", (e) => {
      if (!this.#last) return;
      const p = this.#point(e);
      this.#stroke(this.#last, p);
      this.#last = p;
    });
    const end = () => {
      if (this.#last) this.#redraw(); // the shown overlay follows the mask exactly
      this.#last = null;
    };
    view.addEventListener("pointerup", end);
    view.addEventListener("pointercancel", end);
  }

  undo() {
    const previous = this.#history.pop();
    if (!previous) return;
    this.#m.putImageData(previous, 0, 0);
    this.#redraw();
  }

  clear() {
    this.#snapshot();
    this.#m.fillStyle = "#000";
    this.#m.fillRect(0, 0, this.#width, this.#height);
    this.#redraw();
  }

  invert() {
    this.#snapshot();
    blackAndWhite(this.#m, this.#width, this.#height, true);
    this.#redraw();
  }

  #close() {
    this.dialog.remove();
    this.#opener?.focus?.();
  }

  /** The mask at the image's own size, black and white: scaled once. */
  #fullSize() {
    const { width, height } = this.#image;
    if (width === this.#width && height === this.#height) return this.mask;
    const full = h("canvas", { width, height });
    const ctx = full.getContext("2d");
    ctx.drawImage(this.mask, 0, 0, width, height);
    blackAndWhite(ctx, width, height, false);
    return full;
  }

  async #finish() {
    this.#sendButton.disabled = true;
    this.#status.textContent = "Sending the mask…";
    try {
      const full = this.#fullSize();
      const blob = await new Promise((resolve, reject) =>
        full.toBlob((b) => (b ? resolve(b) : reject(new Error("the mask could not be encoded"))), "image/png"),
      );
      await this.#done(new File([blob], "mask.png", { type: "image/png" }));
      this.#close();
    } catch (err) {
      this.#status.textContent = String(err.message || err);
      this.#sendButton.disabled = false;
    }
  }
}
