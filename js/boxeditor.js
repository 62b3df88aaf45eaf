// FLUX 3's box editor: where each element of the picture goes. Boxes are
// drawn over the first reference image (or an empty canvas of the chosen
// shape) on the host's grid: [top, left, bottom, right], integers from 0 to
// 1000 from the top-left corner, whatever the image's size. Drag to draw,
// drag a box to move it and a corner to resize it; arrows nudge, Shift+arrows
// resize, Delete removes, Tab moves between boxes. The rows go to the kernel
// as they are sent to the host ({ id, bbox, desc }), once per gesture.
import { h, fill } from "./dom.js";

export const GRID = 1000;
const NUDGE = 10; // grid units per arrow key (Alt: 1)
const SMALLEST = 8; // a drag smaller than this draws nothing
const HANDLES = ["nw", "ne", "sw", "se"];
const TALLEST = 420; // px: the canvas's greatest height

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

/**
 * A name as the host reads it: lowercase letters, digits and `_`, ending in
 * `_` and a number (logo_1), and not one of `taken`.
 */
export function cleanName(raw, taken) {
  let stem = String(raw ?? "")
    .toLowerCase()
    .trim()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^[^a-z]+/, "")
    .replace(/_+$/, "");
  let n = 1;
  const numbered = stem.match(/^(.*?)_(\d+)$/);
  if (numbered) [stem, n] = [numbered[1], Number(numbered[2])];
  if (!stem) stem = "box";
  let name = `${stem}_${n}`;
  while (taken.has(name)) name = `${stem}_${++n}`;
  return name;
}

/** Width / height of a ratio such as "16:9"; null for anything else. */
export function ratioOf(text) {
  const m = /^(\d+):(\d+)$/.exec(String(text ?? ""));
  return m && Number(m[2]) ? Number(m[1]) / Number(m[2]) : null;
}

/**
 * @param {object} opts
 * @param {object} opts.param         the boxes parameter's spec
 * @param {() => object[]} opts.get   the rows the kernel holds: [{ id, bbox, desc }]
 * @param {(rows: object[]) => void} opts.set
 * @param {() => ({src: string, width: number, height: number} | null)} opts.backdrop  the first reference
 * @param {() => string} opts.shape   the chosen aspect ratio ("auto" follows the backdrop)
 * @param {(name: string) => void} [opts.cite]  put "<name>" into the prompt
 */
