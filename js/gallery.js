// The images of the current result: display-size previews, a caption with
// seed and model, "reuse this seed", download of the original, a larger view
// on click, FLUX 3's boxes over the result and the prompt as it expanded it.
import { h, fill } from "./dom.js";

const seedWords = (seed) => (seed === null ? "no seed" : `seed ${seed}`);
// One seed made the whole batch where the host seeds it so: said as such.
const seedOf = (tile) => (tile.batch ? `seed of the batch ${tile.seed}` : seedWords(tile.seed));

/**
 * @param {object} opts
 * @param {(tile: object) => Promise<string>} opts.preview   object URL of a tile's preview
 * @param {(tile: object) => Promise<{url: string, name: string}>} opts.original
 * @param {(seed: number) => void} opts.reuseSeed
 * @param {() => void} opts.save        save every image of the result, with a manifest
 * @param {(tile: object) => void} opts.useInput  make this image the input of an edit
 * @param {(name: string) => void} opts.editBox     start an edit of one box of the result
 * @param {() => void} opts.usePrompt                the expanded prompt becomes the prompt
 * @param {(source: HTMLElement, action: string) => HTMLElement[]} opts.copy  a Copy button and its status
 */

/** The prompt as the model expanded it (FLUX 3), with the boxes it added. */
function expandedPrompt({ usePrompt, copy }) {
  const text = h("pre", { class: "code expanded-text", "data-part": "expanded-prompt" });
  const use = h("button", { class: "link", type: "button", "data-action": "use-prompt", title: "Make this the prompt: its text, and its boxes in the box editor", onclick: () => usePrompt() }, "Use this prompt");
  const el = h(
    "details",
    { class: "expanded" },
    h("summary", {}, "Prompt as the model expanded it"),
    h("div", { class: "row" }, use, h("span", { class: "spacer" }), ...copy(text, "copy-expanded")),
    text,
  );
  el.hidden = true;
  return { el, text };
}

/** The result's boxes over its first image, each with "Edit". */
function resultBoxes(boxes, editBox) {
  return h(
    "div",
    { class: "result-boxes", "data-part": "result-boxes" },
    boxes.map((b, i) => {
      const [top, left, bottom, right] = b.bbox;
      const style = `top:${top / 10}%;left:${left / 10}%;height:${(bottom - top) / 10}%;width:${(right - left) / 10}%`;
      const edit = h("button", { class: "box-label", type: "button", "data-action": "edit-box", title: `Edit only what is inside <${b.id}>: ${b.desc}`, onclick: () => editBox(b.id) }, `Edit ${b.id}`);
      return h("div", { class: `result-box box-c${i % 5}`, style, "data-box": b.id, title: `<${b.id}> ${b.desc}` }, edit);
    }),
  );
}

/** A seed worth fixing: the tile's own (in a batch seeded as one, the first's). */
const reusable = (tile) => tile.seed !== null && !(tile.batch && tile.index > 0);

export class Gallery {
  #boxes;
  #boxesToggle;
  #empty;
  #expanded;
  #grid;
  #lightbox = null;
  #opts;
  #tiles = [];
  #shown;
  #toolbar;

  constructor(opts) {
    this.#opts = opts;
    this.#grid = h("div", { class: "grid", "data-part": "images" });
    const saveAll = h(
      "button",
      { class: "link", "data-action": "save-all", title: "Save the images and a manifest (request, seeds, hashes) to a folder next to the notebook", onclick: () => opts.save() },
      "Save all",
    );
    // Where each element is (FLUX 3's boxes, the host's own among them), over the result.
    this.#boxesToggle = h(
      "button",
      { class: "link", type: "button", "data-action": "toggle-boxes", "aria-pressed": "true", title: "Show or hide where each element of the picture is", onclick: () => this.#toggleBoxes() },
      "Boxes",
    );
    this.#boxesToggle.hidden = true;
    this.#toolbar = h("div", { class: "row gallery-tools" }, this.#boxesToggle, h("span", { class: "spacer" }), saveAll);
    this.#expanded = expandedPrompt(opts);
    this.#empty = h("div", { class: "empty" }, "Your images appear here. Write a prompt and press Generate (Ctrl/Cmd+Enter).");
    this.el = h("div", { class: "gallery" }, this.#empty, this.#grid, this.#toolbar, this.#expanded.el);
    this.#shown = "";
    this.#boxes = [];
  }

  #toggleBoxes() {
    const on = this.#boxesToggle.getAttribute("aria-pressed") !== "true";
    this.#boxesToggle.setAttribute("aria-pressed", String(on));
    this.#grid.classList.toggle("fluxpanel-boxes-off", !on);
  }

