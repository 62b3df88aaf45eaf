// An image parameter's field: drop a file, paste from the clipboard or pick
// one; thumbnails of what the kernel holds (from the `inputs` trait, never
// the bytes), progress while a file travels, remove, and for a mask the
// painter. Everything it knows of the parameter comes from the spec.
import { h, fill } from "./dom.js";

const KB = 1024;
const size = (n) => (n >= KB * KB ? `${(n / KB / KB).toFixed(1)} MB` : `${Math.max(1, Math.round(n / KB))} KB`);

/** The image files of a DataTransfer or ClipboardData, in order. */
export function imageFiles(data) {
  const files = [...(data?.files || [])];
  if (files.length) return files;
  return [...(data?.items || [])].filter((i) => i.kind === "file").map((i) => i.getAsFile()).filter(Boolean);
}

/**
 * @param {object} opts
 * @param {object} opts.param     the parameter's spec (kind image or images, limits, mask_of)
 * @param {string} opts.id        id of the pick button (the field's label points at it)
 * @param {() => object[]} opts.entries    what the kernel holds for it now
 * @param {(file: Blob, append: boolean, onProgress: (f: number) => void) => Promise<string>} opts.upload
 * @param {(index: number) => void} opts.remove
 * @param {(from: number, to: number) => void} [opts.move]  reorder a list of references
 * @param {((index: number) => void) | null} [opts.cite]   put "image n" into the prompt
 * @param {(() => void) | null} opts.paint  open the mask painter (masks only)
 */
