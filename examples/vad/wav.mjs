// 16-bit PCM WAV reading/writing without dependencies. A RIFF file is "RIFF" size "WAVE" followed by chunks
// (4-byte id, little-endian uint32 size, payload padded to an even length); we need "fmt " and "data".

/** { sampleRate, channels, samples: Float32Array (mono, channels averaged, in [-1, 1)) } */
export function decodeWav(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = (at) => String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
  if (id(0) !== 'RIFF' || id(8) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  let fmt;
  let data;
  for (let pos = 12; pos + 8 <= bytes.length; ) {
    const chunk = id(pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (chunk === 'fmt ') {
      fmt = { format: view.getUint16(body, true), channels: view.getUint16(body + 2, true), sampleRate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (chunk === 'data') {
      data = { offset: body, size: Math.min(size, bytes.length - body) };
    }
    pos = body + size + (size & 1);
  }
  if (!fmt || !data) throw new Error('WAV: missing fmt or data chunk');
  // format 1 = PCM; 0xfffe = WAVE_FORMAT_EXTENSIBLE (PCM sub-format assumed when bits == 16).
  if ((fmt.format !== 1 && fmt.format !== 0xfffe) || fmt.bits !== 16) {
    throw new Error(`WAV: only 16-bit PCM is supported (format ${fmt.format}, ${fmt.bits} bits)`);
  }
  const frames = Math.floor(data.size / (2 * fmt.channels));
  const samples = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let s = 0;
    for (let c = 0; c < fmt.channels; c++) s += view.getInt16(data.offset + 2 * (i * fmt.channels + c), true);
    samples[i] = s / fmt.channels / 32768;
  }
  return { sampleRate: fmt.sampleRate, channels: fmt.channels, samples };
}

/** Mono 16-bit PCM WAV bytes from samples in [-1, 1]. */
export function encodeWav(samples, sampleRate) {
  const out = new Uint8Array(44 + 2 * samples.length);
  const v = new DataView(out.buffer);
  const ascii = (at, s) => { for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i); };
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + 2 * samples.length, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  ascii(36, 'data');
  v.setUint32(40, 2 * samples.length, true);
  for (let i = 0; i < samples.length; i++) v.setInt16(44 + 2 * i, Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32767))), true);
  return out;
}
