// Files to the kernel as binary comm buffers, in 8 MiB chunks (the Jupyter
// server refuses a message over 10 MiB; every message costs a round of work
// in the browser, the server and the kernel, so chunks are as large as is
// safe). The kernel says how much has come at most twice a second, which
// the view shows as progress. No base64: the bytes travel as they are.

export const CHUNK = 8 << 20;
/**
 * @param {object} model  the widget model (send, on "msg:custom")
 * @returns {(param: string, file: Blob & {name?: string}, opts?: {append?: boolean, onProgress?: (f: number) => void}) => Promise<string>}
 *   resolves with the sha256 the kernel computed, rejects with its error
 */
export function createUploader(model) {
  const waiting = new Map(); // upload id -> { resolve, reject, size, onProgress }

  model.on("msg:custom", (msg) => {
    const w = waiting.get(msg?.upload);
    if (!w) return;
    if (msg.type === "input-ack") w.onProgress?.(Math.min(1, msg.received / Math.max(1, w.size)));
    if (msg.type === "input-done") {
      waiting.delete(msg.upload);
      if (msg.error) w.reject(new Error(msg.error));
      else w.resolve(msg.sha256);
    }
  });

  return async function upload(param, file, { append = false, onProgress } = {}) {
    const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    const done = new Promise((resolve, reject) => waiting.set(id, { resolve, reject, size: file.size, onProgress }));
    try {
      // One read, then copies of its parts. Nothing is sent before it ends:
      // the kernel's answer would busy the page while it reads.
      const bytes = await file.arrayBuffer();
      model.send({ type: "input-begin", upload: id, param, name: (file.name || "pasted image").slice(0, 200), size: file.size, append });
      for (let offset = 0; offset < file.size; offset += CHUNK) {
        model.send({ type: "input-chunk", upload: id, offset }, undefined, [bytes.slice(offset, offset + CHUNK)]);
      }
      model.send({ type: "input-end", upload: id });
    } catch (err) {
      model.send({ type: "input-cancel", upload: id });
      waiting.delete(id);
      throw err;
    }
    return done;
  };
}
