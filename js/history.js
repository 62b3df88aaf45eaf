// Thumbnails of this panel's past generations; a click restores one.
import { h, fill } from "./dom.js";

/**
 * @param {object} opts
 * @param {(entry: object) => Promise<string>} opts.thumb  object URL of an entry's thumbnail
 * @param {(id: number) => void} opts.restore
 * @param {(id: number) => void} opts.useInput  the entry's first image as the input of an edit
 */
export function createHistory({ thumb, restore, useInput }) {
  const list = h("div", { class: "history-list", role: "list" });
  const el = h("div", { class: "history", "data-part": "history" }, h("div", { class: "heading" }, "History"), list);
  let shown = "";

  function update(entries, current) {
    const key = JSON.stringify([entries.map((e) => e.id), current]);
    if (key === shown) return;
    shown = key;
    el.hidden = entries.length === 0;
    const items = [...entries].reverse().map((entry) => {
      const img = h("img", { alt: "", width: entry.thumb_width, height: entry.thumb_height });
      thumb(entry).then((url) => (img.src = url));
      const open = h(
        "button",
        {
          class: "history-item" + (entry.id === current ? " fluxpanel-current" : ""),
          "data-history-id": entry.id,
          title: `${entry.prompt}\n${entry.model} · ${entry.seed === null ? "no seed" : `seed ${entry.seed}`} · ${entry.count} image(s)\nClick to restore these settings and images`,
          onclick: () => restore(entry.id),
        },
        img,
      );
      const edit = h(
        "button",
        { class: "link history-use", "data-action": "use-input", title: "Use its first image as the input of an edit", onclick: () => useInput(entry.id) },
        "Use as input",
      );
      return h("div", { class: "history-entry", role: "listitem" }, open, edit);
    });
    fill(list, items);
  }

  return { el, update };
}
