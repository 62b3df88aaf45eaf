// The reproducing code: for the last result (exact, seed included) and for
// the current settings, with a copy button.
import { h } from "./dom.js";

export async function copyText(text, fallbackEl) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Insecure contexts have no clipboard API: select the text instead.
    const range = document.createRange();
    range.selectNodeContents(fallbackEl);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    return document.execCommand?.("copy") ?? false;
  }
}

/** "Copy" for the text of `source`, and where it says how that went. */
export function copyControls(source, action) {
  const status = h("span", { class: "copied", "aria-live": "polite" });
  const copy = async () => {
    status.textContent = (await copyText(source.textContent, source)) ? "Copied" : "Selected: press Ctrl/Cmd+C";
    setTimeout(() => (status.textContent = ""), 2000);
  };
  return [status, h("button", { class: "link", type: "button", "data-action": action, onclick: copy }, "Copy")];
}

export function createSnippet() {
  let which = "result";
  let texts = { result: "", current: "" };
  const code = h("code", {});
  const pre = h("pre", { class: "code", "data-part": "code" }, code);
  const tabs = {
    result: h("button", { class: "tab", "data-code": "result", onclick: () => choose("result") }, "Last result"),
    current: h("button", { class: "tab", "data-code": "current", onclick: () => choose("current") }, "Current settings"),
  };
  const el = h(
    "details",
    { class: "snippet" },
    h("summary", {}, "Python code"),
    h("div", { class: "row" }, tabs.result, tabs.current, h("span", { class: "spacer" }), ...copyControls(code, "copy")),
    pre,
  );

  function choose(name) {
    which = name;
    render();
  }
  function render() {
    if (!texts.result && which === "result") which = "current";
    tabs.result.disabled = !texts.result;
    for (const [name, tab] of Object.entries(tabs)) tab.setAttribute("aria-pressed", String(name === which));
    code.textContent = texts[which];
    pre.dataset.showing = which;
  }
  function update(next) {
    const hadResult = Boolean(texts.result);
    texts = next;
    if (!hadResult && texts.result) which = "result";
    render();
  }
  return { el, update };
}
