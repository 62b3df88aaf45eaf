// The parameter controls, built from the capability spec (plain data).
// Nothing here knows a model's rules: ranges, steps, defaults, labels and help
// all come from the spec the kernel sends.
import { h } from "./dom.js";
import { imageField } from "./imagefield.js";
import { boxEditor } from "./boxeditor.js";

const WIDE = 10_000; // ranges wider than this get a number box, not a slider

function labelFor(param, id) {
  return h(
    "label",
    { class: "fluxpanel-label", for: id, title: param.help },
    param.label,
    h("span", { class: "fluxpanel-help", "aria-hidden": "true", title: param.help }, "?"),
  );
}

function parseValue(param, raw) {
  if (raw === "" || raw === null) return null;
  const n = param.kind === "integer" ? Number.parseInt(raw, 10) : Number.parseFloat(raw);
  return Number.isFinite(n) ? n : null;
}

/**
 * Build the controls for one model.
 * @param {object} opts
 * @param {object} opts.spec        the model's spec: { id, label, params: [...] }
 * @param {object[]} opts.models    every model: [{ id, label, description }]
 * @param {(name: string) => any} opts.get   current value of a parameter
 * @param {(name: string, value: any) => void} opts.set
 * @param {() => void} opts.generate         Ctrl/Cmd+Enter in the prompt
 * @param {string} opts.uid         unique prefix for element ids
 * @param {object} opts.images      input images: entries(name), upload(name, file, append, onProgress),
 *                                  remove(name, index), paint(param)
 * @returns {{ el: HTMLElement, update: (name: string) => void, errors: (e: object) => void }}
 */
