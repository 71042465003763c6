// Image helpers shared by classify.mjs (Node) and examples/browser (no Node imports here): PPM (P6) and 24/32-bit
// BMP decoding to RGB bytes, bilinear resizing, ImageNet normalisation to an NCHW float tensor, softmax and top-k.

/** { width, height, rgb: Uint8Array (width*height*3, row-major, top row first) } from PPM P6 or BMP bytes. */
export function decodeImage(bytes) {
  if (bytes[0] === 0x50 && bytes[1] === 0x36) return decodePPM(bytes);
  if (bytes[0] === 0x42 && bytes[1] === 0x4d) return decodeBMP(bytes);
  throw new Error('unsupported image: expected a binary PPM (P6) or a BMP');
}

/** Netpbm P6: "P6" width height maxval (whitespace/comment separated), one whitespace byte, then RGB samples. */
export function decodePPM(bytes) {
  let pos = 2;
  const fields = [];
  while (fields.length < 3) {
    while (/\s/.test(String.fromCharCode(bytes[pos]))) pos++;
    if (bytes[pos] === 0x23) { while (bytes[pos] !== 0x0a && pos < bytes.length) pos++; continue; } // '#' comment
    let s = '';
    while (pos < bytes.length && /[0-9]/.test(String.fromCharCode(bytes[pos]))) s += String.fromCharCode(bytes[pos++]);
    if (!s) throw new Error('PPM: bad header');
    fields.push(Number(s));
  }
  const [width, height, maxval] = fields;
  if (maxval > 255) throw new Error('PPM: only 8-bit samples (maxval <= 255) are supported');
  pos++; // the single whitespace byte after maxval
  const n = width * height * 3;
  if (bytes.length < pos + n) throw new Error('PPM: truncated pixel data');
  const rgb = new Uint8Array(n);
  for (let i = 0; i < n; i++) rgb[i] = Math.round((bytes[pos + i] * 255) / maxval);
  return { width, height, rgb };
}

/** Windows BMP, uncompressed 24- or 32-bit: BGR(A) rows padded to 4 bytes, bottom-up unless the height is negative. */
export function decodeBMP(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = view.getUint32(10, true);
  const width = view.getInt32(18, true);
  const rawHeight = view.getInt32(22, true);
  const bpp = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  if ((bpp !== 24 && bpp !== 32) || (compression !== 0 && compression !== 3)) {
    throw new Error(`BMP: only uncompressed 24/32-bit images are supported (got ${bpp} bpp, compression ${compression})`);
  }
  const height = Math.abs(rawHeight);
  const stride = Math.ceil((width * bpp) / 32) * 4;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (rawHeight > 0 ? height - 1 - y : y) * stride;
    for (let x = 0; x < width; x++) {
      const p = row + (x * bpp) / 8;
      const o = (y * width + x) * 3;
      rgb[o] = bytes[p + 2];
      rgb[o + 1] = bytes[p + 1];
      rgb[o + 2] = bytes[p];
    }
  }
  return { width, height, rgb };
}

/** Bilinear resize with half-pixel centres (like PIL / torchvision without antialiasing); returns RGB floats in [0, 1]. */
export function resizeBilinear({ width, height, rgb }, outW, outH) {
  const out = new Float32Array(outW * outH * 3);
  const sx = width / outW;
  const sy = height / outH;
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), height - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, height - 1), wy = fy - y0;
    for (let x = 0; x < outW; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), width - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, width - 1), wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy, xx) => rgb[(yy * width + xx) * 3 + c];
        const top = p(y0, x0) * (1 - wx) + p(y0, x1) * wx;
        const bottom = p(y1, x0) * (1 - wx) + p(y1, x1) * wx;
        out[(y * outW + x) * 3 + c] = (top * (1 - wy) + bottom * wy) / 255;
      }
    }
  }
  return out;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/** HWC RGB floats in [0, 1] -> NCHW, (v - mean) / std per channel. */
export function normalizeToNCHW(hwc, width, height, mean = IMAGENET_MEAN, std = IMAGENET_STD) {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = (hwc[i * 3 + c] - mean[c]) / std[c];
  return out;
}

/** The full preprocessing: decoded image -> Float32Array [1, 3, size, size]. */
export function preprocess(image, size = 224) {
  return normalizeToNCHW(resizeBilinear(image, size, size), size, size);
}

export function softmax(logits) {
  const m = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** [{ index, score }] of the k largest scores, best first. */
export function topK(scores, k) {
  return Array.from(scores, (score, index) => ({ index, score }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}
