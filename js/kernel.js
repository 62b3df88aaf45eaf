// Asking the kernel for what is not in the traits: the original of a result,
// a picture of an input. Each question carries a token; the answer comes as a
// custom message with the same token. Bytes become object URLs, revoked when
// the view goes.

const WAIT = 60_000; // ms before a question without an answer fails

export class Kernel {
  #model;
  #onCustom;
  #originals;
  #pending;
  #token;
  #urls;

  /** @param {object} model the widget model */
  constructor(model) {
    this.#model = model;
    this.#urls = new Set(); // object URLs to revoke on cleanup
    this.#pending = new Map(); // token -> { resolve, reject }
    this.#originals = new Map(); // tile key -> { url, name }
    this.#token = 0;
    this.#onCustom = (msg, buffers) => this.#answered(msg, buffers);
    model.on("msg:custom", this.#onCustom);
  }

  /** Send `content` and wait for the answer: { msg, buffers }. */
  ask(content) {
    const t = ++this.#token;
    return new Promise((resolve, reject) => {
      this.#pending.set(t, { resolve, reject });
      this.#model.send({ ...content, token: t });
      setTimeout(() => this.#pending.has(t) && (this.#pending.delete(t), reject(new Error("the kernel did not answer"))), WAIT);
    });
  }

  #answered(msg, buffers) {
    const waiter = this.#pending.get(msg?.token);
    if (!waiter) return;
    this.#pending.delete(msg.token);
    if (msg.error) waiter.reject(new Error(msg.error));
    else waiter.resolve({ msg, buffers });
  }

  /** An object URL for bytes (kept until the view goes). */
  url(bytes, mime) {
    const url = URL.createObjectURL(new Blob([bytes], { type: mime }));
    this.#urls.add(url);
    return url;
  }

  /** An object URL for the bytes a child model carries (a tile's preview). */
  async child(ref, mime) {
    const id = String(ref).replace(/^IPY_MODEL_/, "");
    const child = await this.#model.widget_manager.get_model(id);
    return this.url(child.get("value"), mime);
  }

  /** The full-resolution original of a tile, asked once: { url, name }. */
  async original(tile) {
    if (this.#originals.has(tile.key)) return this.#originals.get(tile.key);
    const { msg, buffers } = await this.ask({ type: "original", key: tile.key });
    const entry = { url: this.url(buffers[0], msg.mime), name: msg.name };
    this.#originals.set(tile.key, entry);
    return entry;
  }

  /** The image an edited result was made from: an object URL. */
  async before(tile) {
    const { msg, buffers } = await this.ask({ type: "before", key: tile.key });
    return this.url(buffers[0], msg.mime);
  }

  /** A display-size picture of input `index` of image parameter `param`. */
  async picture(param, index = 0) {
    const { msg, buffers } = await this.ask({ type: "preview-input", param, index });
    return this.url(buffers[0], msg.mime);
  }

  dispose() {
    this.#model.off?.("msg:custom", this.#onCustom);
    for (const url of this.#urls) URL.revokeObjectURL(url);
    this.#urls.clear();
    for (const { reject } of this.#pending.values()) reject(new Error("closed"));
    this.#pending.clear();
  }
}
