// FluxPanel's front end: wires the widget model to the view modules.
// Everything shown comes from traits, so a saved notebook re-renders from its
// widget state; custom messages are only for asking the kernel to act.
import "./styles.css";
import { h } from "./dom.js";
import { buildControls } from "./controls.js";
import { MODE } from "./builders.js";
import { Gallery } from "./gallery.js";
import { createHistory } from "./history.js";
import { Kernel } from "./kernel.js";
import { copyControls, createSnippet } from "./snippet.js";
import { Status } from "./status.js";
import { readRequest } from "./metadata.js";
import { imageFiles } from "./imagefield.js";
import { MaskPainter } from "./maskpainter.js";
import { createUploader } from "./upload.js";

function render({ model, el }) {
  const view = new PanelView(model, el);
  return () => view.dispose();
}

export default { render };

/** Input images: sent as binary chunks; the kernel keeps them. */
function inputImages(model, kernel, host) {
  const uploader = createUploader(model);
  const images = {
    entries: (name) => (model.get("inputs") || {})[name] || [],
    upload: (name, file, append, onProgress) => uploader(name, file, { append, onProgress }),
    remove: (name, index) => model.send({ type: "input-remove", param: name, index }),
    move: (name, from, to) => model.send({ type: "input-move", param: name, from, to }),
    picture: (name, index) => kernel.picture(name, index),
    paint: (param) => {
      const [image] = images.entries(param.mask_of);
      if (!image) return;
      new MaskPainter({
        host: host(),
        image,
        help: param.help,
        picture: () => kernel.picture(param.mask_of, 0),
        done: (file) => uploader(param.name, file, { append: false }),
      });
    },
  };
  return images;
}

class PanelView {
  #banner;
  #cleanups;
  #controls;
  #controlsSlot;
  #gallery;
  #hideStatic;
  #history;
  #images;
  #kernel;
  #listeners;
  #model;
  #opening = null;
  #provider;
  #providerField;
  #providerSelect;
  #root;
  #snippet;
  #status;
  #uid;
  #workspaceSlot;

  constructor(model, el) {
    this.#model = model;
    this.#uid = `fluxpanel-${Math.random().toString(36).slice(2, 10)}`;
    this.#kernel = new Kernel(model);
    this.#images = inputImages(model, this.#kernel, () => this.#root);
    this.#controls = null;
    this.#build();
    el.append(this.#root);
    this.#hideStaticCopy();
    this.#cleanups = [this.#restoreByDrop(), this.#pasteToField()];
    for (const show of [() => this.#rebuildControls(), () => this.#showProvider(), () => this.#showStatus(), () => this.#showImages(), () => this.#showHistory(), () => this.#showCode()]) show();
    this.#listen();
    model.send({ type: "view" }); // files on their way from an earlier view are gone
  }

  #set(name, value) {
    this.#model.set(name, value);
    this.#edited();
  }

  /** Every change is counted: ipywidgets may hold a change back while the
   * kernel is busy, so Generate says how many it follows, and the kernel
   * waits for them. */
  #edited() {
    this.#model.set("_edits", (this.#model.get("_edits") || 0) + 1);
    this.#model.save_changes();
  }

  #generate() {
    this.#model.send({ type: "generate", edits: this.#model.get("_edits") || 0 });
  }

