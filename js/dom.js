// Tiny DOM helpers. Text is always set as text, never parsed as HTML.

/** Every class the panel uses is scoped under this prefix. */
export const PREFIX = "fluxpanel-";

/**
 * Create an element: h("div", { class: "row tile", "data-part": "status" }, child, "text").
 * Class names are the panel's own (each gets the "fluxpanel-" prefix, so the
 * page's styles and ours never meet); attributes starting with "on" are
 * listeners; `false`/`null` attributes are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.className = value.split(" ").map((name) => PREFIX + name).join(" ");
    } else if (key === "text") {
      el.textContent = value;
    } else if (key in el && typeof value !== "string") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace all children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  for (const child of children.flat()) if (child) el.append(child);
  return el;
}

/** Format seconds for people: "0.8 s", "12 s", "2 min 5 s". */
export function seconds(s) {
  if (!Number.isFinite(s)) return "";
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 90) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}
