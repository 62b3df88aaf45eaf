// LoRAs (or a host's finetune): a list of entries, each a source and a scale.
// The spec says how many, what a source is ("finetune": the host's id) and the
// scale's range ("each"); nothing here knows a model.
import { h, fill } from "./dom.js";

/** A list field: a row per entry (its source, a scale slider and box, Remove), and Add. */
export function loras(param, ctx) {
  const one = param.max === 1;
  const blank = () => ({ source: "", scale: param.each.default });
  const rows = () => (ctx.get(param.name) || []).map((r) => ({ source: r.source ?? "", scale: r.scale ?? param.each.default }));
  const commit = (next) => ctx.set(param.name, next);
  const list = h("div", { class: "loras", role: "list" });
  const add = h("button", { class: "link", type: "button", "data-action": "add-lora", onclick: () => {
    commit([...rows(), blank()]);
    render();
    list.querySelector("[role=listitem]:last-child input[type=text]")?.focus();
  } }, `Add a ${param.noun}`);
  const edit = {
    // Entry i changed (the blank row of a required one becomes the first).
    change: (i, patch) => {
      const next = rows();
      if (i >= next.length) next.push(blank());
      next[i] = { ...next[i], ...patch };
      commit(next);
    },
    remove: (i) => (commit(rows().filter((_, j) => j !== i)), render()),
  };
  const render = () => {
    const all = rows();
    const shown = all.length === 0 && (one || param.required) ? [blank()] : all;
    fill(list, shown.map((entry, i) => loraRow(param, entry, i, edit)));
    add.hidden = one || all.length >= param.max;
  };
  // A value from the kernel redraws the rows, unless someone is typing in one.
  const update = () => {
    const active = list.getRootNode().activeElement;
    if (!(active && list.contains(active) && active.matches("input[type=text]"))) render();
  };
  return { body: [list, add], updates: { [param.name]: update } };
}

/** One entry: its source (or id), its scale as a slider and a box, and Remove. */
function loraRow(param, entry, i, edit) {
  const { each, noun } = param;
  const label = param.max === 1 ? param.label : `${noun[0].toUpperCase()}${noun.slice(1)} ${i + 1}`;
  const source = h("input", {
    type: "text",
    class: "lora-source",
    value: entry.source,
    spellcheck: false,
    autocomplete: "off",
    placeholder: param.finetune ? "your finetune's id" : "https://….safetensors or owner/lora",
    "aria-label": `${label}: ${param.finetune ? "id" : "source"}`,
    onchange: (e) => edit.change(i, { source: e.target.value.trim() }),
  });
  const scale = (e) => {
    const v = Number.parseFloat(e.target.value);
    if (Number.isFinite(v)) edit.change(i, { scale: v });
  };
  const bounds = { min: each.min, max: each.max, step: each.step ?? "any", value: entry.scale, "aria-label": `${label}: ${each.label.toLowerCase()}` };
  const box = h("input", { type: "number", ...bounds, onchange: scale });
  const slider = h("input", { type: "range", ...bounds, tabindex: -1, oninput: (e) => (box.value = e.target.value), onchange: scale });
  const remove =
    param.max !== 1 &&
    h("button", { class: "link", type: "button", "data-action": "remove-lora", "aria-label": `Remove ${label.toLowerCase()}`, onclick: () => edit.remove(i) }, "Remove");
  return h(
    "div",
    { class: "lora", role: "listitem" },
    h("div", { class: "row" }, source, remove),
    h("div", { class: "row" }, h("span", { class: "range" }, each.label), slider, box),
  );
}