export function boxEditor({ param, get, set, backdrop, shape, cite }) {
  let rows = [];
  let gesture = null; // the drag under way: { mode, index, start, origin, handle }
  let frame = 0;

  const picture = h("img", { class: "fluxpanel-box-picture", alt: "", draggable: false });
  const layer = h("div", { class: "fluxpanel-box-layer" });
  const draft = h("div", { class: "fluxpanel-box fluxpanel-box-draft", "aria-hidden": "true" });
  draft.hidden = true;
  const canvas = h(
    "div",
    {
      class: "fluxpanel-box-canvas",
      "data-part": "box-canvas",
      title: "Drag to draw a box",
      "aria-label": `${param.label}: drag to draw a box`,
    },
    picture,
    layer,
    draft,
  );
  const list = h("ol", { class: "fluxpanel-box-list", "aria-label": "Boxes, in the order sent" });
  const hint = h(
    "p",
    { class: "fluxpanel-box-hint" },
    "Drag on the picture to draw a box; drag a box to move it, a corner to resize it. " +
      "Arrows nudge (Alt: 1 unit), Shift+arrows resize, Delete removes.",
  );
  const el = h("div", { class: "fluxpanel-boxes", "data-part": "boxes" }, canvas, list, hint);

  // -- geometry ---------------------------------------------------------------------
  function point(e) {
    const r = canvas.getBoundingClientRect();
    return {
      y: clamp(Math.round(((e.clientY - r.top) / r.height) * GRID), 0, GRID),
      x: clamp(Math.round(((e.clientX - r.left) / r.width) * GRID), 0, GRID),
    };
  }
  const place = (node, [top, left, bottom, right]) => {
    node.style.top = `${top / 10}%`;
    node.style.left = `${left / 10}%`;
    node.style.height = `${(bottom - top) / 10}%`;
    node.style.width = `${(right - left) / 10}%`;
  };
  const ordered = (a, b) => [Math.min(a.y, b.y), Math.min(a.x, b.x), Math.max(a.y, b.y), Math.max(a.x, b.x)];

  function moved(bbox, dy, dx) {
    const [t, l, b, r] = bbox;
    const y = clamp(dy, -t, GRID - b);
    const x = clamp(dx, -l, GRID - r);
    return [t + y, l + x, b + y, r + x];
  }
  function resized(bbox, handle, p) {
    let [t, l, b, r] = bbox;
    if (handle.includes("n")) t = Math.min(p.y, b - 1);
    if (handle.includes("s")) b = Math.max(p.y, t + 1);
    if (handle.includes("w")) l = Math.min(p.x, r - 1);
    if (handle.includes("e")) r = Math.max(p.x, l + 1);
    return [t, l, b, r];
  }

  // -- the boxes over the picture ----------------------------------------------------------
  function boxNode(row, i) {
    const node = h(
      "div",
      {
        class: `fluxpanel-box fluxpanel-box-c${i % 5}`,
        tabindex: 0,
        role: "button",
        "data-box": row.id,
        "data-index": i,
        "aria-label": `${i + 1}. ${row.id}: ${row.desc || "no description"}; top ${row.bbox[0]}, left ${row.bbox[1]}, bottom ${row.bbox[2]}, right ${row.bbox[3]}`,
      },
      h("span", { class: "fluxpanel-box-label" }, `${i + 1} ${row.id}`),
      HANDLES.map((handle) => h("span", { class: `fluxpanel-box-handle fluxpanel-box-${handle}`, "data-handle": handle })),
    );
    place(node, row.bbox);
    return node;
  }

  // Keys for a box are taken before the page sees them: a notebook's own
  // shortcuts (arrows move between cells) listen on the document.
  let shown = false; // removed once the editor has left the page
  function onKey(e) {
    if (!el.isConnected) {
      if (shown) window.removeEventListener("keydown", onKey, true);
      return;
    }
    shown = true;
    const box = e.target?.closest?.(".fluxpanel-box-layer > .fluxpanel-box");
    if (box && layer.contains(box)) key(e, Number(box.dataset.index));
  }
  window.addEventListener("keydown", onKey, true);

  function key(e, i) {
    const step = e.altKey ? 1 : NUDGE;
    const arrows = { ArrowUp: [-step, 0], ArrowDown: [step, 0], ArrowLeft: [0, -step], ArrowRight: [0, step] };
    if (e.key in arrows) {
      const [dy, dx] = arrows[e.key];
      const bbox = rows[i].bbox;
      rows[i].bbox = e.shiftKey
        ? [bbox[0], bbox[1], clamp(bbox[2] + dy, bbox[0] + 1, GRID), clamp(bbox[3] + dx, bbox[1] + 1, GRID)]
        : moved(bbox, dy, dx);
      commit(`box-${i}`);
    } else if (e.key === "Delete" || e.key === "Backspace") {
      rows.splice(i, 1);
      commit(rows.length ? `box-${Math.min(i, rows.length - 1)}` : null);
    } else {
      return;
    }
    e.preventDefault();
    e.stopPropagation();
  }

  // -- the list: name, description, order ------------------------------------------------
  function rowNode(row, i) {
    const name = h("input", {
      type: "text",
      class: "fluxpanel-box-name",
      value: row.id,
      "aria-label": `Name of box ${i + 1}`,
      "data-focus": `name-${i}`,
      spellcheck: false,
      onchange: (e) => {
        const taken = new Set(rows.filter((_, j) => j !== i).map((r) => r.id));
        rows[i].id = cleanName(e.target.value, taken);
        commit(`name-${i}`);
      },
    });
    const desc = h("input", {
      type: "text",
      class: "fluxpanel-box-desc",
      value: row.desc,
      placeholder: "What goes in this box",
      "aria-label": `Description of box ${i + 1}`,
      "data-focus": `desc-${i}`,
      onchange: (e) => {
        rows[i].desc = e.target.value;
        commit(`desc-${i}`);
      },
    });
    const swap = (j) => {
      [rows[i], rows[j]] = [rows[j], rows[i]];
      commit(`name-${j}`);
    };
    return h(
      "li",
      { class: `fluxpanel-box-row fluxpanel-box-c${i % 5}`, "data-box": row.id },
      h("span", { class: "fluxpanel-box-number", "aria-hidden": "true" }, String(i + 1)),
      name,
      cite
        ? h("button", { class: "fluxpanel-link", type: "button", "data-action": "cite-box", title: `Put <${row.id}> into the prompt at the cursor`, onclick: () => cite(row.id) }, "Cite")
        : null,
      h("button", { class: "fluxpanel-link", type: "button", "data-action": "box-up", "aria-label": `Move ${row.id} up`, disabled: i === 0, onclick: () => swap(i - 1) }, "↑"),
      h("button", { class: "fluxpanel-link", type: "button", "data-action": "box-down", "aria-label": `Move ${row.id} down`, disabled: i === rows.length - 1, onclick: () => swap(i + 1) }, "↓"),
      h("button", { class: "fluxpanel-link", type: "button", "data-action": "box-delete", "aria-label": `Delete ${row.id}`, onclick: () => (rows.splice(i, 1), commit(null)) }, "Delete"),
      desc,
    );
  }

  // -- drawing, moving, resizing with the pointer ----------------------------------------
  canvas.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    const handle = e.target.closest?.(".fluxpanel-box-handle");
    const box = e.target.closest?.(".fluxpanel-box:not(.fluxpanel-box-draft)");
    const start = point(e);
    if (box) {
      const index = Number(box.dataset.index);
      gesture = { mode: handle ? "resize" : "move", handle: handle?.dataset.handle, index, start, origin: [...rows[index].bbox], node: box };
      box.focus({ preventScroll: true });
    } else {
      gesture = { mode: "draw", start, bbox: [start.y, start.x, start.y, start.x], node: draft };
      draft.hidden = false;
      place(draft, gesture.bbox);
    }
    try {
      canvas.setPointerCapture(e.pointerId); // moves outside the canvas still count
    } catch {
      // a pointer the browser does not track (a synthetic event): no capture
    }
    e.preventDefault();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!gesture) return;
    const p = point(e);
    const g = gesture;
    if (g.mode === "draw") g.bbox = ordered(g.start, p);
    else if (g.mode === "move") g.bbox = moved(g.origin, p.y - g.start.y, p.x - g.start.x);
    else g.bbox = resized(g.origin, g.handle, p);
    // One style change per animation frame, however many events arrive.
    if (!frame) frame = requestAnimationFrame(() => ((frame = 0), gesture && place(gesture.node, gesture.bbox)));
  });
  const finish = () => {
    const g = gesture;
    gesture = null;
    if (!g) return;
    draft.hidden = true;
    if (!g.bbox) return; // a click without a drag
    if (g.mode === "draw") {
      const [t, l, b, r] = g.bbox;
      if (b - t < SMALLEST || r - l < SMALLEST) return;
      const taken = new Set(rows.map((row) => row.id));
      rows.push({ id: cleanName("box", taken), bbox: g.bbox, desc: "" });
      commit(`name-${rows.length - 1}`);
    } else {
      rows[g.index].bbox = g.bbox;
      commit(`box-${g.index}`);
    }
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", () => {
    gesture = null;
    draft.hidden = true;
    render();
  });

  // -- to and from the kernel -------------------------------------------------------------
  function commit(focus) {
    render(focus);
    set(rows.map((r) => ({ id: r.id, bbox: [...r.bbox], desc: r.desc })));
  }

  function render(focus) {
    fill(layer, rows.map(boxNode));
    fill(list, rows.map(rowNode));
    list.hidden = rows.length === 0;
    if (focus) {
      const [what, i] = focus.split("-");
      const target = what === "box" ? layer.children[Number(i)] : list.querySelector(`[data-focus="${focus}"]`);
      target?.focus({ preventScroll: true });
    }
  }

  function showBackdrop() {
    const b = backdrop();
    picture.hidden = !b?.src;
    if (b?.src && picture.src !== b.src) picture.src = b.src;
    const chosen = ratioOf(shape());
    const ratio = chosen ?? (b?.width && b?.height ? b.width / b.height : 1);
    canvas.style.aspectRatio = String(ratio);
    canvas.style.maxWidth = `${Math.round(TALLEST * ratio)}px`; // a tall shape stays its shape
    canvas.dataset.ratio = ratio.toFixed(4);
  }

  /** The kernel's boxes changed: show them (keeping focus where it was). */
  function update() {
    if (gesture) return; // the drag ends with the boxes it made
    const next = (get() || []).map((r) => ({ id: r.id, bbox: [...r.bbox], desc: r.desc ?? "" }));
    if (JSON.stringify(next) === JSON.stringify(rows)) return;
    const focus = document.activeElement;
    const key = el.contains(focus) ? focus.dataset.focus || (focus.dataset.index !== undefined ? `box-${focus.dataset.index}` : null) : null;
    rows = next;
    render(key);
  }

  update();
  render();
  showBackdrop();
  return { el, update, showBackdrop };
}
