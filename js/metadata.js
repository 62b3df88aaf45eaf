// Reading the request fluxpanel writes into image files, in the browser, so a
// dropped file never has to travel to the kernel (which caps messages at
// 10 MiB): only the small request it holds is sent.

const MAX_TEXT = 1 << 20;
const KEY = "fluxpanel";
const SLICE = 1024;
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

/**
 * Inflate `bytes`, stopping once more than `limit` bytes have come out: a
 * chunk of a few KB can inflate to gigabytes. The input goes in 1 KB at a
 * time (deflate expands at most about 1000:1), so no more than about a
 * megabyte past the limit is ever made. Returns null past the limit, or for
 * data that is not deflate.
 */
async function inflate(bytes, limit = MAX_TEXT) {
  const stream = new DecompressionStream("deflate");
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const parts = [];
  let size = 0;
  let over = false;
  const drained = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      size += value.length;
      if (size > limit) {
        over = true;
        return;
      }
      parts.push(value);
    }
  })();
  try {
    for (let at = 0; at < bytes.length && !over; at += SLICE) {
      const written = writer.write(bytes.subarray(at, at + SLICE));
      written.catch(() => {});
      await Promise.race([written, drained]);
    }
    if (!over) {
      const closed = writer.close();
      closed.catch(() => {});
      await Promise.race([closed, drained]);
      await drained;
    }
  } catch {
    return null; // not valid deflate data
  } finally {
    reader.cancel().catch(() => {});
    writer.abort().catch(() => {});
  }
  if (over) return null;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// Only our key is read, in its first chunk; every other text chunk is skipped
// before any inflating.
async function pngTexts(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = {};
  let pos = 8;
  while (pos + 8 <= bytes.length) {
    const length = view.getUint32(pos);
    const type = latin1.decode(bytes.subarray(pos + 4, pos + 8));
    const body = bytes.subarray(pos + 8, pos + 8 + length);
    pos += 12 + length;
    if (type === "IEND") break;
    if (type !== "tEXt" && type !== "iTXt" && type !== "zTXt") continue;
    const zero = body.indexOf(0);
    if (zero < 0 || latin1.decode(body.subarray(0, zero)) !== KEY) continue;
    let text = null;
    if (type === "tEXt") text = latin1.decode(body.subarray(zero + 1));
    else if (type === "zTXt") {
      const raw = await inflate(body.subarray(zero + 2));
      text = raw && latin1.decode(raw);
    } else {
      const compressed = body[zero + 1];
      let rest = body.subarray(zero + 3);
      for (let skip = 0; skip < 2; skip++) rest = rest.subarray(rest.indexOf(0) + 1); // language, translated key
      const raw = compressed ? await inflate(rest) : rest;
      text = raw && utf8.decode(raw);
    }
    // The first of our chunks is the one: a file with thousands of them
    // costs one inflation, not thousands.
    if (text !== null) out[KEY] = text;
    break;
  }
  return out;
}

function jpegTexts(bytes) {
  const out = {};
  let pos = 2;
  while (pos + 4 <= bytes.length && bytes[pos] === 0xff && bytes[pos + 1] !== 0xda) {
    const length = (bytes[pos + 2] << 8) | bytes[pos + 3];
    if (bytes[pos + 1] === 0xfe) {
      const body = bytes.subarray(pos + 4, pos + 2 + length);
      const zero = body.indexOf(0);
      if (zero > 0) out[latin1.decode(body.subarray(0, zero))] = utf8.decode(body.subarray(zero + 1));
    }
    pos += 2 + length;
  }
  return out;
}

function webpTexts(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const type = latin1.decode(bytes.subarray(pos, pos + 4));
    const size = view.getUint32(pos + 4, true);
    if (type === "XMP ") {
      const xml = new DOMParser().parseFromString(utf8.decode(bytes.subarray(pos + 8, pos + 8 + size)), "application/xml");
      const out = {};
      for (const el of xml.getElementsByTagName("*")) {
        for (const attr of el.attributes) if (attr.name.startsWith("fluxpanel:")) out[attr.name.slice(10)] = attr.value;
      }
      return out;
    }
    pos += 8 + size + (size & 1);
  }
  return {};
}

/**
 * The fluxpanel request saved in an image file, or null if it has none.
 * @param {Uint8Array} bytes
 * @returns {Promise<object|null>}
 */
export async function readRequest(bytes) {
  let texts = {};
  if (bytes[0] === 0x89 && bytes[1] === 0x50) texts = await pngTexts(bytes);
  else if (bytes[0] === 0xff && bytes[1] === 0xd8) texts = jpegTexts(bytes);
  else if (latin1.decode(bytes.subarray(0, 4)) === "RIFF" && latin1.decode(bytes.subarray(8, 12)) === "WEBP") texts = webpTexts(bytes);
  const text = texts.fluxpanel;
  if (!text || text.length > MAX_TEXT) return null;
  try {
    const doc = JSON.parse(text);
    return doc && typeof doc.request === "object" ? doc.request : null;
  } catch {
    return null;
  }
}
