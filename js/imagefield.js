// An image parameter's field: drop a file, paste from the clipboard or pick
// one; thumbnails of what the kernel holds (from the `inputs` trait, never
// the bytes), progress while a file travels, remove, and for a mask the
// painter. Everything it knows of the parameter comes from the spec.
import { h, fill } from "./dom.js";

const KB = 1024;
const size = (n) => (n >= KB * KB ? `${(n / KB / KB).toFixed(1)} MB` : `${Math.max(1, Math.round(n / KB))} KB`);
// A reference dragged onto another: its place in the list.
const ORDER = "application/x-fluxpanel-reference";

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
export class ImageField {
  #under;
  #bar;
  #cite;
  #entries;
  #first;
  #list;
  #many;
  #message;
  #move;
  #paint;
  #paintButton;
  #param;
  #pick;
  #picker;
  #remove;
  #upload;
  #zone;

  constructor({ param, id, entries, upload, remove, move, cite, paint, under }) {
    this.#param = param;
    this.#under = under; // a mask's image: the mask is shown tinted over it
    this.#entries = entries;
    this.#upload = upload;
    this.#remove = remove;
    this.#move = move;
    this.#cite = cite;
    this.#paint = paint;
    this.#many = param.kind === "images";
    // The number the prompt calls the first image by ("image 2" after an input image).
    this.#first = param.first_number ?? 1;
    this.#list = h("div", { class: "input-list", role: "list" });
    this.#message = h("div", { class: "input-message", role: "status", "aria-live": "polite" });
    this.#bar = h("progress", { class: "input-progress", max: 1, value: 0, "aria-label": `Sending ${param.label}` });
    this.#bar.hidden = true;
    const formats = (param.limits?.formats || ["png", "jpeg", "webp"]).map((f) => `image/${f}`).join(",");
    this.#picker = h("input", { type: "file", accept: formats, multiple: this.#many, hidden: true, tabindex: -1 });
    this.#pick = h("button", { id, class: "link", type: "button", "data-action": "pick", onclick: () => this.#picker.click() }, "choose a file");
    this.#zone = h(
      "div",
      {
        class: "input-zone",
        tabindex: 0,
        role: "group",
        "aria-label": `${param.label}: drop an image, paste one, or choose a file`,
        title: param.limits ? describe(param) : "",
        "data-drop-input": param.name,
      },
      h("span", {}, "Drop an image, paste it (Ctrl/Cmd+V) or "),
      this.#pick,
    );
    this.#paintButton = paint
      ? h("button", { class: "button", type: "button", "data-action": "paint-mask", onclick: () => paint() }, "Paint the mask")
      : null;
    this.el = h("div", { class: "input", "data-drop-input": param.name }, this.#list, this.#zone, this.#paintButton, this.#bar, this.#picker, this.#message);
    this.#listen();
    this.update();
  }

  async send(files) {
    const chosen = this.#many ? files : files.slice(0, 1);
    for (const file of chosen) {
      // The file is read first; the page says so while it is.
      const sent = this.#upload(file, this.#many, (f) => (this.#bar.value = f));
      this.#bar.hidden = false;
      this.#bar.value = 0;
      this.#message.textContent = `Sending ${file.name || "the image"} (${size(file.size)})…`;
      try {
        await sent;
        this.#message.textContent = "";
      } catch (err) {
        this.#message.textContent = String(err.message || err);
        break;
      } finally {
        this.#bar.hidden = true;
      }
    }
  }

