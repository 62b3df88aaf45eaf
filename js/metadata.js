// Reading the request fluxpanel writes into image files, in the browser, so a
// dropped file never has to travel to the kernel (which caps messages at
// 10 MiB): only the small request it holds is sent.

const MAX_TEXT = 1 << 20;
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

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
    if (zero < 0) continue;
    const key = latin1.decode(body.subarray(0, zero));
    if (type === "tEXt") out[key] = latin1.decode(body.subarray(zero + 1));
    else if (type === "zTXt") out[key] = latin1.decode(await inflate(body.subarray(zero + 2)));
    else {
      const compressed = body[zero + 1];
      let rest = body.subarray(zero + 3);
      for (let skip = 0; skip < 2; skip++) rest = rest.subarray(rest.indexOf(0) + 1); // language, translated key
      out[key] = utf8.decode(compressed ? await inflate(rest) : rest);
    }
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
