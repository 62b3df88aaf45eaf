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
 */
export function createGallery({ preview, original, reuseSeed, save, useInput }) {
  const grid = h("div", { class: "fluxpanel-grid", "data-part": "images" });
  const saveAll = h(
    "button",
    { class: "fluxpanel-link", "data-action": "save-all", title: "Save the images and a manifest (request, seeds, hashes) to a folder next to the notebook", onclick: () => save() },
    "Save all",
  );
  const toolbar = h("div", { class: "fluxpanel-row fluxpanel-gallery-tools" }, h("span", { class: "fluxpanel-spacer" }), saveAll);
  const empty = h(
    "div",
    { class: "fluxpanel-empty" },
    "Your images appear here. Write a prompt and press Generate (Ctrl/Cmd+Enter).",
  );
  const el = h("div", { class: "fluxpanel-gallery" }, empty, grid, toolbar);
  let shown = "";

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
      note.textContent = `${tile.width}×${tile.height} · seed ${tile.seed} · click or Esc to close`;
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
    return h(
      "figure",
      { class: "fluxpanel-tile", "data-seed": tile.seed, "data-index": tile.index, title: tile.seed_note || "" },
      img,
      h(
        "figcaption",
        {},
        h("span", { class: "fluxpanel-caption" }, `seed ${tile.seed} · ${tile.model}${count > 1 ? ` · #${tile.index + 1}` : ""}`),
        h("button", { class: "fluxpanel-link", title: `Fix the seed to this one. ${tile.seed_note || ""}`, "data-action": "reuse-seed", onclick: () => reuseSeed(tile.seed) }, "Reuse seed"),
        h("button", { class: "fluxpanel-link", title: "Edit this image: it becomes the input image (the kernel has the original)", "data-action": "use-input", onclick: () => useInput(tile) }, "Use as input"),
        dl,
      ),
    );
  }

  /** Show `tiles` (sorted by index); `pending` placeholders while images come. */
  function update(tiles, pending = 0) {
    const key = JSON.stringify([tiles.map((t) => t.key), pending]);
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
