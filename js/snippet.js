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

// Python's words, strings, numbers and comments, for highlighting the code.
const TOKENS = /(#[^\n]*)|("""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|\b(import|from|as|await|async|def|return|with|for|in|if|else|not|and|or|None|True|False)\b|\b(\d[\d_]*(?:\.\d+)?)\b/g;
const KINDS = ["comment", "string", "keyword", "number"];

/** `text` as spans of its kinds of token (text nodes only: nothing is parsed as HTML). */
export function highlight(text) {
  const parts = [];
  let at = 0;
  for (const m of text.matchAll(TOKENS)) {
    if (m.index > at) parts.push(text.slice(at, m.index));
    const kind = KINDS[m.slice(1).findIndex(Boolean)];
    parts.push(h("span", { class: `tok-${kind}` }, m[0]));
    at = m.index + m[0].length;
  }
  parts.push(text.slice(at));
  return parts;
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
    { class: "snippet", open: true },
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
    code.replaceChildren(...highlight(texts[which] || ""));
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
