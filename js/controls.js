// The parameter controls, built from the capability spec (plain data): each
// field is made by the builder of its parameter's kind (builders.js). Nothing
// here knows a model's rules: ranges, steps, defaults, labels and help all
// come from the spec the kernel sends.
import { h } from "./dom.js";
import { BUILDERS } from "./builders.js";

function labelFor(param, id) {
  return h(
    "label",
    { class: "label", for: id, title: param.help },
    param.label,
    h("span", { class: "help", "aria-hidden": "true", title: param.help }, "?"),
  );
}

/** The model picker, from the list of models. */
function modelField(spec, models, ctx) {
  // Grouped by family, in the kernel's order (newest first), legacy ones marked by it.
  const select = h(
    "select",
    { id: `${ctx.uid}-model`, onchange: (e) => ctx.set("model", e.target.value) },
    [...Map.groupBy(models, (m) => m.family)].map(([family, ms]) =>
      h("optgroup", { label: family }, ms.map((m) => h("option", { value: m.id, title: m.description }, m.choice)))),
  );
  select.value = spec.id;
  const about = h("p", { class: "model-about", "data-part": "model-about" }, spec.description);
  const param = { name: "model", label: "Model", help: models.map((m) => `${m.label}: ${m.description}`).join("\n"), kind: "choice" };
  return { param, built: { body: [select, about], updates: { model: () => (select.value = ctx.get("model")) } } };
}

/** What people must be told about this model at this host (determinism,
 * seeds), for the values set now. */
function caveatsOf(spec, get) {
  const el = h("div", { class: "caveats", "data-part": "caveats", role: "note" });
  const show = () => {
    const texts = (spec.caveats || [])
      .filter((c) => Object.entries(c.when).every(([k, v]) => get(k) === v))
      .map((c) => h("p", { class: "caveat" }, c.text));
    el.replaceChildren(...texts);
    el.hidden = texts.length === 0;
  };
  return { el, show, watched: new Set((spec.caveats || []).flatMap((c) => Object.keys(c.when))) };
}

/**
 * Build the controls for one model.
 * @param {object} opts
 * @param {object} opts.spec        the model's spec: { id, label, params: [...] }
 * @param {object[]} opts.models    every model: [{ id, label, description }]
 * @param {(name: string) => any} opts.get   current value of a trait
 * @param {(name: string, value: any) => void} opts.set
 * @param {() => void} opts.generate         Ctrl/Cmd+Enter in the prompt
 * @param {string} opts.uid         unique prefix for element ids
 * @param {object} opts.images      input images: entries(name), upload(name, file, append, onProgress),
 *                                  remove(name, index), move(name, from, to), paint(param)
 * @param {Element} [opts.action]   Generate and its status: placed after the prompt (or the
 *                                  last field a model requires), in the first screen
 */
export function buildControls({ spec, models, get, set, generate, uid, images, action }) {
  const form = new Form({ get, set, generate, uid, images });
  form.add(modelField(spec, models, form.base));
  for (const param of spec.params) {
    form.add({ param, built: BUILDERS[param.kind](param, form.context(param)) });
  }
  const built = form.finish(caveatsOf(spec, get), action);
  built.el.dataset.model = spec.id;
  return built;
}

/** The fields of one model's form, and who listens to which trait. */
class Form {
  constructor({ get, set, generate, uid, images }) {
    this.fields = [];
    this.updaters = new Map(); // trait -> its fields' updates
    this.watchers = new Map(); // trait -> other views that follow its value
    this.errorSlots = new Map();
    this.inputs = new Map(); // image parameter -> its field
    this.wide = []; // [the field that shapes it, a field drawn on in the wide column]
    this.views = []; // large views of fields, for the wide column
    this.promptArea = null;
    this.promptName = null;
    const base = { get, set, generate, uid, images, watch: (name, fn) => this.watch(name, fn) };
    base.insert = (text) => this.insert(text);
    base.prompt = (area, name) => ((this.promptArea = area), (this.promptName = name));
    this.base = base;
  }