  /** The result's images large and whole, over the page (not only the output
   * area): arrows (and ← →) go between them; Esc or a click outside closes. */
  async open(index) {
    const tiles = this.#tiles, opts = this.#opts;
    let at = index;
    const large = h("img", { class: "large", alt: "" });
    const note = h("span", { class: "lightbox-note" });
    const step = (d) => show((at + d + tiles.length) % tiles.length);
    const nav = (d, label) => h("button", { class: "lightbox-nav", type: "button", "aria-label": label, hidden: tiles.length < 2, onclick: () => step(d) }, d < 0 ? "‹" : "›");
    const dl = h("button", { class: "link", type: "button", onclick: () => this.#download(tiles[at], dl) }, "Download");
    // An edit: its input and its result, one or the other (B, or the button).
    let after = "";
    const flip = () => {
      const on = before.getAttribute("aria-pressed") !== "true";
      before.setAttribute("aria-pressed", String(on));
      if (!on) return void (large.src = after);
      after = large.src;
      opts.before(tiles[at]).then((url) => before.getAttribute("aria-pressed") === "true" && (large.src = url));
    };
    const before = h("button", { class: "link", type: "button", "data-action": "before", "aria-pressed": "false", title: "Show the image this one was made from (B)", onclick: flip }, "Before");
    const use = h("button", { class: "link", type: "button", "data-action": "use-input", onclick: () => (close(), opts.useInput(tiles[at])) }, "Use as input");
    const reuse = h("button", { class: "link", type: "button", "data-action": "reuse-seed", onclick: () => opts.reuseSeed(tiles[at].seed) }, "Reuse seed");
    const close = () => (overlay.remove(), this.#lightbox = null);
    const overlay = h(
      "div",
      { class: "lightbox", role: "dialog", "aria-modal": "true", "aria-label": "Larger view", tabindex: -1, "data-part": "lightbox",
        onclick: (e) => e.target === overlay && close(),
        onkeydown: (e) => (e.key === "Escape" ? close() : e.key === "ArrowLeft" ? step(-1) : e.key === "ArrowRight" ? step(1) : e.key === "b" && !before.hidden && flip()) },
      h("div", { class: "lightbox-stage" }, nav(-1, "Previous image"), large, nav(1, "Next image")),
      h("div", { class: "row lightbox-bar" }, note, before, reuse, use, dl),
    );
    const show = async (i) => {
      at = i;
      const tile = tiles[i];
      before.hidden = !tile.edit;
      reuse.hidden = !reusable(tile);
      before.setAttribute("aria-pressed", "false");
      large.alt = `${tile.model}, ${seedWords(tile.seed)}`;
      large.src = this.#grid.querySelector(`[data-index="${tile.index}"] img`)?.src || "";
      note.textContent = `${i + 1} of ${tiles.length} · ${tile.width}×${tile.height} · loading the original…`;
      try {
        const { url } = await opts.original(tile);
        if (at !== i) return;
        large.src = url;
        note.textContent = `${tiles.length > 1 ? `${i + 1} of ${tiles.length} · ` : ""}${tile.width}×${tile.height} · ${seedOf(tile)}`;
      } catch (err) {
        note.textContent = `Could not load the original: ${err.message ?? err}`;
      }
    };
    this.#lightbox?.remove();
    this.#lightbox = overlay;
    // Over the whole page; in a front end that shows widgets in a shadow root
    // (marimo), in that root, where the panel's styles are.
    const root = this.el.getRootNode();
    (root instanceof ShadowRoot ? root : document.body).append(overlay);
    overlay.focus();
    await show(index);
  }

  async #download(tile, button) {
    button.disabled = true;
    try {
      const { url, name } = await this.#opts.original(tile);
      const a = h("a", { href: url, download: name, style: "display:none" });
      this.el.append(a);
      a.click();
      a.remove();
    } finally {
      button.disabled = false;
    }
  }

  #figure(tile, count) {
    const opts = this.#opts;
    const img = h("img", {
      alt: `${tile.model}, seed ${tile.seed}`,
      width: tile.preview_width,
      height: tile.preview_height,
      loading: "lazy",
      title: "Click to see it large",
      onclick: () => this.open(this.#tiles.indexOf(tile)),
    });
    opts.preview(tile).then((url) => (img.src = url));
    const dl = h("button", { class: "link", title: "Download the original image", onclick: () => this.#download(tile, dl) }, "Download");
    const overlay = tile.index === 0 && this.#boxes.length ? resultBoxes(this.#boxes, opts.editBox) : null;
    const reuse = !reusable(tile)
      ? null
      : h("button", { class: "link", title: `Fix the seed to this one. ${tile.seed_note || ""}`, "data-action": "reuse-seed", onclick: () => opts.reuseSeed(tile.seed) }, "Reuse seed");
    const use = h("button", { class: "link", title: "Edit this image: it becomes the input image (the kernel has the original)", "data-action": "use-input", onclick: () => opts.useInput(tile) }, "Use as input");
    const caption = `${seedOf(tile)} · ${tile.model}${count > 1 ? ` · ${tile.index + 1} of ${count}` : ""}`;
    return h(
      "figure",
      { class: "tile", "data-seed": tile.seed, "data-index": tile.index, title: tile.seed_note || "" },
      overlay ? h("div", { class: "tile-frame" }, img, overlay) : img,
      // The actions wrap as one group, under the caption when the column is narrow.
      h("figcaption", {}, h("span", { class: "caption" }, caption), h("span", { class: "actions" }, reuse, use, dl)),
    );
  }

  /** Show `tiles` (sorted by index); `pending` placeholders while images come;
   * `result` the last result's boxes and expanded prompt. */
  update(tiles, pending = 0, result = {}) {
    this.#boxes = result.boxes || [];
    this.#expanded.text.textContent = result.prompt || "";
    this.#expanded.el.hidden = !result.prompt || pending > 0;
    this.#boxesToggle.hidden = this.#boxes.length === 0 || pending > 0;
    const key = JSON.stringify([tiles.map((t) => t.key), pending, this.#boxes]);
    if (key === this.#shown) return;
    this.#shown = key;
    const sorted = [...tiles].sort((a, b) => a.index - b.index);
    this.#tiles = sorted;
    const count = sorted.length + pending;
    const waiting = Array.from({ length: pending }, () => h("div", { class: "tile pending" }, h("div", { class: "spinner" })));
    fill(this.#grid, sorted.map((t) => this.#figure(t, count)), waiting);
    this.#grid.dataset.count = String(count);
    this.#empty.hidden = count > 0;
    this.#toolbar.hidden = sorted.length === 0 || pending > 0;
  }
}
