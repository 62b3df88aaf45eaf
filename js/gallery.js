// The images of the current result: display-size previews, a caption with
// seed and model, "reuse this seed", download of the original, and a larger
// view on click.
import { h, fill } from "./dom.js";

/**
 * @param {object} opts
 * @param {(tile: object) => Promise<string>} opts.preview   object URL of a tile's preview
 * @param {(tile: object) => Promise<{url: string, name: string}>} opts.original
 * @param {(seed: number) => void} opts.reuseSeed
 * @param {() => void} opts.save        save every image of the result, with a manifest
 * @param {(tile: object) => void} opts.useInput  make this image the input of an edit
 * @param {(name: string) => void} opts.editBox     start an edit of one box of the result
 * @param {() => void} opts.usePrompt                the expanded prompt becomes the prompt
 * @param {(text: string, el: HTMLElement) => Promise<boolean>} opts.copy
 */
export function createGallery({ preview, original, reuseSeed, save, useInput, editBox, usePrompt, copy }) {
  const grid = h("div", { class: "fluxpanel-grid", "data-part": "images" });
  const saveAll = h(
    "button",
    { class: "fluxpanel-link", "data-action": "save-all", title: "Save the images and a manifest (request, seeds, hashes) to a folder next to the notebook", onclick: () => save() },
    "Save all",
  );
  // Where each element is (FLUX 3's boxes, the host's own among them), over the result.
  const boxesToggle = h(
    "button",
    {
      class: "fluxpanel-link",
      type: "button",
      "data-action": "toggle-boxes",
      "aria-pressed": "true",
      title: "Show or hide where each element of the picture is",
      onclick: () => {
        const on = boxesToggle.getAttribute("aria-pressed") !== "true";
        boxesToggle.setAttribute("aria-pressed", String(on));
        grid.classList.toggle("fluxpanel-boxes-off", !on);
      },
    },
    "Boxes",
  );
  boxesToggle.hidden = true;
  const toolbar = h("div", { class: "fluxpanel-row fluxpanel-gallery-tools" }, boxesToggle, h("span", { class: "fluxpanel-spacer" }), saveAll);
  // The prompt as the model expanded it (FLUX 3), with the boxes it added.
  const expandedText = h("pre", { class: "fluxpanel-code fluxpanel-expanded-text", "data-part": "expanded-prompt" });
  const copied = h("span", { class: "fluxpanel-copied", "aria-live": "polite" });
  const expanded = h(
    "details",
    { class: "fluxpanel-expanded" },
    h("summary", {}, "Prompt as the model expanded it"),
    h(
      "div",
      { class: "fluxpanel-row" },
      h("button", { class: "fluxpanel-link", type: "button", "data-action": "use-prompt", title: "Make this the prompt: its text, and its boxes in the box editor", onclick: () => usePrompt() }, "Use this prompt"),
      h("span", { class: "fluxpanel-spacer" }),
      copied,
      h(
        "button",
        {
          class: "fluxpanel-link",
          type: "button",
          "data-action": "copy-expanded",
          onclick: async () => {
            copied.textContent = (await copy(expandedText.textContent, expandedText)) ? "Copied" : "Selected: press Ctrl/Cmd+C";
            setTimeout(() => (copied.textContent = ""), 2000);
          },
        },
        "Copy",
      ),
    ),
    expandedText,
  );
  expanded.hidden = true;
  const empty = h(
    "div",
    { class: "fluxpanel-empty" },
    "Your images appear here. Write a prompt and press Generate (Ctrl/Cmd+Enter).",
  );
  const el = h("div", { class: "fluxpanel-gallery" }, empty, grid, toolbar, expanded);
  let shown = "";
  let boxes = [];

  async function open(tile, img) {
    const box = h("img", { src: img.src, alt: img.alt, class: "fluxpanel-large" });
    const note = h("div", { class: "fluxpanel-lightbox-note" }, "Loading the original…");
    const close = () => overlay.remove();
    const overlay = h(
      "div",
      {
        class: "fluxpanel-lightbox",
        role: "dialog",
        "aria-label": "Larger view",
        tabindex: -1,
        onclick: close,
        onkeydown: (e) => e.key === "Escape" && close(),
      },
      box,
      note,
    );
    el.append(overlay);
    overlay.focus();
    try {
      const { url } = await original(tile);
      box.src = url;
      note.textContent = `${tile.width}×${tile.height} · ${tile.seed === null ? "no seed" : `seed ${tile.seed}`} · click or Esc to close`;
    } catch (err) {
      note.textContent = `Could not load the original: ${err.message ?? err}`;
    }
  }

  async function download(tile, button) {
    button.disabled = true;
    try {
      const { url, name } = await original(tile);
      const a = h("a", { href: url, download: name, style: "display:none" });
      el.append(a);
      a.click();
      a.remove();
    } finally {
      button.disabled = false;
    }
  }

  function figure(tile, count) {
    const img = h("img", {
      alt: `${tile.model}, seed ${tile.seed}`,
      width: tile.preview_width,
      height: tile.preview_height,
      loading: "lazy",
      title: "Click to see larger",
      onclick: () => open(tile, img),
    });
    preview(tile).then((url) => (img.src = url));
    const dl = h("button", { class: "fluxpanel-link", title: "Download the original image", onclick: () => download(tile, dl) }, "Download");
    const overlay = tile.index === 0 && boxes.length
      ? h(
          "div",
          { class: "fluxpanel-result-boxes", "data-part": "result-boxes" },
          boxes.map((b, i) => {
            const [top, left, bottom, right] = b.bbox;
            const style = `top:${top / 10}%;left:${left / 10}%;height:${(bottom - top) / 10}%;width:${(right - left) / 10}%`;
            return h(
              "div",
              { class: `fluxpanel-result-box fluxpanel-box-c${i % 5}`, style, "data-box": b.id, title: `<${b.id}> ${b.desc}` },
              h(
                "button",
                { class: "fluxpanel-box-label", type: "button", "data-action": "edit-box", title: `Edit only what is inside <${b.id}>: ${b.desc}`, onclick: () => editBox(b.id) },
                `Edit ${b.id}`,
              ),
            );
          }),
        )
      : null;
    return h(
      "figure",
      { class: "fluxpanel-tile", "data-seed": tile.seed, "data-index": tile.index, title: tile.seed_note || "" },
      overlay ? h("div", { class: "fluxpanel-tile-frame" }, img, overlay) : img,
      h(
        "figcaption",
        {},
        h("span", { class: "fluxpanel-caption" }, `${tile.seed === null ? "no seed" : `seed ${tile.seed}`} · ${tile.model}${count > 1 ? ` · #${tile.index + 1}` : ""}`),
        tile.seed === null
          ? null
          : h("button", { class: "fluxpanel-link", title: `Fix the seed to this one. ${tile.seed_note || ""}`, "data-action": "reuse-seed", onclick: () => reuseSeed(tile.seed) }, "Reuse seed"),
        h("button", { class: "fluxpanel-link", title: "Edit this image: it becomes the input image (the kernel has the original)", "data-action": "use-input", onclick: () => useInput(tile) }, "Use as input"),
        dl,
      ),
    );
  }

  /** Show `tiles` (sorted by index); `pending` placeholders while images come;
   * `result` the last result's boxes and expanded prompt. */
  function update(tiles, pending = 0, result = {}) {
    boxes = result.boxes || [];
    expandedText.textContent = result.prompt || "";
    expanded.hidden = !result.prompt || pending > 0;
    boxesToggle.hidden = boxes.length === 0 || pending > 0;
    const key = JSON.stringify([tiles.map((t) => t.key), pending, boxes]);
    if (key === shown) return;
    shown = key;
    const sorted = [...tiles].sort((a, b) => a.index - b.index);
    const count = sorted.length + pending;
    const waiting = Array.from({ length: pending }, () => h("div", { class: "fluxpanel-tile fluxpanel-pending" }, h("div", { class: "fluxpanel-spinner" })));
    fill(grid, sorted.map((t) => figure(t, count)), waiting);
    grid.dataset.count = String(count);
    empty.hidden = count > 0;
    toolbar.hidden = sorted.length === 0 || pending > 0;
  }

  return { el, update };
}
