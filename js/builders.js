// One small builder per kind of value: what a parameter's field holds. The
// table is keyed by the kind the spec gives; nothing here knows a
// parameter's name: the prompt is the text whose role is "prompt", the seed
// the number drawn at random ("random" in the spec).
import { h } from "./dom.js";
import { ImageField, MaskView } from "./imagefield.js";
import { BoxEditor } from "./boxeditor.js";
import { loras } from "./loras.js";

const WIDE = 10_000; // ranges wider than this get a number box, not a slider
/** The panel's trait that says whether the random number is drawn anew or fixed. */
export const MODE = "seed_mode";

function parseValue(param, raw) {
  if (raw === "" || raw === null) return null;
  const n = param.kind === "integer" ? Number.parseInt(raw, 10) : Number.parseFloat(raw);
  return Number.isFinite(n) ? n : null;
}

/** Text: a box with its length; Ctrl/Cmd+Enter generates. */
function text(param, ctx) {
  const count = h("span", { class: "count", "aria-live": "polite" });
  const showCount = () => {
    const n = [...area.value].length;
    count.textContent = `${n} / ${param.max}`;
    count.classList.toggle("fluxpanel-bad", n < param.min || n > param.max);
  };
  const area = h("textarea", {
    id: ctx.id,
    rows: 3,
    placeholder: "Describe the image…",
    oninput: (e) => {
      showCount();
      ctx.set(param.name, e.target.value);
    },
    onkeydown: (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        e.stopPropagation();
        ctx.set(param.name, area.value);
        ctx.generate();
      }
    },
  });
  if (param.role === "prompt") ctx.prompt(area, param.name);
  const update = () => {
    if (area.value !== ctx.get(param.name)) area.value = ctx.get(param.name) ?? "";
    showCount();
  };
  return { body: [area, count], updates: { [param.name]: update } };
}

/** One of a list: a menu. */
function choice(param, ctx) {
  const select = h(
    "select",
    { id: ctx.id, onchange: (e) => ctx.set(param.name, e.target.value) },
    param.choices.map((c, i) => h("option", { value: c }, param.labels?.[i] ?? c)),
  );
  return { body: [select], updates: { [param.name]: () => (select.value = ctx.get(param.name)) } };
}

/** A switch: a checkbox that says what it does. */
function boolean(param, ctx) {
  const box = h("input", { id: ctx.id, type: "checkbox", onchange: (e) => ctx.set(param.name, e.target.checked) });
  const row = h("label", { class: "toggle", for: ctx.id }, box, param.help.split(". ")[0]);
  return { body: [row], updates: { [param.name]: () => (box.checked = Boolean(ctx.get(param.name))) } };
}

/** A number drawn at random unless fixed (the seed): a box and "fixed". */
function random(param, ctx) {
  const box = h("input", {
    id: ctx.id,
    class: "wide",
    type: "number",
    min: param.min,
    max: param.max,
    step: 1,
    onchange: (e) => {
      const v = parseValue(param, e.target.value);
      if (v !== null) {
        ctx.set(MODE, "fixed");
        ctx.set(param.name, v);
      }
    },
  });
  const mode = h("input", { type: "checkbox", id: `${ctx.id}-fixed`, onchange: (e) => ctx.set(MODE, e.target.checked ? "fixed" : "random") });
  const modeLabel = h("label", { class: "toggle", for: `${ctx.id}-fixed`, "data-param": MODE }, mode, "fixed");
  // Random is said in words at full contrast (dimming the box would make it hard to read).
  const drawn = h("span", { class: "range", "data-part": "drawn" }, "new each run");
  const showMode = () => {
    const fixed = ctx.get(MODE) === "fixed";
    mode.checked = fixed;
    box.title = fixed ? "This seed is used for every generation" : "A new seed is drawn for each generation";
    drawn.hidden = fixed;
  };
  return {
    body: [h("div", { class: "row" }, box, modeLabel, drawn)],
    updates: { [param.name]: () => (box.value = ctx.get(param.name)), [MODE]: showMode },
  };
}

