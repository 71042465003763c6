// Elementwise and depthwise wasm kernels vs plain JS loops: median GB/s (elementwise) and GFLOP/s (depthwise).
// Run: npm run build && node bench/wasm-elementwise.mjs
import { WasmContext } from '../dist/wasm/context.js';
import { wasmBinary, wasmClamp, wasmPerChannel } from '../dist/wasm/elementwise.js';
import { wasmDepthwiseInterior } from '../dist/wasm/depthwise.js';
import { wasmWinogradInput } from '../dist/wasm/winograd.js';

const ROUNDS = 9;
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];

/** Median seconds per call over ROUNDS batches of `inner` calls, after a warm-up batch. */
function time(fn, inner) {
  for (let i = 0; i < inner; i++) fn();
  const ts = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    ts.push((performance.now() - t0) / 1000 / inner);
  }
  return median(ts);
}

const ctx = WasmContext.create();
ctx.warmUp();
const n = 1 << 20; // 1M floats: a 64×128×128 activation
const C = 64, HW = n / C;
const [aAt, bAt, oAt, cAt] = [ctx.alloc(n * 4), ctx.alloc(n * 4), ctx.alloc(n * 4), ctx.alloc(C * 4)];
// (map() would return a copy outside wasm memory: fill the views in place.)
const randomView = (at, len, shift) => {
  const v = ctx.f32(at, len);
  for (let i = 0; i < len; i++) v[i] = Math.random() - shift;
  return v;
};
const a = randomView(aAt, n, 0.5), b = randomView(bAt, n, 0.5), o = ctx.f32(oAt, n), c = randomView(cAt, C, 0);
const ja = Float32Array.from(a), jb = Float32Array.from(b), jo = new Float32Array(n), jc = Float32Array.from(c);

/** Runs `fn`, which must take the wasm path (a false return means a view was not in wasm memory). */
const must = (fn) => () => { if (!fn()) throw new Error('wasm path not taken'); };
const rows = [];
const gbps = (bytes, s) => (bytes / s / 1e9).toFixed(1);
{
  const js = time(() => { for (let i = 0; i < n; i++) jo[i] = ja[i] + jb[i]; }, 20);
  const w = time(must(() => wasmBinary(ctx, 'add', a, b, o)), 20);
  rows.push(['Add, equal shapes, 1M floats (GB/s)', gbps(12 * n, js), gbps(12 * n, w)]);
}
{
  const js = time(() => { for (let ch = 0, i = 0; ch < C; ch++) { const v = jc[ch]; for (let k = 0; k < HW; k++, i++) jo[i] = ja[i] * v; } }, 20);
  const w = time(must(() => wasmPerChannel(ctx, 'mul', a, c, o, C, HW)), 20);
  rows.push(['Mul, per-channel [64,1,1] (GB/s)', gbps(8 * n, js), gbps(8 * n, w)]);
}
{
  const js = time(() => { for (let i = 0; i < n; i++) { const x = ja[i]; jo[i] = x < 0 ? 0 : x > 6 ? 6 : x; } }, 20);
  const w = time(must(() => wasmClamp(ctx, a, o, 0, 6)), 20);
  rows.push(['Relu6 / Clip (GB/s)', gbps(8 * n, js), gbps(8 * n, w)]);
}
{
  // Depthwise 3×3 s1 interior of one 128×128 plane (pads 1), 18 flops per output.
  const H = 128, W = 128, wts = Float32Array.from({ length: 9 }, () => Math.random());
  const flops = 18 * (H - 2) * (W - 2);
  const js = time(() => {
    for (let oh = 1; oh < H - 1; oh++) for (let ow = 1; ow < W - 1; ow++) {
      let s = 0.1;
      for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) s += wts[kh * 3 + kw] * ja[(oh - 1 + kh) * W + ow - 1 + kw];
      jo[oh * W + ow] = s;
    }
  }, 50);
  const w = time(must(() => wasmDepthwiseInterior(ctx, 3, 1, a, 0, W, wts, 0, 0.1, o, 0, W, 1, H - 1, 1, W - 1, 1, 1)), 50);
  rows.push(['Depthwise 3x3 s1 interior, 128x128 plane (GFLOP/s)', (flops / js / 1e9).toFixed(1), (flops / w / 1e9).toFixed(1)]);
}
{
  // Depthwise 3×3 s2 interior of one 128×128 plane (pads 1): 63×63 interior outputs.
  const H = 128, W = 128, OW = 64, wts = Float32Array.from({ length: 9 }, () => Math.random());
  const flops = 18 * 63 * 63;
  const js = time(() => {
    for (let oh = 1; oh < 64; oh++) for (let ow = 1; ow < 64; ow++) {
      let s = 0.1;
      for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) s += wts[kh * 3 + kw] * ja[(2 * oh - 1 + kh) * W + 2 * ow - 1 + kw];
      jo[oh * OW + ow] = s;
    }
  }, 50);
  const w = time(must(() => wasmDepthwiseInterior(ctx, 3, 2, a, 0, W, wts, 0, 0.1, o, 0, OW, 1, 64, 1, 64, 1, 1)), 50);
  rows.push(['Depthwise 3x3 s2 interior, 128x128 plane (GFLOP/s)', (flops / js / 1e9).toFixed(1), (flops / w / 1e9).toFixed(1)]);
}
{
  // Winograd F(4,3) input transform, 64 channels of a 58×58 (padded 56×56) plane, 14×14 = 196 tiles:
  // JS with the two sparse passes written out (as a straightforward port would), vs wasm four channels at a time.
  const Cw = 64, Wp = 58, plane = Wp * Wp, tiles = 196, xiStride = Cw * tiles;
  const BT = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]];
  const vAt = ctx.alloc(36 * xiStride * 4);
  const x = ctx.f32(aAt, n), v = ctx.f32(vAt, 36 * xiStride), jv = new Float32Array(36 * xiStride);
  const tmp = new Float64Array(36);
  const js = time(() => {
    for (let t = 0; t < tiles; t++) {
      const base = Math.floor(t / 14) * 4 * Wp + (t % 14) * 4;
      for (let c = 0; c < Cw; c++) {
        const xc = c * plane + base;
        for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) {
          let s = 0;
          for (let k = 0; k < 6; k++) if (BT[i][k] !== 0) s += BT[i][k] * ja[xc + k * Wp + j];
          tmp[i * 6 + j] = s;
        }
        for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) {
          let s = 0;
          for (let k = 0; k < 6; k++) if (BT[j][k] !== 0) s += tmp[i * 6 + k] * BT[j][k];
          jv[(i * 6 + j) * xiStride + t * Cw + c] = s;
        }
      }
    }
  }, 5);
  const wasmT = time(must(() => {
    for (let t = 0; t < tiles; t++) {
      const base = Math.floor(t / 14) * 4 * Wp + (t % 14) * 4;
      wasmWinogradInput(ctx, 'f43', x, base, Wp, plane, Cw / 4, v, t * Cw, xiStride);
    }
    return true;
  }), 5);
  const per = (s) => ((s / (tiles * Cw)) * 1e9).toFixed(1);
  rows.push(['Winograd F(4,3) input transform, ns per tile-channel (JS: generic sparse loops, not conv/winograd.ts unrolled)', per(js), per(wasmT)]);
}
console.log('| kernel | JS loop | wasm SIMD |\n|---|---:|---:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
