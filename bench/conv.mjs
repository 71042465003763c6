// Convolution micro-benchmarks: medians of each path on the layers the issue names.
// Run after `npm run build`: node bench/conv.mjs [iterations]   (CPU-time medians; WALL=1 for wall time)
import { convIm2colPacked, im2colPackedScratchLength, packConvWeights, planIm2col, convIm2col } from '../dist/kernels/conv/im2col.js';
import { convWinograd, planWinograd } from '../dist/kernels/conv/winograd.js';
import { convDepthwise, planDepthwise } from '../dist/kernels/conv/depthwise.js';
import { convReference } from '../dist/kernels/conv/reference.js';
import { medianTime } from './timing.mjs';

const iterations = Number(process.argv[2] ?? 15);

function problem(c, m, h, w, k, s, pad, group = 1) {
  const oh = Math.floor((h + 2 * pad - k) / s) + 1;
  const ow = Math.floor((w + 2 * pad - k) / s) + 1;
  return {
    batch: 1, inChannels: c, outChannels: m, group,
    geo: { inSize: [1, h, w], outSize: [1, oh, ow], kernel: [1, k, k], strides: [1, s, s], dilations: [1, 1, 1], padsBegin: [0, pad, pad], padsEnd: [0, pad, pad] },
  };
}

function random(n, seed) {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = a / 2 ** 31 - 1;
  }
  return out;
}

const median = (fn) => medianTime(fn, iterations, 3);

function operands(p) {
  const g = p.geo;
  const x = random(p.inChannels * g.inSize[1] * g.inSize[2], 1);
  const w = random(p.outChannels * (p.inChannels / p.group) * g.kernel[1] * g.kernel[2], 2).map((v) => v * 0.1);
  const b = random(p.outChannels, 3);
  const y = new Float32Array(p.outChannels * g.outSize[1] * g.outSize[2]);
  return { x, w, b, y };
}

function maxRelError(p, x, w, b, y) {
  const ref = new Float32Array(y.length);
  convReference(p, x, w, b, ref);
  let scale = 0;
  for (const v of ref) scale = Math.max(scale, Math.abs(v));
  let err = 0;
  for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(y[i] - ref[i]));
  return err / scale;
}

const act = { kind: 'none' };
const report = (name, ms, extra = '') => console.log(`${name.padEnd(48)} ${ms.toFixed(2).padStart(8)} ms ${extra}`);

{
  const p = problem(64, 64, 56, 56, 3, 1, 1);
  const { x, w, b, y } = operands(p);
  const plan = planIm2col(p);
  report('3x3 64->64 56x56 im2col + sgemm', median(() => convIm2col(p, plan, x, w, b, y, new Float32Array(plan.scratchLength))));
  const packed = packConvWeights(p, w, b);
  const s = new Float32Array(im2colPackedScratchLength(p, plan, packed));
  const tIm2col = median(() => convIm2colPacked(p, plan, packed, x, undefined, y, s, act));
  report('3x3 64->64 56x56 im2col + packed GEMM', tIm2col);
  for (const v of ['f23', 'f43', 'f63']) {
    const wp = planWinograd(p, v, w);
    const ws = new Float32Array(wp.scratchLength);
    const t = median(() => convWinograd(p, wp, x, b, y, ws, act));
    report(`3x3 64->64 56x56 winograd ${v}`, t, `(${(tIm2col / t).toFixed(2)}x vs im2col, max rel err ${maxRelError(p, x, w, b, y).toExponential(1)})`);
  }
}

for (const [c, hw] of [[128, 28], [256, 14], [512, 7]]) {
  const p = problem(c, c, hw, hw, 3, 1, 1);
  const { x, w, b, y } = operands(p);
  const plan = planIm2col(p);
  const packed = packConvWeights(p, w, b);
  const s = new Float32Array(im2colPackedScratchLength(p, plan, packed));
  const tIm2col = median(() => convIm2colPacked(p, plan, packed, x, undefined, y, s, act));
  report(`3x3 ${c}->${c} ${hw}x${hw} im2col + packed GEMM`, tIm2col);
  for (const v of ['f23', 'f43', 'f63']) {
    const wp = planWinograd(p, v, w);
    const ws = new Float32Array(wp.scratchLength);
    const t = median(() => convWinograd(p, wp, x, b, y, ws, act));
    report(`3x3 ${c}->${c} ${hw}x${hw} winograd ${v}`, t, `(${(tIm2col / t).toFixed(2)}x)`);
  }
}

for (const s of [1, 2]) {
  const p = problem(144, 144, 56, 56, 3, s, 1, 144);
  const { x, w, b, y } = operands(p);
  report(`depthwise 3x3 s${s} 144ch 56x56 generic`, median(() => convDepthwise(p, planDepthwise(p, 'generic'), x, w, b, y)));
  const plan = planDepthwise(p);
  report(`depthwise 3x3 s${s} 144ch 56x56 ${plan.kernel}`, median(() => convDepthwise(p, plan, x, w, b, y)), `(max rel err ${maxRelError(p, x, w, b, y).toExponential(1)})`);
}