export function imageField({ param, id, entries, upload, remove, move, cite, paint }) {
  const many = param.kind === "images";
  // The number the prompt calls the first image by ("image 2" after an input image).
  const first = param.first_number ?? 1;
  const list = h("div", { class: "fluxpanel-input-list", role: "list" });
  const message = h("div", { class: "fluxpanel-input-message", role: "status", "aria-live": "polite" });
  const bar = h("progress", { class: "fluxpanel-input-progress", max: 1, value: 0, "aria-label": `Sending ${param.label}` });
  bar.hidden = true;
  const picker = h("input", { type: "file", accept: (param.limits?.formats || ["png", "jpeg", "webp"]).map((f) => `image/${f}`).join(","), multiple: many, hidden: true, tabindex: -1 });
  const pick = h("button", { id, class: "fluxpanel-link", type: "button", "data-action": "pick", onclick: () => picker.click() }, "choose a file");
  const limits = param.limits ? describe(param) : "";
  const zone = h(
    "div",
    {
      class: "fluxpanel-input-zone",
      tabindex: 0,
      role: "group",
      "aria-label": `${param.label}: drop an image, paste one, or choose a file`,
      title: limits,
      "data-drop-input": param.name,
    },
    h("span", {}, "Drop an image, paste it (Ctrl/Cmd+V) or "),
    pick,
  );
  const paintButton = paint
    ? h("button", { class: "fluxpanel-button", type: "button", "data-action": "paint-mask", onclick: () => paint() }, "Paint the mask")
    : null;
  const el = h("div", { class: "fluxpanel-input", "data-drop-input": param.name }, list, zone, paintButton, bar, picker, message);

  async function send(files) {
    const chosen = many ? files : files.slice(0, 1);
    for (const file of chosen) {
      bar.hidden = false;
      bar.value = 0;
      message.textContent = `Sending ${file.name || "the image"} (${size(file.size)})…`;
      try {
        await upload(file, many, (f) => (bar.value = f));
        message.textContent = "";
      } catch (err) {
        message.textContent = String(err.message || err);
        break;
      } finally {
        bar.hidden = true;
      }
    }
  }

  picker.addEventListener("change", () => {
    const files = [...picker.files];
    picker.value = "";
    if (files.length) send(files);
  });
  const over = (e) => {
    if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
    e.preventDefault();
    e.stopPropagation();
    zone.classList.add("fluxpanel-input-over");
  };
  el.addEventListener("dragover", over);
  el.addEventListener("dragleave", () => zone.classList.remove("fluxpanel-input-over"));
  el.addEventListener("drop", (e) => {
    const files = imageFiles(e.dataTransfer);
    if (!files.length) return;
    e.preventDefault();
    e.stopPropagation(); // an input, not settings to restore
    zone.classList.remove("fluxpanel-input-over");
    send(files);
  });
  zone.addEventListener("paste", (e) => {
    const files = imageFiles(e.clipboardData);
    if (!files.length) return;
    e.preventDefault();
    send(files);
  });
  zone.addEventListener("keydown", (e) => {
    if (e.target === zone && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      picker.click();
    }
  });

  // A list of references is reordered by dragging one onto another (or
  // Alt+arrows on its chip); the kernel renumbers "image n" in the prompt.
  const ORDER = "application/x-fluxpanel-reference";
  function reorderable(node, index, count) {
    if (!many || !move || count < 2) return node;
    node.draggable = true;
    node.addEventListener("dragstart", (e) => {
      e.dataTransfer.setData(ORDER, String(index));
      e.dataTransfer.effectAllowed = "move";
    });
    node.addEventListener("dragover", (e) => {
      if (![...e.dataTransfer.types].includes(ORDER)) return;
      e.preventDefault();
      node.classList.add("fluxpanel-input-target");
    });
    node.addEventListener("dragleave", () => node.classList.remove("fluxpanel-input-target"));
    node.addEventListener("drop", (e) => {
      const from = Number.parseInt(e.dataTransfer.getData(ORDER), 10);
      if (!Number.isInteger(from)) return;
      e.preventDefault();
      e.stopPropagation();
      node.classList.remove("fluxpanel-input-target");
      if (from !== index) move(from, index);
    });
    return node;
  }

  function chip(index, count) {
    if (!many) return null;
    const name = `image ${index + first}`;
    return h(
      "button",
      {
        class: "fluxpanel-chip",
        type: "button",
        "data-action": "cite-image",
        "data-index": index,
        title: `Put "${name}" into the prompt${move && count > 1 ? "; drag, or Alt+arrows, to reorder" : ""}`,
        onclick: () => cite?.(index),
        onkeydown: (e) => {
          const to = index + (e.key === "ArrowLeft" || e.key === "ArrowUp" ? -1 : e.key === "ArrowRight" || e.key === "ArrowDown" ? 1 : 0);
          if (!e.altKey || to === index || to < 0 || to >= count || !move) return;
          e.preventDefault();
          move(index, to);
        },
      },
      name,
    );
  }

  function update() {
    const all = entries();
    const items = all.map((entry, index) => {
      const what = entry.url ? entry.url : `${entry.width}×${entry.height} · ${size(entry.bytes)}`;
      return reorderable(h(
        "figure",
        { class: "fluxpanel-input-item", role: "listitem", "data-index": index, "data-sha256": entry.sha256 || "", title: entry.note || entry.name || "" },
        chip(index, all.length),
        entry.thumb || entry.url
          ? h("img", { src: entry.thumb || "", alt: entry.name || param.label, hidden: !entry.thumb })
          : h("span", { class: "fluxpanel-input-pending", "aria-hidden": "true" }),
        h(
          "figcaption",
          {},
          h("span", { class: "fluxpanel-input-name" }, entry.name || (many ? `image ${index + first}` : param.label)),
          h("span", { class: "fluxpanel-input-size" }, what),
          entry.note ? h("span", { class: "fluxpanel-input-note" }, entry.note) : null,
        ),
        h("button", { class: "fluxpanel-link", type: "button", "data-action": "remove-input", "aria-label": `Remove ${entry.name || param.label}`, onclick: () => remove(index) }, "Remove"),
      ), index, all.length);
    });
    fill(list, items);
    list.hidden = items.length === 0;
    const full = many && items.length >= (param.max ?? 1);
    zone.hidden = full;
    pick.textContent = !many && items.length ? "choose another" : "choose a file";
    if (paintButton) paintButton.disabled = !paint.ready?.();
  }

  update();
  return { el, update, send };
}

function describe(param) {
  const l = param.limits;
  const parts = [`${(l.formats || []).map((f) => f.toUpperCase()).join(", ")}`];
  if (l.min_side) parts.push(`at least ${l.min_side} px a side`);
  if (l.max_megapixels) parts.push(`at most ${l.max_megapixels} megapixels`);
  if (param.kind === "images") parts.push(`up to ${param.max} images`);
  if (param.mask_of) parts.push(`white is repainted, black kept; the size of ${param.mask_of}`);
  return parts.join("; ");
}