export function buildControls({ spec, models, get, set, generate, uid, images }) {
  const updaters = new Map();
  const inputFields = new Map(); // image parameter -> its field
  const errorSlots = new Map();
  const fields = [];

  const dependents = new Map(); // parameter -> fields shown only with one of its values
  const watchers = new Map(); // parameter -> other views that follow its value
  const watch = (name, fn) => watchers.set(name, [...(watchers.get(name) || []), fn]);
  let promptArea = null;
  /** Put `text` into the prompt at the cursor (or at its end), as typed. */
  const insert = (text) => {
    if (!promptArea) return;
    const { selectionStart: a = promptArea.value.length, selectionEnd: b = a, value } = promptArea;
    const before = value.slice(0, a);
    const pad = before && !/\s$/.test(before) ? " " : "";
    promptArea.value = `${before}${pad}${text}${value.slice(b)}`;
    const at = a + pad.length + text.length;
    promptArea.setSelectionRange(at, at);
    promptArea.focus();
    set("prompt", promptArea.value);
  };
  // The reference images a box editor is drawn over: the model's list of them.
  const references = spec.params.find((p) => p.kind === "images")?.name;

  function field(name, param, ...body) {
    const slot = h("div", { class: "fluxpanel-field-error", role: "alert" });
    errorSlots.set(name, slot);
    const el = h(
      "div",
      { class: `fluxpanel-field fluxpanel-field-${param.kind}`, "data-param": name },
      labelFor(param, `${uid}-${name}`),
      ...body,
      slot,
    );
    if (param.only_with) {
      const { param: other, value } = param.only_with;
      const show = () => (el.hidden = get(other) !== value);
      dependents.set(other, [...(dependents.get(other) || []), show]);
    }
    if (param.needs) {
      // Shown once the image it follows is given (Kontext's more images).
      const show = () => (el.hidden = images.entries(param.needs).length === 0);
      watch("inputs", show);
      show();
    }
    fields.push(el);
    return el;
  }

  // The model picker, from the list of models.
  const modelSelect = h(
    "select",
    { id: `${uid}-model`, onchange: (e) => set("model", e.target.value) },
    models.map((m) => h("option", { value: m.id, title: m.description }, m.label)),
  );
  modelSelect.value = spec.id;
  field(
    "model",
    { label: "Model", help: models.map((m) => `${m.label}: ${m.description}`).join("\n"), kind: "choice" },
    modelSelect,
  );
  updaters.set("model", () => (modelSelect.value = get("model")));

  for (const param of spec.params) {
    const id = `${uid}-${param.name}`;
    if (param.kind === "text") {
      const count = h("span", { class: "fluxpanel-count", "aria-live": "polite" });
      const area = h("textarea", {
        id,
        rows: 3,
        placeholder: "Describe the image…",
        oninput: (e) => {
          showCount();
          set(param.name, e.target.value);
        },
        onkeydown: (e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            e.stopPropagation();
            set(param.name, area.value);
            generate();
          }
        },
      });
      const showCount = () => {
        const n = [...area.value].length;
        count.textContent = `${n} / ${param.max}`;
        count.classList.toggle("fluxpanel-bad", n < param.min || n > param.max);
      };
      field(param.name, param, area, count);
      if (param.name === "prompt") promptArea = area;
      updaters.set(param.name, () => {
        if (area.value !== get(param.name)) area.value = get(param.name) ?? "";
        showCount();
      });
    } else if (param.kind === "choice") {
      const select = h(
        "select",
        { id, onchange: (e) => set(param.name, e.target.value) },
        param.choices.map((c) => h("option", { value: c }, c)),
      );
      field(param.name, param, select);
      updaters.set(param.name, () => (select.value = get(param.name)));
    } else if (param.kind === "image" || param.kind === "images") {
      const paint = param.mask_of
        ? Object.assign(() => images.paint(param), { ready: () => images.entries(param.mask_of).some((e) => !e.url) })
        : null;
      const input = imageField({
        param,
        id,
        entries: () => images.entries(param.name),
        upload: (file, append, onProgress) => images.upload(param.name, file, append, onProgress),
        remove: (index) => images.remove(param.name, index),
        move: (from, to) => images.move(param.name, from, to),
        cite: param.kind === "images" ? (index) => insert(`image ${index + (param.first_number ?? 1)}`) : null,
        paint,
      });
      field(param.name, param, input.el);
      inputFields.set(param.name, input);
    } else if (param.kind === "boxes") {
      const editor = boxEditor({
        param,
        get: () => get(param.name),
        set: (rows) => set(param.name, rows),
        backdrop: () => {
          const [first] = references ? images.entries(references) : [];
          return first ? { src: first.thumb, width: first.width, height: first.height } : null;
        },
        shape: () => get("aspect_ratio"),
        cite: (name) => insert(`<${name}>`),
      });
      field(param.name, param, editor.el);
      updaters.set(param.name, editor.update);
      watch("aspect_ratio", editor.showBackdrop);
      watch("inputs", editor.showBackdrop);
    } else if (param.kind === "boolean") {
      const box = h("input", { id, type: "checkbox", onchange: (e) => set(param.name, e.target.checked) });
      const row = h("label", { class: "fluxpanel-toggle", for: id }, box, param.help.split(". ")[0]);
      field(param.name, param, row);
      updaters.set(param.name, () => (box.checked = Boolean(get(param.name))));
    } else if (param.name === "seed") {
      const box = h("input", {
        id,
        type: "number",
        min: param.min,
        max: param.max,
        step: 1,
        onchange: (e) => {
          const v = parseValue(param, e.target.value);
          if (v !== null) {
            set("seed_mode", "fixed");
            set("seed", v);
          }
        },
      });
      const mode = h("input", {
        type: "checkbox",
        id: `${id}-fixed`,
        onchange: (e) => set("seed_mode", e.target.checked ? "fixed" : "random"),
      });
      const modeLabel = h(
        "label",
        { class: "fluxpanel-toggle", for: `${id}-fixed`, "data-param": "seed_mode" },
        mode,
        "fixed",
      );
      field(param.name, param, h("div", { class: "fluxpanel-row" }, box, modeLabel));
      updaters.set("seed", () => (box.value = get("seed")));
      updaters.set("seed_mode", () => {
        const fixed = get("seed_mode") === "fixed";
        mode.checked = fixed;
        box.title = fixed ? "This seed is used for every generation" : "A new seed is drawn for each generation";
        box.classList.toggle("fluxpanel-dim", !fixed);
      });
    } else {
      const wide = param.max - param.min > WIDE;
      const number = h("input", {
        id,
        type: "number",
        min: param.min,
        max: param.max,
        step: param.step ?? "any",
        onchange: (e) => {
          const v = parseValue(param, e.target.value);
          if (v !== null) set(param.name, v);
        },
      });
      const slider = wide
        ? null
        : h("input", {
            type: "range",
            min: param.min,
            max: param.max,
            step: param.step ?? "any",
            "aria-label": param.label,
            tabindex: -1,
            oninput: (e) => {
              number.value = e.target.value;
              const v = parseValue(param, e.target.value);
              if (v !== null) set(param.name, v);
            },
          });
      const range = h("span", { class: "fluxpanel-range" }, `${param.min}–${param.max}`);
      field(param.name, param, h("div", { class: "fluxpanel-row" }, slider, number, range));
      updaters.set(param.name, () => {
        const v = get(param.name);
        number.value = v;
        if (slider) slider.value = v;
      });
      if (param.most_with) {
        // A lower limit once an image is given (Kontext's tolerance with an input image).
        const { param: other, most } = param.most_with;
        const limit = () => {
          const max = images.entries(other).length ? Math.min(param.max, most) : param.max;
          number.max = max;
          if (slider) slider.max = max;
          range.textContent = `${param.min}–${max}`;
          range.title = max < param.max ? `At most ${most} with ${other}` : "";
          updaters.get(param.name)();
        };
        watch("inputs", limit);
        limit();
      }
    }
  }

  // What people must be told about this model at this host (determinism, seeds),
  // for the values set now.
  const caveats = h("div", { class: "fluxpanel-caveats", "data-part": "caveats", role: "note" });
  const showCaveats = () => {
    const texts = (spec.caveats || [])
      .filter((c) => Object.entries(c.when).every(([k, v]) => get(k) === v))
      .map((c) => h("p", { class: "fluxpanel-caveat" }, c.text));
    caveats.replaceChildren(...texts);
    caveats.hidden = texts.length === 0;
  };
  const watched = new Set((spec.caveats || []).flatMap((c) => Object.keys(c.when)));

  const el = h("div", { class: "fluxpanel-controls" }, fields, caveats);
  const update = (name) => {
    updaters.get(name)?.();
    for (const fn of watchers.get(name) || []) fn();
    for (const show of dependents.get(name) || []) show();
    if (watched.has(name)) showCaveats();
  };
  for (const name of updaters.keys()) update(name);
  showCaveats();

  function errors(byField) {
    for (const [name, slot] of errorSlots) {
      const message = byField?.[name] ?? "";
      slot.textContent = message;
      slot.closest("[data-param]")?.classList.toggle("fluxpanel-invalid", Boolean(message));
    }
  }

  /** The kernel's input images changed: every image field shows them. */
  const updateInputs = () => {
    for (const input of inputFields.values()) input.update();
    for (const fn of watchers.get("inputs") || []) fn();
  };
  /** A file pasted or dropped on the panel: the first image field that has room takes it. */
  const takeFiles = (files) => {
    const input = [...inputFields.entries()].find(([name]) => !spec.params.find((p) => p.name === name)?.mask_of)?.[1];
    if (!input) return false;
    input.send(files);
    return true;
  };

  return { el, update, errors, updateInputs, takeFiles, names: () => [...updaters.keys()] };
}
