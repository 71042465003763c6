// A synthetic test picture (no Node imports, also used by examples/browser): a sky-to-grass gradient with a red disc,
// as { width, height, rgb }, and its PPM (P6) / BMP (24-bit) encodings.
export function sampleImage(width = 320, height = 240) {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const t = y / (height - 1);
      let px = t < 0.6 ? [90 + 100 * t, 150 + 80 * t, 250] : [40, 140 + 60 * (1 - t), 40];
      const dx = x - width * 0.6, dy = y - height * 0.4;
      if (dx * dx + dy * dy < (height * 0.18) ** 2) px = [220, 30 + (x % 7), 30];
      rgb.set(px.map(Math.round), o);
    }
  }
  return { width, height, rgb };
}

export function encodePPM({ width, height, rgb }) {
  const header = new TextEncoder().encode(`P6\n# tinfer sample\n${width} ${height}\n255\n`);
  const out = new Uint8Array(header.length + rgb.length);
  out.set(header);
  out.set(rgb, header.length);
  return out;
}

export function encodeBMP({ width, height, rgb }) {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const size = 54 + stride * height;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  out[0] = 0x42; out[1] = 0x4d;
  v.setUint32(2, size, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, width, true);
  v.setInt32(22, height, true); // positive: rows stored bottom-up
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  v.setUint32(34, stride * height, true);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      out[row + x * 3] = rgb[i + 2];
      out[row + x * 3 + 1] = rgb[i + 1];
      out[row + x * 3 + 2] = rgb[i];
    }
  }
  return out;
}