/** A number in a range: a slider (for ranges a slider can show) and a box. */
function number(param, ctx) {
  if (param.random) return random(param, ctx);
  const set = (raw) => {
    const v = parseValue(param, raw);
    if (v !== null) ctx.set(param.name, v);
  };
  const step = param.step ?? "any";
  const box = h("input", { id: ctx.id, type: "number", min: param.min, max: param.max, step, onchange: (e) => set(e.target.value) });
  const slider =
    param.max - param.min > WIDE
      ? null
      : h("input", {
          type: "range",
          min: param.min,
          max: param.max,
          step,
          "aria-label": param.label,
          tabindex: -1,
          oninput: (e) => {
            box.value = e.target.value;
            set(e.target.value);
          },
        });
  const range = h("span", { class: "range" }, `${param.min}–${param.max}`);
  const update = () => {
    box.value = ctx.get(param.name);
    if (slider) slider.value = ctx.get(param.name);
  };
  if (param.most_with) limitWith(param, ctx, [box, slider], range, update);
  return { body: [h("div", { class: "row slider" }, slider, box, range)], updates: { [param.name]: update } };
}

/** A lower limit once an image is given (Kontext's tolerance with an input image). */
function limitWith(param, ctx, inputs, range, update) {
  const { param: other, most } = param.most_with;
  const limit = () => {
    const max = ctx.images.entries(other).length ? Math.min(param.max, most) : param.max;
    for (const input of inputs) if (input) input.max = max;
    range.textContent = `${param.min}–${max}`;
    range.title = max < param.max ? `At most ${most} with ${other}` : "";
    update();
  };
  ctx.watch("inputs", limit);
  limit();
}

/** An image, or a list of them: drop, paste or pick; for a mask, the painter. */
function image(param, ctx) {
  const { images } = ctx;
  const paint = param.mask_of
    ? Object.assign(() => images.paint(param), { ready: () => images.entries(param.mask_of).some((e) => !e.url) })
    : null;
  const field = new ImageField({
    param,
    id: ctx.id,
    entries: () => images.entries(param.name),
    upload: (file, append, onProgress) => images.upload(param.name, file, append, onProgress),
    remove: (index) => images.remove(param.name, index),
    move: (from, to) => images.move(param.name, from, to),
    cite: param.kind === "images" ? (index) => ctx.insert(`image ${index + (param.first_number ?? 1)}`) : null,
    paint,
    under: param.mask_of ? () => images.entries(param.mask_of)[0] : null,
  });
  if (!param.mask_of) return { body: [field.el], input: field };
  // A mask is also shown large over its image, in the wide column.
  const view = new MaskView({ param, entries: images.entries, picture: images.picture });
  ctx.watch("inputs", () => view.update());
  return { body: [field.el], input: field, view: view.el };
}

/** Where each element goes: the box editor over the first reference. */
function boxes(param, ctx) {
  const { images: over, shape } = param.backdrop;
  const pictures = () => ctx.images.entries(over).map((e) => ({ src: e.thumb, width: e.width, height: e.height }));
  const editor = new BoxEditor({
    param,
    get: () => ctx.get(param.name),
    set: (rows) => ctx.set(param.name, rows),
    backdrop: () => pictures()[0],
    references: pictures,
    shape: () => ctx.get(shape),
    cite: (name) => ctx.insert(`<${name}>`),
  });
  const backdrop = () => editor.showBackdrop();
  ctx.watch(shape, backdrop);
  ctx.watch("inputs", backdrop);
  // Drawn in the wide column, after the control that gives the canvas its shape.
  return { body: [editor.el], updates: { [param.name]: () => editor.update() }, wide: shape };
}

/** The builder for each kind of value the spec names. */
export const BUILDERS = { text, choice, boolean, integer: number, number, image, images: image, boxes, layout: boxes, loras, finetunes: loras };
