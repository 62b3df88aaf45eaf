// FluxPanel's front end: wires the widget model to the view modules.
// Everything shown comes from traits, so a saved notebook re-renders from its
// widget state; custom messages are only for asking the kernel to act.
import "./styles.css";
import { h } from "./dom.js";
import { buildControls } from "./controls.js";
import { createGallery } from "./gallery.js";
import { createHistory } from "./history.js";
import { copyText, createSnippet } from "./snippet.js";
import { createStatus } from "./status.js";
import { readRequest } from "./metadata.js";
import { imageFiles } from "./imagefield.js";
import { openMaskPainter } from "./maskpainter.js";
import { createUploader } from "./upload.js";

const PARAM_EXTRAS = ["model", "seed_mode"];

function render({ model, el }) {
  const uid = `fluxpanel-${Math.random().toString(36).slice(2, 10)}`;
  const urls = new Set(); // object URLs to revoke on cleanup
  const originals = new Map(); // tile key -> { url, name }
  const pending = new Map(); // request token -> { resolve, reject }
  let token = 0;

  // -- bytes from child models, as object URLs ---------------------------------
  async function blobUrl(ref, mime) {
    const id = String(ref).replace(/^IPY_MODEL_/, "");
    const child = await model.widget_manager.get_model(id);
    const url = URL.createObjectURL(new Blob([child.get("value")], { type: mime }));
    urls.add(url);
    return url;
  }

  function ask(content) {
    const t = ++token;
    return new Promise((resolve, reject) => {
      pending.set(t, { resolve, reject });
      model.send({ ...content, token: t });
      setTimeout(() => pending.has(t) && (pending.delete(t), reject(new Error("the kernel did not answer"))), 60_000);
    });
  }

  function onCustom(msg, buffers) {
    const waiter = pending.get(msg?.token);
    if (!waiter) return;
    pending.delete(msg.token);
    if (msg.error) waiter.reject(new Error(msg.error));
    else waiter.resolve({ msg, buffers });
  }

  async function original(tile) {
    if (originals.has(tile.key)) return originals.get(tile.key);
    const { msg, buffers } = await ask({ type: "original", key: tile.key });
    const url = URL.createObjectURL(new Blob([buffers[0]], { type: msg.mime }));
    urls.add(url);
    const entry = { url, name: msg.name };
    originals.set(tile.key, entry);
    return entry;
  }

  // -- input images: sent as binary chunks; the kernel keeps them ------------------
  const uploader = createUploader(model);
  const images = {
    entries: (name) => (model.get("inputs") || {})[name] || [],
    upload: (name, file, append, onProgress) => uploader(name, file, { append, onProgress }),
    remove: (name, index) => model.send({ type: "input-remove", param: name, index }),
    move: (name, from, to) => model.send({ type: "input-move", param: name, from, to }),
    paint: (param) => {
      const [image] = images.entries(param.mask_of);
      if (!image) return;
      openMaskPainter({
        host: root,
        image,
        help: param.help,
        picture: async () => {
          const { msg, buffers } = await ask({ type: "preview-input", param: param.mask_of, index: 0 });
          const url = URL.createObjectURL(new Blob([buffers[0]], { type: msg.mime }));
          urls.add(url);
          return url;
        },
        done: (file) => uploader(param.name, file, { append: false }),
      });
    },
  };
  const useInput = (content) => model.send({ type: "use-input", ...content });

  // -- parts ------------------------------------------------------------------------
  const generate = () => model.send({ type: "generate" });
  const banner = h("div", { class: "fluxpanel-banner", "data-part": "banner", role: "note" });
  const provider = h("span", { class: "fluxpanel-provider", "data-part": "provider" });
  const controlsSlot = h("div", { class: "fluxpanel-controls-slot" });
  const status = createStatus({ generate, cancel: () => model.send({ type: "cancel" }) });
  const gallery = createGallery({
    save: () => model.send({ type: "save" }),
    preview: (tile) => blobUrl(tile.ref, tile.mime),
    original,
    useInput: (tile) => useInput({ key: tile.key }),
    editBox: (name) => model.send({ type: "edit-box", name }),
    usePrompt: () => model.send({ type: "use-prompt" }),
    copy: copyText,
    reuseSeed: (seed) => {
      model.set("seed_mode", "fixed");
      model.set("seed", seed);
      model.save_changes();
    },
  });
  const history = createHistory({
    thumb: (entry) => blobUrl(entry.ref, entry.mime),
    restore: (id) => model.send({ type: "restore", id }),
    useInput: (id) => useInput({ entry: id, index: 0 }),
  });
  const snippet = createSnippet();

  const root = h(
    "div",
    // Keys typed in the panel are the panel's, not JupyterLab's shortcuts.
    { class: "fluxpanel", "data-fluxpanel": "", "data-lm-suppress-shortcuts": "true" },
    banner,
    h(
      "div",
      { class: "fluxpanel-body" },
      h("div", { class: "fluxpanel-side" }, h("div", { class: "fluxpanel-title" }, h("strong", {}, "FLUX"), provider), controlsSlot, status.el),
      h("div", { class: "fluxpanel-main" }, gallery.el, history.el, snippet.el),
    ),
  );
  el.append(root);

  // The static copy of the result that follows the panel (for viewers with no
  // kernel) is hidden while this live view is on screen, in any front end.
  const staticId = String(model.get("_static_id") || "").replace(/[^0-9a-f]/g, "");
  const hideStatic = document.createElement("style");
  if (staticId) {
    hideStatic.textContent = `[data-fluxpanel-static="${staticId}"] { display: none !important; }`;
    document.head.append(hideStatic);
  }

  // -- drop an image saved by fluxpanel to restore its settings ------------------
  const dropHint = h("div", { class: "fluxpanel-drop", "data-part": "drop" }, "Drop an image saved by fluxpanel to restore its settings");
  dropHint.hidden = true;
  root.append(dropHint);
  const hasFile = (e) => [...(e.dataTransfer?.types || [])].includes("Files");
  const onDragOver = (e) => {
    if (!hasFile(e) || e.target.closest?.("[data-drop-input]")) return;
    e.preventDefault();
    dropHint.hidden = false;
  };
  const onDragLeave = (e) => {
    if (!root.contains(e.relatedTarget)) dropHint.hidden = true;
  };
  const onDrop = async (e) => {
    if (!hasFile(e)) return;
    e.preventDefault();
    e.stopPropagation();
    dropHint.hidden = true;
    const file = e.dataTransfer.files[0];
    let request = null;
    try {
      request = await readRequest(new Uint8Array(await file.arrayBuffer()));
    } catch {
      request = null;
    }
    // Only the request (a few KB at most) goes to the kernel, never the file.
    model.send({ type: "dropped", name: file.name.slice(0, 200), request });
  };
  // An image pasted on the panel (not into a text box) goes to its image field.
  const onPaste = (e) => {
    if (e.target.closest?.("textarea, input, [data-drop-input]")) return;
    const files = imageFiles(e.clipboardData);
    if (files.length && controls?.takeFiles(files)) e.preventDefault();
  };
  root.addEventListener("paste", onPaste);
  root.addEventListener("dragover", onDragOver);
  root.addEventListener("dragleave", onDragLeave);
  root.addEventListener("drop", onDrop);

  // -- from the model to the view ---------------------------------------------------
  let controls = null;

  function modelSpec() {
    const spec = model.get("spec") || { models: [] };
    return spec.models.find((m) => m.id === model.get("model")) || spec.models[0];
  }

  function rebuildControls() {
    const spec = model.get("spec") || { models: [] };
    const current = modelSpec();
    if (!current) return;
    controls = buildControls({
      spec: current,
      models: spec.models,
      get: (name) => model.get(name),
      set: (name, value) => {
        model.set(name, value);
        model.save_changes();
      },
      generate,
      uid,
      images,
    });
    controlsSlot.replaceChildren(controls.el);
    controls.errors(model.get("field_errors"));
  }

  const providerSelect = h("select", {
    "aria-label": "Provider",
    title: "Where the images are made",
    onchange: (e) => {
      model.set("provider_name", e.target.value);
      model.save_changes();
    },
  });
  const providerField = h("label", { class: "fluxpanel-provider-field", "data-param": "provider" }, "via ", providerSelect);

  function showProvider() {
    const info = model.get("provider_info") || {};
    const offered = model.get("providers") || [];
    if (offered.length > 1) {
      // A choice between providers: the controls follow the chosen one's spec.
      providerSelect.replaceChildren(...offered.map((p) => h("option", { value: p.name }, p.label)));
      providerSelect.value = model.get("provider_name");
      provider.replaceChildren(providerField);
    } else {
      provider.textContent = info.label ? `via ${info.label}` : "";
    }
    banner.hidden = !info.offline;
    banner.textContent = info.offline
      ? `Preview mode: images are placeholders drawn offline, at no cost. To generate real images, ${info.setup || "configure a provider"}, then restart the kernel.`
      : "";
  }

  function showStatus() {
    const errors = model.get("field_errors") || {};
    const blocked = Object.values(errors)[0];
    status.update({
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

  function showImages() {
    const tiles = model.get("_tiles") || [];
    const expected = model.get("status") === "running" ? Math.max(0, model.get("expected") - tiles.length) : 0;
    gallery.update(tiles, expected, { boxes: model.get("result_boxes") || [], prompt: model.get("result_prompt") });
  }

  const showHistory = () => {
    history.update(model.get("_history") || [], model.get("history_current"));
    // Say which result is on screen (once, whichever view sees it first): in
    // marimo, changes from the browser are what re-run the cells reading the panel.
    const current = model.get("history_current");
    if (current >= 0 && model.get("_result_shown") !== current) {
      model.set("_result_shown", current);
      model.save_changes();
    }
  };
  const showCode = () => snippet.update({ result: model.get("result_code"), current: model.get("code") });

  rebuildControls();
  showProvider();
  showStatus();
  showImages();
  showHistory();
  showCode();

  model.on("change:spec", rebuildControls);
  model.on("change:model", rebuildControls);
  // Every parameter of every offered provider is a trait (param_names).
  for (const name of new Set([...(model.get("param_names") || []), ...PARAM_EXTRAS])) {
    if (name !== "model") model.on(`change:${name}`, () => controls?.update(name));
  }
  model.on("change:inputs", () => controls?.updateInputs());
  model.on("change:field_errors", () => {
    controls?.errors(model.get("field_errors"));
    showStatus();
  });
  for (const name of ["status", "status_text", "elapsed", "error", "cost_text", "estimate_text", "progress"]) model.on(`change:${name}`, showStatus);
  model.on("change:status", showImages);
  model.on("change:expected", showImages);
  model.on("change:_tiles", showImages);
  model.on("change:result_boxes", showImages);
  model.on("change:result_prompt", showImages);
  model.on("change:provider_info", showProvider);
  model.on("change:providers", showProvider);
  model.on("change:provider_name", showProvider);
  model.on("change:_history", showHistory);
  model.on("change:history_current", showHistory);
  model.on("change:code", showCode);
  model.on("change:result_code", showCode);
  model.on("msg:custom", onCustom);

  return () => {
    hideStatic.remove();
    root.removeEventListener("dragover", onDragOver);
    root.removeEventListener("dragleave", onDragLeave);
    root.removeEventListener("drop", onDrop);
    root.removeEventListener("paste", onPaste);
    status.destroy();
    for (const url of urls) URL.revokeObjectURL(url);
    urls.clear();
    for (const { reject } of pending.values()) reject(new Error("closed"));
    pending.clear();
  };
}

export default { render };
