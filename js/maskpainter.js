// The mask painter: paint over the image what should be repainted. The mask
// is drawn at the image's own size (white = repaint, black = keep, as the
// FLUX Fill hosts read it) and sent to the kernel as a PNG. Brush size,
// erase, clear, invert and undo; every tool is a button (keyboard reachable),
// with [ and ] for the brush, Ctrl/Cmd+Z to undo and Esc to close.
import { h } from "./dom.js";

const SHOW = "rgba(255, 40, 90, 0.55)"; // how the mask is shown over the image
const UNDO = 20;

/**
 * @param {object} opts
 * @param {HTMLElement} opts.host        where the dialog goes
 * @param {{width: number, height: number, name?: string}} opts.image
 * @param {() => Promise<string>} opts.picture   URL of a display-size picture of the image
 * @param {(png: Blob) => Promise<void>} opts.done  send the mask; the dialog closes once it is sent
 * @param {string} [opts.help]   what the model does with the painted part (the mask's own help)
 */
export function openMaskPainter({ host, image, picture, done, help = "White (what you paint) is repainted, black is kept." }) {
  const { width, height } = image;
  const mask = h("canvas", { width, height, class: "fluxpanel-mask-data" });
  const view = h("canvas", { width, height, class: "fluxpanel-mask-view", "aria-label": "Paint the mask over the image", role: "img" });
  const photo = h("img", { class: "fluxpanel-mask-photo", alt: image.name || "the image" });
  picture().then((url) => (photo.src = url)).catch(() => {});
  const m = mask.getContext("2d");
  const v = view.getContext("2d");
  m.fillStyle = "#000";
  m.fillRect(0, 0, width, height);

  let brush = Math.max(4, Math.round(Math.min(width, height) / 20));
  let erase = false;
  const history = [];

  const sizeInput = h("input", { type: "range", min: 2, max: Math.max(8, Math.round(Math.min(width, height) / 4)), value: brush, "aria-label": "Brush size", oninput: (e) => (brush = Number(e.target.value)) });
  const modeButton = h("button", { type: "button", class: "fluxpanel-button", "aria-pressed": "false", "data-action": "erase", onclick: () => setErase(!erase) }, "Erase");
  const status = h("span", { class: "fluxpanel-mask-status", role: "status", "aria-live": "polite" });
  const sendButton = h("button", { type: "button", class: "fluxpanel-button fluxpanel-primary", "data-action": "use-mask", onclick: () => finish() }, "Use this mask");

  function setErase(on) {
    erase = on;
    modeButton.setAttribute("aria-pressed", String(on));
    modeButton.textContent = on ? "Erasing (click to paint)" : "Erase";
  }

  function snapshot() {
    history.push(m.getImageData(0, 0, width, height));
    if (history.length > UNDO) history.shift();
  }

  /** Show the mask over the image: red where it is white. */
  function redraw() {
    const data = m.getImageData(0, 0, width, height);
    const out = v.createImageData(width, height);
    for (let i = 0; i < data.data.length; i += 4) {
      if (data.data[i] > 127) {
        out.data[i] = 255;
        out.data[i + 1] = 40;
        out.data[i + 2] = 90;
        out.data[i + 3] = 140;
      }
    }
    v.putImageData(out, 0, 0);
  }

  function point(e) {
    const r = view.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * width, ((e.clientY - r.top) / r.height) * height];
  }

  function line(ctx, colour, mode, from, to) {
    ctx.save();
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = brush;
    ctx.strokeStyle = colour;
    ctx.globalCompositeOperation = mode;
    ctx.beginPath();
    ctx.moveTo(...from);
    ctx.lineTo(...to);
    ctx.stroke();
    ctx.restore();
  }

  function stroke(from, to) {
    line(m, erase ? "#000" : "#fff", "source-over", from, to);
    line(v, erase ? "#000" : SHOW, erase ? "destination-out" : "source-over", from, to);
  }

  let last = null;
  view.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    view.setPointerCapture(e.pointerId);
    snapshot();
    last = point(e);
    stroke(last, last);
  });
  view.addEventListener("pointermove", (e) => {
    if (!last) return;
    const p = point(e);
    stroke(last, p);
    last = p;
  });
  const end = () => {
    if (last) redraw(); // the shown overlay follows the mask exactly
    last = null;
  };
  view.addEventListener("pointerup", end);
  view.addEventListener("pointercancel", end);

  function undo() {
    const previous = history.pop();
    if (!previous) return;
    m.putImageData(previous, 0, 0);
    redraw();
  }
  function clear() {
    snapshot();
    m.fillStyle = "#000";
    m.fillRect(0, 0, width, height);
    redraw();
  }
  function invert() {
    snapshot();
    const data = m.getImageData(0, 0, width, height);
    for (let i = 0; i < data.data.length; i += 4) {
      const x = data.data[i] > 127 ? 0 : 255;
      data.data[i] = data.data[i + 1] = data.data[i + 2] = x;
      data.data[i + 3] = 255;
    }
    m.putImageData(data, 0, 0);
    redraw();
  }

  const close = () => {
    dialog.remove();
    opener?.focus?.();
  };
  async function finish() {
    sendButton.disabled = true;
    status.textContent = "Sending the mask…";
    try {
      const blob = await new Promise((resolve, reject) => mask.toBlob((b) => (b ? resolve(b) : reject(new Error("the mask could not be encoded"))), "image/png"));
      await done(new File([blob], "mask.png", { type: "image/png" }));
      close();
    } catch (err) {
      status.textContent = String(err.message || err);
      sendButton.disabled = false;
    }
  }

  const tool = (label, action, onclick, title) => h("button", { type: "button", class: "fluxpanel-button", "data-action": action, title, onclick }, label);
  const opener = document.activeElement;
  const dialog = h(
    "div",
    {
      class: "fluxpanel-mask-dialog",
      role: "dialog",
      "aria-modal": "true",
      "aria-label": "Paint the mask",
      tabindex: -1,
      onkeydown: (e) => {
        if (e.key === "Escape") close();
        else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") {
          e.preventDefault();
          undo();
        } else if (e.key === "[" || e.key === "]") {
          brush = Math.max(2, Math.min(Number(sizeInput.max), brush + (e.key === "]" ? 4 : -4)));
          sizeInput.value = brush;
        }
        e.stopPropagation(); // the panel's keys, not the notebook's
      },
    },
    h("div", { class: "fluxpanel-mask-help" }, `${help} `, h("small", {}, `${width}×${height} · [ and ] change the brush · Ctrl/Cmd+Z undoes`)),
    h("div", { class: "fluxpanel-mask-stage", style: `aspect-ratio: ${width} / ${height}` }, photo, view),
    h(
      "div",
      { class: "fluxpanel-row fluxpanel-mask-tools" },
      h("label", { class: "fluxpanel-toggle" }, "Brush ", sizeInput),
      modeButton,
      tool("Undo", "undo", undo, "Ctrl/Cmd+Z"),
      tool("Clear", "clear", clear, "Keep everything"),
      tool("Invert", "invert", invert, "Swap repainted and kept"),
      h("span", { class: "fluxpanel-spacer" }),
      status,
      tool("Cancel", "cancel", close, "Esc"),
      sendButton,
    ),
  );
  host.append(dialog);
  dialog.focus();
  return { dialog, mask, undo, clear, invert, setErase };
}