  /** What a builder is given: the shared context, and its field's element id. */
  context(param) {
    return { ...this.base, id: `${this.base.uid}-${param.name}` };
  }

  watch(name, fn) {
    this.watchers.set(name, [...(this.watchers.get(name) || []), fn]);
  }

  /** Put `text` into the prompt at the cursor (or at its end), as typed. */
  insert(text) {
    const area = this.promptArea;
    if (!area) return;
    const { selectionStart: a = area.value.length, selectionEnd: b = a, value } = area;
    const before = value.slice(0, a);
    const pad = before && !/\s$/.test(before) ? " " : "";
    area.value = `${before}${pad}${text}${value.slice(b)}`;
    const at = a + pad.length + text.length;
    area.setSelectionRange(at, at);
    area.focus();
    this.base.set(this.promptName, area.value);
  }

  add({ param, built }) {
    const slot = h("div", { class: "field-error", role: "alert" });
    this.errorSlots.set(param.name, slot);
    const el = h(
      "div",
      { class: `field field-${param.kind}`, "data-param": param.name },
      labelFor(param, `${this.base.uid}-${param.name}`),
      ...built.body,
      slot,
    );
    if (param.only_with) {
      const { param: other, value } = param.only_with;
      this.watch(other, () => (el.hidden = this.base.get(other) !== value));
    }
    if (param.needs) {
      // Shown once the image it follows is given (Kontext's more images).
      const show = () => (el.hidden = this.base.images.entries(param.needs).length === 0);
      this.watch("inputs", show);
      show();
    }
    for (const [name, fn] of Object.entries(built.updates || {})) this.updaters.set(name, fn);
    if (built.input) this.inputs.set(param.name, { field: built.input, mask: Boolean(param.mask_of) });
    this.fields.push(el);
    if (param.required) this.required = this.fields.length;
    if (built.wide !== undefined) this.wide.push([built.wide, el]);
    if (built.view) this.views.push(built.view);
  }

  /** The wide column's part: fields drawn on (each after the field that
   * shapes it) and the large views of fields. */
  workspace() {
    const moved = this.wide.flatMap(([lead, el]) => [this.fields.find((f) => f.dataset.param === lead), el]);
    this.fields = this.fields.filter((f) => !moved.includes(f));
    return h("div", { class: "workspace", "data-part": "workspace" }, moved, this.views);
  }

  finish(caveats, action) {
    const after = this.fields.findIndex((f) => f.dataset.param === this.promptName) + 1;
    if (action) this.fields.splice(after || this.required || this.fields.length, 0, action);
    const wide = this.workspace();
    const el = h("div", { class: "controls" }, this.fields, caveats.el);
    const update = (name) => {
      this.updaters.get(name)?.();
      for (const fn of this.watchers.get(name) || []) fn();
      if (caveats.watched.has(name)) caveats.show();
    };
    for (const name of this.updaters.keys()) update(name);
    caveats.show();
    return {
      el,
      wide,
      update,
      errors: (byField) => this.errors(byField),
      updateInputs: () => this.updateInputs(),
      takeFiles: (files) => this.takeFiles(files),
      names: () => [...this.updaters.keys()],
    };
  }

  errors(byField) {
    for (const [name, slot] of this.errorSlots) {
      const message = byField?.[name] ?? "";
      slot.textContent = message;
      slot.closest("[data-param]")?.classList.toggle("fluxpanel-invalid", Boolean(message));
    }
  }

  /** The kernel's input images changed: every image field shows them. */
  updateInputs() {
    for (const { field } of this.inputs.values()) field.update();
    for (const fn of this.watchers.get("inputs") || []) fn();
  }

  /** A file pasted or dropped on the panel: the first image field that is not a mask takes it. */
  takeFiles(files) {
    const target = [...this.inputs.values()].find((input) => !input.mask);
    if (!target) return false;
    target.field.send(files);
    return true;
  }
}