  #build() {
    const model = this.#model, kernel = this.#kernel;
    this.#banner = h("div", { class: "banner", "data-part": "banner", role: "note" });
    this.#provider = h("span", { class: "provider", "data-part": "provider" });
    this.#controlsSlot = h("div", { class: "controls-slot" });
    // What is drawn or painted (the box editor, a mask over its image): the wide column.
    this.#workspaceSlot = h("div", { class: "workspace-slot" });
    this.#status = new Status({ generate: () => this.#generate(), cancel: () => model.send({ type: "cancel" }) });
    const useInput = (content) => model.send({ type: "use-input", ...content });
    this.#gallery = new Gallery({
      save: () => model.send({ type: "save" }),
      preview: (tile) => kernel.child(tile.ref, tile.mime),
      original: (tile) => kernel.original(tile),
      before: (tile) => kernel.before(tile),
      useInput: (tile) => useInput({ key: tile.key }),
      editBox: (name) => model.send({ type: "edit-box", name }),
      usePrompt: () => model.send({ type: "use-prompt" }),
      copy: copyControls,
      reuseSeed: (seed) => this.#reuseSeed(seed),
    });
    this.#history = createHistory({
      thumb: (entry) => kernel.child(entry.ref, entry.mime),
      // Shown again, and opened large once its images are back.
      restore: (id) => ((this.#opening = id), model.send({ type: "restore", id }), this.#openRestored()),
    });
    this.#snippet = createSnippet();
    this.#providerField = this.#providerPicker();
    const title = h("div", { class: "title" }, h("strong", {}, "FLUX"), this.#provider);
    this.#root = h(
      "div",
      // Keys typed in the panel are the panel's, not JupyterLab's shortcuts.
      { "data-fluxpanel": "", "data-lm-suppress-shortcuts": "true" },
      this.#banner,
      h(
        "div",
        { class: "body" },
        h(
          "div",
          { class: "columns" },
          h("div", { class: "side" }, title, this.#controlsSlot),
          h("div", { class: "main" }, this.#workspaceSlot, this.#gallery.el, this.#snippet.el, this.#history.el),
        ),
      ),
    );
    this.#root.className = "fluxpanel"; // the root of every class of the panel
  }

  /** "Reuse seed": the random number the result's seed came from, fixed to it. */
  #reuseSeed(seed) {
    const random = this.#modelSpec()?.params.find((p) => p.random);
    this.#model.set(MODE, "fixed");
    if (random) this.#model.set(random.name, seed);
    this.#edited();
  }

  #providerPicker() {
    this.#providerSelect = h("select", {
      "aria-label": "Provider",
      title: "Where the images are made",
      onchange: (e) => this.#set("provider_name", e.target.value),
    });
    return h("label", { class: "provider-field", "data-param": "provider" }, "via ", this.#providerSelect);
  }

  /** The static copy of the result that follows the panel (for viewers with
   * no kernel) is hidden while this live view is on screen, in any front end. */
  #hideStaticCopy() {
    const staticId = String(this.#model.get("_static_id") || "").replace(/[^0-9a-f]/g, "");
    this.#hideStatic = document.createElement("style");
    if (staticId) {
      this.#hideStatic.textContent = `[data-fluxpanel-static="${staticId}"] { display: none !important; }`;
      document.head.append(this.#hideStatic);
    }
  }

  /** Dropping an image saved by fluxpanel on the panel restores its settings:
   * the browser reads the request from the file, and only it goes to the kernel. */
  #restoreByDrop() {
    const root = this.#root, model = this.#model;
    const hint = h("div", { class: "drop", "data-part": "drop" }, "Drop an image saved by fluxpanel to restore its settings");
    hint.hidden = true;
    root.append(hint);
    const hasFile = (e) => [...(e.dataTransfer?.types || [])].includes("Files");
    const over = (e) => {
      if (!hasFile(e) || e.target.closest?.("[data-drop-input]")) return;
      e.preventDefault();
      hint.hidden = false;
    };
    const leave = (e) => {
      if (!root.contains(e.relatedTarget)) hint.hidden = true;
    };
    const drop = async (e) => {
      if (!hasFile(e)) return;
      e.preventDefault();
      e.stopPropagation();
      hint.hidden = true;
      const file = e.dataTransfer.files[0];
      let request = null;
      try {
        request = await readRequest(new Uint8Array(await file.arrayBuffer()));
      } catch {
        request = null;
      }
      model.send({ type: "dropped", name: file.name.slice(0, 200), request });
    };
    return listenAll(root, { dragover: over, dragleave: leave, drop });
  }

  /** An image pasted on the panel (not into a text box) goes to its image field. */
  #pasteToField() {
    return listenAll(this.#root, {
      paste: (e) => {
        if (e.target.closest?.("textarea, input, [data-drop-input]")) return;
        const files = imageFiles(e.clipboardData);
        if (files.length && this.#controls?.takeFiles(files)) e.preventDefault();
      },
    });
  }

  #modelSpec() {
    const spec = this.#model.get("spec") || { models: [] };
    return spec.models.find((m) => m.id === this.#model.get("model")) || spec.models[0];
  }

  #rebuildControls() {
    const model = this.#model;
    const current = this.#modelSpec();
    if (!current) return;
    this.#controls = buildControls({
      spec: current,
      models: (model.get("spec") || { models: [] }).models,
      get: (name) => model.get(name),
      set: (name, value) => this.#set(name, value),
      generate: () => this.#generate(),
      uid: this.#uid,
      images: this.#images,
      action: this.#status.el,
    });
    this.#controlsSlot.replaceChildren(this.#controls.el);
    this.#workspaceSlot.replaceChildren(this.#controls.wide);
    this.#controls.errors(model.get("field_errors"));
  }

  #showProvider() {
    const model = this.#model;
    const info = model.get("provider_info") || {};
    const offered = model.get("providers") || [];
    if (offered.length > 1) {
      // A choice between providers: the controls follow the chosen one's spec.
      this.#providerSelect.replaceChildren(...offered.map((p) => h("option", { value: p.name }, p.label)));
      this.#providerSelect.value = model.get("provider_name");
      this.#provider.replaceChildren(this.#providerField);
    } else {
      this.#provider.textContent = info.label ? `via ${info.label}` : "";
    }
    this.#banner.hidden = !info.offline;
    this.#banner.textContent = info.offline
      ? `Preview mode: images are placeholders drawn offline, at no cost. To generate real images, ${info.setup || "configure a provider"}, then restart the kernel.`
      : "";
  }

  #showStatus() {
    const model = this.#model;
    const blocked = Object.values(model.get("field_errors") || {})[0];
    this.#status.update({
      status: model.get("status"),
      statusText: model.get("status_text"),
      elapsed: model.get("elapsed"),
      error: model.get("error"),
      progress: model.get("progress"),
      cost: model.get("cost_text"),
      estimate: model.get("estimate_text"),
      canGenerate: !blocked,
      blocked,
    });
  }

  #showImages() {
    const model = this.#model;
    const tiles = model.get("_tiles") || [];
    const expected = model.get("status") === "running" ? Math.max(0, model.get("expected") - tiles.length) : 0;
    this.#gallery.update(tiles, expected, { boxes: model.get("result_boxes") || [], prompt: model.get("result_prompt") });
    this.#openRestored();
  }

  /** A history entry clicked: its images open large once they are the ones shown. */
  #openRestored() {
    const [first] = this.#model.get("_tiles") || [];
    if (this.#opening === null || !first?.key.startsWith(`${this.#opening}-`)) return;
    this.#opening = null;
    this.#gallery.open(0);
  }

  #showHistory() {
    const model = this.#model;
    this.#history.update(model.get("_history") || [], model.get("history_current"));
    // Say which result is on screen (once, whichever view sees it first): in
    // marimo, changes from the browser are what re-run the cells reading the panel.
    const current = model.get("history_current");
    if (current >= 0 && model.get("_result_shown") !== current) this.#set("_result_shown", current);
  }

  #showCode() {
    this.#snippet.update({ result: this.#model.get("result_code"), current: this.#model.get("code") });
  }

  /** What the view does when each trait changes. */
  #listen() {
    const model = this.#model;
    const on = {
      spec: () => this.#rebuildControls(),
      model: () => this.#rebuildControls(),
      inputs: () => this.#controls?.updateInputs(),
      field_errors: () => (this.#controls?.errors(model.get("field_errors")), this.#showStatus()),
      _tiles: () => this.#showImages(),
      expected: () => this.#showImages(),
      result_boxes: () => this.#showImages(),
      result_prompt: () => this.#showImages(),
      status: () => (this.#showStatus(), this.#showImages()),
      provider_info: () => this.#showProvider(),
      providers: () => this.#showProvider(),
      provider_name: () => this.#showProvider(),
      _history: () => this.#showHistory(),
      history_current: () => this.#showHistory(),
      code: () => this.#showCode(),
      result_code: () => this.#showCode(),
    };
    for (const name of ["status_text", "elapsed", "error", "cost_text", "estimate_text", "progress"]) on[name] = () => this.#showStatus();
    // Every parameter of every offered provider is a trait (param_names).
    for (const name of new Set([...(model.get("param_names") || []), MODE])) {
      if (!(name in on)) on[name] = () => this.#controls?.update(name);
    }
    this.#listeners = Object.entries(on).map(([name, fn]) => [`change:${name}`, fn]);
    for (const [event, fn] of this.#listeners) model.on(event, fn);
  }

  dispose() {
    this.#hideStatic.remove();
    for (const cleanup of this.#cleanups) cleanup();
    for (const [event, fn] of this.#listeners) this.#model.off?.(event, fn);
    this.#status.stop();
    this.#kernel.dispose();
  }
}

/** Add `handlers` (event -> listener) to `target`; returns what removes them. */
function listenAll(target, handlers) {
  for (const [event, fn] of Object.entries(handlers)) target.addEventListener(event, fn);
  return () => {
    for (const [event, fn] of Object.entries(handlers)) target.removeEventListener(event, fn);
  };
}
