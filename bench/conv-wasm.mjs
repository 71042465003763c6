// Conv paths on the wasm backend vs JS, per layer shape, with x, y and scratch in the wasm memory (as in a
// session's arena): im2col + packed GEMM, Winograd F(4,3), and the im2col copy alone (what packing the columns
// straight into the GEMM's panels could save). CPU-time medians of interleaved rounds.
// Run after `npm run build`: node bench/conv-wasm.mjs [--rounds R]
import { WasmContext } from '../dist/wasm/context.js';
import { convIm2colPacked, im2colPackedScratchLength, packConvWeights, planIm2col, uploadConvWeights } from '../dist/kernels/conv/im2col.js';
import { convWinograd, planWinograd, uploadWinogradFilters, winogradApplies } from '../dist/kernels/conv/winograd.js';
import { NO_ACTIVATION } from '../dist/kernels/gemm/activation.js';
import { IM2COL_WASM } from '../dist/kernels/conv/im2col-wasm.js';

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] || 7);
/** --only C,M,H: run just the layers whose "C->M ... HxH" label contains this text, e.g. --only 16-> */
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

/** The distinct Conv shapes of resnet18 / squeezenet / shufflenet that go through GEMMs: [C, M, H, k, stride, pad]. */
const LAYERS = [
  [3, 64, 224, 7, 2, 3],
  [64, 64, 56, 3, 1, 1],
  [64, 128, 56, 3, 2, 1],
  [128, 128, 28, 3, 1, 1],
  [128, 256, 28, 3, 2, 1],
  [256, 256, 14, 3, 1, 1],
  [256, 512, 14, 3, 2, 1],
  [512, 512, 7, 3, 1, 1],
  [64, 128, 56, 1, 2, 0],
  [3, 64, 224, 3, 2, 0],
  [16, 64, 55, 3, 1, 1],
  [64, 256, 13, 1, 1, 0],
  [48, 192, 27, 3, 1, 1],
  [32, 128, 27, 3, 1, 1],
  [24, 64, 28, 3, 1, 1],
  [16, 32, 28, 3, 1, 1],
  [32, 32, 56, 3, 1, 1],
];

function problem(C, M, H, k, s, pad) {
  const o = Math.floor((H + 2 * pad - k) / s) + 1;
  return {
    batch: 1, inChannels: C, outChannels: M, group: 1,
    geo: { inSize: [1, H, H], outSize: [1, o, o], kernel: [1, k, k], strides: [1, s, s], dilations: [1, 1, 1], padsBegin: [0, pad, pad], padsEnd: [0, pad, pad] },
  };
}

function cpuMs(fn) {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const ctx = WasmContext.create();
if (!ctx) throw new Error('no WebAssembly SIMD');
console.log(`wasm ${ctx.relaxedSimd ? 'relaxed' : 'simd128'} ${ctx.kernels.gemm.name}`);
const im2colKernel = ctx.use(IM2COL_WASM);
console.log('| layer | GFLOP | im2col js | im2col wasm (JS copy) | im2col wasm (wasm copy) | winograd js | winograd wasm | JS im2col copy alone | wasm im2col copy alone |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [C, M, H, k, s, pad] of LAYERS) {
  if (only !== undefined && !`${C}->${M} ${k}x${k}/${s} ${H}x${H}`.includes(only)) continue;
  const p = problem(C, M, H, k, s, pad);
  const O = p.geo.outSize[1];
  const flop = (2 * C * M * k * k * O * O) / 1e9;
  const w = Float32Array.from({ length: M * C * k * k }, (_, i) => Math.sin(i) * 0.1);
  const b = Float32Array.from({ length: M }, (_, i) => Math.cos(i));
  const plan = planIm2col(p);
  const packed = packConvWeights(p, w, b);
  const wasmPacked = uploadConvWeights(ctx, p, packed, w, b);
  const wino = winogradApplies(p) ? planWinograd(p, 'f43', w) : undefined;
  const wasmWino = wino && uploadWinogradFilters(ctx, wino, w);
  const xLen = C * H * H;
  const yLen = M * O * O;
  const sLen = Math.max(im2colPackedScratchLength(p, plan, packed), wino?.scratchLength ?? 0);
  const offs = [xLen, yLen, sLen].map((n) => ctx.alloc(n * 4));
  const [x, y, scratch] = offs.map((o, i) => ctx.f32(o, [xLen, yLen, sLen][i]));
  x.forEach((_, i) => (x[i] = Math.sin(i * 0.37)));
  // JS runs get plain arrays (the wasm twins then decline); wasm runs the views above.
  const [xj, yj, sj] = [new Float32Array(xLen), new Float32Array(yLen), new Float32Array(sLen)];
  xj.set(x);
  const runs = {
    'im2col js': () => convIm2colPacked(p, plan, packed, xj, undefined, yj, sj, NO_ACTIVATION),
    'im2col wasm': () => convIm2colPacked(p, plan, packed, x, undefined, y, scratch, NO_ACTIVATION, wasmPacked),
    'im2col wasm+copy': () => convIm2colPacked(p, plan, packed, x, undefined, y, scratch, NO_ACTIVATION, wasmPacked, im2colKernel),
    'winograd js': wino && (() => convWinograd(p, wino, xj, b, yj, sj, NO_ACTIVATION)),
    'winograd wasm': wino && (() => convWinograd(p, wino, x, b, y, scratch, NO_ACTIVATION, wasmWino)),
    'im2col copy alone': plan.pointwise ? undefined : () => convIm2colPacked(p, plan, { groups: [], biasPacked: true }, x, undefined, y, scratch, NO_ACTIVATION, { ctx, packs: [{ side: 'A', K: 0, count: 0, kernels: { packedA: () => {} }, panels: 0, bias: 0, kc: 1, block: 1 }], source: w }),
    'wasm copy alone': plan.pointwise ? undefined : () => convIm2colPacked(p, plan, { groups: [], biasPacked: true }, x, undefined, y, scratch, NO_ACTIVATION, { ctx, packs: [{ side: 'A', K: 0, count: 0, kernels: { packedA: () => {} }, panels: 0, bias: 0, kc: 1, block: 1 }], source: w }, im2colKernel),
  };
  const times = Object.fromEntries(Object.keys(runs).map((key) => [key, []]));
  for (const f of Object.values(runs)) f?.();
  for (let r = 0; r < rounds; r++) for (const [key, f] of Object.entries(runs)) if (f) times[key].push(cpuMs(f));
  const cell = (key) => (times[key].length ? median(times[key]).toFixed(2) : '-');
  console.log(`| ${C}->${M} ${k}x${k}/${s} ${H}x${H} | ${flop.toFixed(3)} | ${Object.keys(runs).map(cell).join(' | ')} |`);
  offs.forEach((o) => ctx.free(o));
}
