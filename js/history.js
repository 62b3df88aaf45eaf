// Thumbnails of this panel's past generations; a click shows one again, with
// its own actions (Use as input, Reuse seed, Download) under the result.
import { h, fill } from "./dom.js";

/**
 * @param {object} opts
 * @param {(entry: object) => Promise<string>} opts.thumb  object URL of an entry's thumbnail
 * @param {(id: number) => void} opts.restore
 */
export function createHistory({ thumb, restore }) {
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
      const seed = entry.seed === null ? "no seed" : `seed ${entry.seed}`;
      const open = h(
        "button",
        {
          class: "history-item" + (entry.id === current ? " current" : ""),
          "data-history-id": entry.id,
          "aria-label": `${entry.prompt} (${entry.model}, ${seed})`,
          title: `${entry.prompt}\n${entry.model} · ${seed} · ${entry.count} image(s)\nClick to show it again, with its settings`,
          onclick: () => restore(entry.id),
        },
        img,
      );
      return h("div", { role: "listitem" }, open);
    });
    fill(list, items);
  }

  return { el, update };
}
