// FLUX 3's box editor: where each element of the picture goes. Boxes are
// drawn over the first reference image (or an empty canvas of the chosen
// shape) on the host's grid: [top, left, bottom, right], integers from 0 to
// 1000 from the top-left corner, whatever the image's size. Drag to draw,
// drag a box to move it and a corner to resize it; arrows nudge, Shift+arrows
// resize, Delete removes, Tab moves between boxes. The rows go to the kernel
// as they are sent to the host ({ id, bbox, desc }), once per gesture. Where
// the model can move an object (FLUX 3.1), "Move from" draws where it is now
// on a reference (src_bbox, from ref_image_N), shown by an arrow to its box.
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

// -- geometry on the host's grid --------------------------------------------------------

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

/** The box an arrow key makes of `bbox`: moved, or (with Shift) resized. */
function keyed(bbox, key, shift, step) {
  const arrows = { ArrowUp: [-step, 0], ArrowDown: [step, 0], ArrowLeft: [0, -step], ArrowRight: [0, step] };
  const [dy, dx] = arrows[key];
  if (!shift) return moved(bbox, dy, dx);
  return [bbox[0], bbox[1], clamp(bbox[2] + dy, bbox[0] + 1, GRID), clamp(bbox[3] + dx, bbox[1] + 1, GRID)];
}

const ARROWS = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"]);
const centre = ([t, l, b, r]) => [`${(l + r) / 20}%`, `${(t + b) / 20}%`];

/** A row as the editor holds it, from the kernel's: the move's image is 1-based. */
const held = (r) => ({ id: r.id, bbox: [...r.bbox], desc: r.desc ?? "", src: r.src_bbox ? [...r.src_bbox] : null, img: r.src_bbox ? Number(String(r.from).slice(10)) + 1 : 1 });
const sent = (r) => ({ id: r.id, bbox: [...r.bbox], desc: r.desc, ...(r.src && { src_bbox: [...r.src], from: `ref_image_${r.img - 1}` }) });

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