  #listen() {
    const picker = this.#picker, zone = this.#zone, el = this.el;
    picker.addEventListener("change", () => {
      const files = [...picker.files];
      picker.value = "";
      if (files.length) this.send(files);
    });
    el.addEventListener("dragover", (e) => {
      if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
      e.preventDefault();
      e.stopPropagation();
      zone.classList.add("fluxpanel-input-over");
    });
    el.addEventListener("dragleave", () => zone.classList.remove("fluxpanel-input-over"));
    el.addEventListener("drop", (e) => {
      const files = imageFiles(e.dataTransfer);
      if (!files.length) return;
      e.preventDefault();
      e.stopPropagation(); // an input, not settings to restore
      zone.classList.remove("fluxpanel-input-over");
      this.send(files);
    });
    zone.addEventListener("paste", (e) => {
      const files = imageFiles(e.clipboardData);
      if (!files.length) return;
      e.preventDefault();
      this.send(files);
    });
    zone.addEventListener("keydown", (e) => {
      if (e.target === zone && (e.key === "Enter" || e.key === " ")) {
        e.preventDefault();
        picker.click();
      }
    });
  }

  /** A list of references is reordered by dragging one onto another (or
   * Alt+arrows on its chip); the kernel renumbers "image n" in the prompt. */
  #reorderable(node, index, count) {
    if (!this.#many || !this.#move || count < 2) return node;
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
      if (from !== index) this.#move(from, index);
    });
    return node;
  }

  #chip(index, count) {
    if (!this.#many) return null;
    const name = `image ${index + this.#first}`;
    const move = this.#move, cite = this.#cite;
    const keys = (e) => {
      const back = e.key === "ArrowLeft" || e.key === "ArrowUp";
      const on = e.key === "ArrowRight" || e.key === "ArrowDown";
      const to = index + (back ? -1 : on ? 1 : 0);
      if (!e.altKey || to === index || to < 0 || to >= count || !move) return;
      e.preventDefault();
      move(index, to);
    };
    const hint = move && count > 1 ? "; drag, or Alt+arrows, to reorder" : "";
    return h(
      "button",
      { class: "chip", type: "button", "data-action": "cite-image", "data-index": index, title: `Put "${name}" into the prompt${hint}`, onclick: () => cite?.(index), onkeydown: keys },
      name,
    );
  }

  #item(entry, index, count) {
    const param = this.#param, many = this.#many;
    const what = entry.url ? entry.url : `${entry.width}×${entry.height} · ${size(entry.bytes)}`;
    const image = this.#under?.();
    const picture = image?.thumb && entry.thumb
      ? h("span", { class: "masked", "data-part": "masked", title: "What the mask lets change, tinted over its image" },
          h("img", { src: image.thumb, alt: `${param.label} over ${image.name || "its image"}` }),
          h("span", { class: "tint", style: `mask-image:url(${entry.thumb})` }))
      : entry.thumb || entry.url
        ? h("img", { src: entry.thumb || "", alt: entry.name || param.label, hidden: !entry.thumb })
        : h("span", { class: "input-pending", "aria-hidden": "true" });
    const caption = h(
      "figcaption",
      {},
      h("span", { class: "input-name" }, entry.name || (many ? `image ${index + this.#first}` : param.label)),
      h("span", { class: "input-size" }, what),
      entry.note ? h("span", { class: "input-note" }, entry.note) : null,
    );
    const remove = h("button", { class: "link", type: "button", "data-action": "remove-input", "aria-label": `Remove ${entry.name || param.label}`, onclick: () => this.#remove(index) }, "Remove");
    const figure = h(
      "figure",
      { class: "input-item", role: "listitem", "data-index": index, "data-sha256": entry.sha256 || "", title: entry.note || entry.name || "" },
      this.#chip(index, count),
      picture,
      caption,
      remove,
    );
    return this.#reorderable(figure, index, count);
  }

  update() {
    const all = this.#entries();
    const items = all.map((entry, index) => this.#item(entry, index, all.length));
    fill(this.#list, items);
    this.#list.hidden = items.length === 0;
    this.#zone.hidden = this.#many && items.length >= (this.#param.max ?? 1);
    this.#pick.textContent = !this.#many && items.length ? "choose another" : "choose a file";
    if (this.#paintButton) this.#paintButton.disabled = !this.#paint.ready?.();
  }
}

/** A mask tinted over its image, large, while both are given (kernel's pictures at display size). */
export class MaskView {
  #entries;
  #frame;
  #param;
  #photo;
  #picture;
  #shown = "";
  #tint;

  constructor({ param, entries, picture }) {
    this.#param = param;
    this.#entries = entries;
    this.#picture = picture;
    this.#photo = h("img", { alt: `${param.label} over its image` });
    this.#tint = h("span", { class: "tint" });
    this.#frame = h("span", { class: "masked" }, this.#photo, this.#tint);
    const caption = h("figcaption", {}, `${param.label}: the tinted part is what changes`);
    this.el = h("figure", { class: "mask-large", "data-part": "mask-large", hidden: true }, this.#frame, caption);
    this.update();
  }

  async update() {
    const { mask_of: under, name } = this.#param;
    const [image] = this.#entries(under), [mask] = this.#entries(name);
    const key = image?.sha256 && mask?.sha256 ? `${image.sha256} ${mask.sha256}` : "";
    if (key === this.#shown) return;
    this.#shown = key;
    this.el.hidden = true;
    if (!key) return;
    const [photo, tint] = await Promise.all([this.#picture(under, 0), this.#picture(name, 0)]).catch(() => []);
    if (this.#shown !== key || !photo) return;
    this.#frame.style.setProperty("--ratio", String(image.width / image.height));
    this.#photo.src = photo;
    this.#tint.style.maskImage = `url(${tint})`;
    this.el.hidden = false;
  }
}

function describe(param) {
  const l = param.limits;
  const parts = [`${(l.formats || []).map((f) => f.toUpperCase()).join(", ")}`];
  if (l.min_side) parts.push(`at least ${l.min_side} px a side`);
  if (l.max_megapixels) parts.push(`at most ${l.max_megapixels} megapixels`);
  if (param.kind === "images") parts.push(`up to ${param.max} images`);
  if (param.mask_of) parts.push("white changes, black is kept");
  return parts.join("; ");
}