/** The arrow from where a moved object is (on image 1, under the boxes) to its box. */
function arrows(rows) {
  const lines = rows.flatMap((r, i) => {
    if (!r.src || r.img !== 1) return [];
    const [x1, y1] = centre(r.src), [x2, y2] = centre(r.bbox);
    return [svg("line", { x1, y1, x2, y2, class: `fluxpanel-box-arrow fluxpanel-box-c${i % 5}`, "marker-end": "url(#fluxpanel-head)" })];
  });
  if (!lines.length) return null;
  const head = svg("marker", { id: "fluxpanel-head", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" }, svg("path", { d: "M0 0L10 5L0 10z" }));
  return svg("svg", { class: "fluxpanel-box-arrows", "aria-hidden": "true" }, svg("defs", {}, head), ...lines);
}

export class BoxEditor {
  #backdrop;
  #canvas;
  #cite;
  #draft;
  #frame;
  #gesture;
  #get;
  #layer;
  #list;
  #param;
  #picking;
  #picture;
  #reference;
  #rows;
  #set;
  #shape;
  #tell;

  constructor({ param, get, set, backdrop, shape, cite, references }) {
    this.#param = param;
    this.#reference = param.moves ? references : null;
    this.#picking = null; // the row whose object is being found on a reference
    this.#get = get;
    this.#set = set;
    this.#backdrop = backdrop;
    this.#shape = shape;
    this.#cite = cite;
    this.#rows = [];
    this.#gesture = null; // the drag under way: { mode, index, start, origin, handle, node, bbox }
    this.#frame = 0;
    this.#picture = h("img", { class: "box-picture", alt: "", draggable: false });
    this.#layer = h("div", { class: "box-layer" });
    this.#draft = h("div", { class: "box box-draft", "aria-hidden": "true" });
    this.#draft.hidden = true;
    this.#canvas = h(
      "div",
      { class: "box-canvas", "data-part": "box-canvas", title: "Drag to draw a box", "aria-label": `${param.label}: drag to draw a box` },
      this.#picture,
      this.#layer,
      this.#draft,
    );
    this.#list = h("ol", { class: "box-list", "aria-label": "Boxes, in the order sent" });
    const hint = h(
      "p",
      { class: "box-hint" },
      "Drag on the picture to draw a box; drag a box to move it, a corner to resize it. " +
        "Arrows nudge (Alt: 1 unit), Shift+arrows resize, Delete removes.",
    );
    this.#tell = h("p", { class: "box-hint box-picking", role: "status" });
    this.el = h("div", { class: "boxes", "data-part": "box-editor" }, this.#tell, this.#canvas, this.#list, hint);
    this.#say();
    this.#listen();
    this.update();
    this.#render();
    this.showBackdrop();
  }

  #point(e) {
    const r = this.#canvas.getBoundingClientRect();
    return {
      y: clamp(Math.round(((e.clientY - r.top) / r.height) * GRID), 0, GRID),
      x: clamp(Math.round(((e.clientX - r.left) / r.width) * GRID), 0, GRID),
    };
  }

  // -- the boxes over the picture, and the list ------------------------------------------

  #boxNode(row, i) {
    const [top, left, bottom, right] = row.bbox;
    const node = h(
      "div",
      {
        class: `box box-c${i % 5}`,
        tabindex: 0,
        role: "button",
        "data-box": row.id,
        "data-index": i,
        "aria-label": `${i + 1}. ${row.id}: ${row.desc || "no description"}; top ${top}, left ${left}, bottom ${bottom}, right ${right}`,
      },
      h("span", { class: "box-label" }, `${i + 1} ${row.id}${row.src ? ` ← image ${row.img}` : ""}`),
      HANDLES.map((handle) => h("span", { class: `box-handle box-${handle}`, "data-handle": handle })),
    );
    place(node, row.bbox);
    return node;
  }

  #rowNode(row, i) {
    const rows = this.#rows;
    const name = h("input", {
      type: "text",
      class: "box-name",
      value: row.id,
      "aria-label": `Name of box ${i + 1}`,
      "data-focus": `name-${i}`,
      spellcheck: false,
      onchange: (e) => {
        const taken = new Set(rows.filter((_, j) => j !== i).map((r) => r.id));
        rows[i].id = cleanName(e.target.value, taken);
        this.#commit(`name-${i}`);
      },
    });
    const desc = h("input", {
      type: "text",
      class: "box-desc",
      value: row.desc,
      placeholder: "What goes in this box",
      "aria-label": `Description of box ${i + 1}`,
      "data-focus": `desc-${i}`,
      onchange: (e) => {
        rows[i].desc = e.target.value;
        this.#commit(`desc-${i}`);
      },
    });
    return h(
      "li",
      { class: `box-row box-c${i % 5}`, "data-box": row.id },
      h("span", { class: "box-number", "aria-hidden": "true" }, String(i + 1)),
      name,
      ...this.#rowActions(row, i),
      desc,
    );
  }

  #rowActions(row, i) {
    const rows = this.#rows;
    const swap = (j) => {
      [rows[i], rows[j]] = [rows[j], rows[i]];
      this.#commit(`name-${j}`);
    };
    const link = (action, label, attrs, onclick) => h("button", { class: "link", type: "button", "data-action": action, ...attrs, onclick }, label);
    const move = this.#reference
      ? row.src
        ? link("box-unmove", `from image ${row.img} ✕`, { title: `${row.id} moves an object from image ${row.img}; click to place a new one instead` }, () => ((row.src = null), this.#commit(`name-${i}`)))
        : link("box-source", "Move from…", { title: `Draw where the object in ${row.id} is now, on a reference image` }, () => this.#pick(i, 1))
      : null;
    return [
      move,
      this.#cite ? link("cite-box", "Cite", { title: `Put <${row.id}> into the prompt at the cursor` }, () => this.#cite(row.id)) : null,
      link("box-up", "↑", { "aria-label": `Move ${row.id} up`, disabled: i === 0 }, () => swap(i - 1)),
      link("box-down", "↓", { "aria-label": `Move ${row.id} down`, disabled: i === rows.length - 1 }, () => swap(i + 1)),
      link("box-delete", "Delete", { "aria-label": `Delete ${row.id}` }, () => (rows.splice(i, 1), this.#commit(null))),
    ];
  }

  /** Find the object of row `i` on reference `n`: the canvas shows that image until a box is drawn (Escape: no move). */
  #pick(i, n) {
    const count = this.#reference().length;
    if (!count) return this.#say(`Add a reference image first: ${this.#rows[i].id} moves an object from one.`);
    this.#picking = { i, n };
    const choose = count > 1 ? h("select", { "aria-label": "Reference", onchange: (e) => this.#pick(i, Number(e.target.value)) }, Array.from({ length: count }, (_, k) => h("option", { value: k + 1, selected: k + 1 === n }, `image ${k + 1}`))) : null;
    this.#say(`Draw where ${this.#rows[i].id} is now on `, choose ?? `image ${n}`, " (Escape: no move).");
    this.#render();
    this.showBackdrop();
  }

  #say(...what) {
    fill(this.#tell, ...what);
    this.#tell.hidden = !what.length;
  }

  #picked(bbox) {
    const { i, n } = this.#picking;
    this.#picking = null;
    this.#say();
    if (bbox) Object.assign(this.#rows[i], { src: bbox, img: n });
    this.showBackdrop();
    this.#commit(`name-${i}`);
  }

  // -- the keyboard and the pointer --------------------------------------------------------

  #listen() {
    // Keys for a box are taken before the page sees them: a notebook's own
    // shortcuts (arrows move between cells) listen on the document.
    let shown = false; // removed once the editor has left the page
    const onKey = (e) => {
      if (!this.el.isConnected) {
        if (shown) window.removeEventListener("keydown", onKey, true);
        return;
      }
      shown = true;
      if (e.key === "Escape" && this.#picking) return this.#picked(null);
      const box = e.target?.closest?.(".fluxpanel-box-layer > .fluxpanel-box");
      if (box && this.#layer.contains(box)) this.#key(e, Number(box.dataset.index));
    };
    window.addEventListener("keydown", onKey, true);
    this.#canvas.addEventListener("pointerdown", (e) => this.#down(e));
    this.#canvas.addEventListener("pointermove", (e) => this.#drag(e));
    this.#canvas.addEventListener("pointerup", () => this.#up());
    this.#canvas.addEventListener("pointercancel", () => {
      this.#gesture = null;
      this.#draft.hidden = true;
      this.#render();
    });
  }

  #key(e, i) {
    const rows = this.#rows;
    if (ARROWS.has(e.key)) {
      rows[i].bbox = keyed(rows[i].bbox, e.key, e.shiftKey, e.altKey ? 1 : NUDGE);
      this.#commit(`box-${i}`);
    } else if (e.key === "Delete" || e.key === "Backspace") {
      rows.splice(i, 1);
      this.#commit(rows.length ? `box-${Math.min(i, rows.length - 1)}` : null);
    } else {
      return;
    }
    e.preventDefault();
    e.stopPropagation();
  }

  #down(e) {
    if (e.button !== 0) return;
    const handle = e.target.closest?.(".fluxpanel-box-handle");
    const box = e.target.closest?.(".fluxpanel-box-layer > .fluxpanel-box");
    const start = this.#point(e);
    if (box && !this.#picking) {
      const index = Number(box.dataset.index);
      const mode = handle ? "resize" : "move";
      this.#gesture = { mode, handle: handle?.dataset.handle, index, start, origin: [...this.#rows[index].bbox], node: box };
      box.focus({ preventScroll: true });
    } else {
      this.#gesture = { mode: "draw", start, bbox: [start.y, start.x, start.y, start.x], node: this.#draft };
      this.#draft.hidden = false;
      place(this.#draft, this.#gesture.bbox);
    }
    try {
      this.#canvas.setPointerCapture(e.pointerId); // moves outside the canvas still count
    } catch {
      // a pointer the browser does not track (a synthetic event): no capture
    }
    e.preventDefault();
  }

  #drag(e) {
    const g = this.#gesture;
    if (!g) return;
    const p = this.#point(e);
    if (g.mode === "draw") g.bbox = ordered(g.start, p);
    else if (g.mode === "move") g.bbox = moved(g.origin, p.y - g.start.y, p.x - g.start.x);
    else g.bbox = resized(g.origin, g.handle, p);
    // One style change per animation frame, however many events arrive.
    if (!this.#frame) this.#frame = requestAnimationFrame(() => ((this.#frame = 0), this.#gesture && place(this.#gesture.node, this.#gesture.bbox)));
  }

  #up() {
    const g = this.#gesture;
    this.#gesture = null;
    if (!g) return;
    this.#draft.hidden = true;
    if (!g.bbox) return; // a click without a drag
    if (g.mode !== "draw") {
      this.#rows[g.index].bbox = g.bbox;
      this.#commit(`box-${g.index}`);
      return;
    }
    const [t, l, b, r] = g.bbox;
    if (b - t < SMALLEST || r - l < SMALLEST) return;
    if (this.#picking) return this.#picked(g.bbox);
    const taken = new Set(this.#rows.map((row) => row.id));
    this.#rows.push({ id: cleanName("box", taken), bbox: g.bbox, desc: "" });
    this.#commit(`name-${this.#rows.length - 1}`);
  }

  // -- to and from the kernel -------------------------------------------------------------

  #commit(focus) {
    this.#render(focus);
    this.#set(this.#rows.map(sent));
  }

  #render(focus) {
    const p = this.#picking;
    if (p) {
      const row = this.#rows[p.i];
      const was = row.src && row.img === p.n ? h("div", { class: `box box-draft box-c${p.i % 5}` }) : null;
      if (was) place(was, row.src);
      fill(this.#layer, was);
    } else {
      const sources = this.#rows.map((r, i) => (r.src && r.img === 1 ? h("div", { class: `box box-draft box-c${i % 5}`, "data-source": r.id }) : null));
      sources.forEach((node, i) => node && place(node, this.#rows[i].src));
      fill(this.#layer, sources, this.#rows.map((row, i) => this.#boxNode(row, i)), arrows(this.#rows));
    }
    fill(this.#list, this.#rows.map((row, i) => this.#rowNode(row, i)));
    this.#list.hidden = this.#rows.length === 0;
    if (!focus) return;
    const [what, i] = focus.split("-");
    const target = what === "box" ? this.#layer.children[Number(i)] : this.#list.querySelector(`[data-focus="${focus}"]`);
    target?.focus({ preventScroll: true });
  }

  showBackdrop() {
    const b = this.#picking ? this.#reference()[this.#picking.n - 1] : this.#backdrop();
    const picture = this.#picture, canvas = this.#canvas;
    picture.hidden = !b?.src;
    if (b?.src && picture.src !== b.src) picture.src = b.src;
    const chosen = this.#picking ? null : ratioOf(this.#shape());
    const ratio = chosen ?? (b?.width && b?.height ? b.width / b.height : 1);
    canvas.style.aspectRatio = String(ratio);
    canvas.style.maxWidth = `${Math.round(TALLEST * ratio)}px`; // a tall shape stays its shape
    canvas.dataset.ratio = ratio.toFixed(4);
  }

  /** The kernel's boxes changed: show them (keeping focus where it was). */
  update() {
    if (this.#gesture) return; // the drag ends with the boxes it made
    const next = (this.#get() || []).map(held);
    if (JSON.stringify(next) === JSON.stringify(this.#rows)) return;
    const focus = document.activeElement;
    const inside = this.el.contains(focus);
    const key = inside ? focus.dataset.focus || (focus.dataset.index !== undefined ? `box-${focus.dataset.index}` : null) : null;
    this.#rows = next;
    if (this.#picking && !next[this.#picking.i]) this.#picked(null); // its box is gone
    this.#render(key);
  }
}
