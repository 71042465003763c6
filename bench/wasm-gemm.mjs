// WebAssembly SIMD GEMM benchmark: median GFLOP/s of every generated tile (and the JS packed GEMM for comparison)
// on the shapes that matter, single thread.
// Run: npm run build && node bench/wasm-gemm.mjs [--quick] [--tiles 4x8,6x8]
// With relaxed SIMD on Node 20: node --experimental-wasm-relaxed-simd bench/wasm-gemm.mjs
import { WasmContext, WASM_GEMM_TILES } from '../dist/wasm/context.js';
import { uploadPackedWeights, freePackedWeights, wasmGemmPackedA, wasmGemmPackedB } from '../dist/wasm/gemm.js';
import { gemmPackedA, gemmPackedB, packA, packB, packedGemmScratchLength } from '../dist/kernels/gemm/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const tilesArg = args.includes('--tiles') ? args[args.indexOf('--tiles') + 1].split(',') : WASM_GEMM_TILES;
const ROUNDS = quick ? 3 : 7;

/** [name, M, N, K, weights side]: 'A' = conv-like (weights on the left), 'B' = Gemm-like. */
const SHAPES = [
  ['512^3', 512, 512, 512, 'B'],
  ['1024x1024x256', 1024, 1024, 256, 'B'],
  ['conv M64 N3136 K576', 64, 3136, 576, 'A'],
  ['conv M256 N196 K2304', 256, 196, 2304, 'A'],
];

const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const random = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

/**
 * Median GFLOP/s of each candidate: after a warm-up that lets the engine tier up, ROUNDS rounds each time every
 * candidate once (batches of ~0.2 GFLOP), interleaved so that load on a shared machine hits all alike.
 */
function measureAll(flops, candidates) {
  const inner = Math.max(1, Math.round(2e8 / flops));
  for (const fn of Object.values(candidates)) for (let i = 0; i < inner * 2; i++) fn();
  const rates = Object.fromEntries(Object.keys(candidates).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, fn] of Object.entries(candidates)) {
      const t0 = performance.now();
      for (let i = 0; i < inner; i++) fn();
      rates[k].push((flops * inner) / ((performance.now() - t0) / 1000) / 1e9);
    }
  }
  return Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, median(v)]));
}


const t0 = performance.now();
const ctx = WasmContext.create({ tiles: tilesArg, bothVariants: true });
if (ctx === undefined) {
  console.log('WebAssembly SIMD is unavailable in this engine');
  process.exit(1);
}
console.log(`generate + compile + instantiate ${Object.keys(ctx.kernels.gemmTiles).length} tile variants: ${ctx.compileMs.toFixed(1)} ms (create total ${(performance.now() - t0).toFixed(1)} ms); relaxed SIMD: ${ctx.relaxedSimd}`);
const single = WasmContext.create();
console.log(`default context (one tile): ${single.compileMs.toFixed(1)} ms`);

const rows = [];
for (const [name, M, N, K, side] of SHAPES) {
  const A = random(M * K);
  const B = random(K * N);
  const flops = 2 * M * N * K;
  const candidates = {};
  const act = { kind: 'none' };
  // JS packed GEMM (its default tile) for reference.
  const C = new Float32Array(M * N);
  if (side === 'B') {
    const pb = packB(B, 0, N, false, K, N);
    const s = new Float32Array(packedGemmScratchLength(pb, M));
    candidates['JS packed'] = () => gemmPackedB(M, A, 0, K, false, pb, C, 0, N, act, s);
  } else {
    const pa = packA(A, 0, K, false, M, K);
    const s = new Float32Array(packedGemmScratchLength(pa, N));
    candidates['JS packed'] = () => gemmPackedA(pa, N, B, 0, N, false, C, 0, N, act, s);
  }
  const other = side === 'B' ? A : B;
  const oAt = ctx.allocFloats(other);
  const cAt = ctx.alloc(M * N * 4);
  const uploaded = [];
  for (const [key, kernels] of Object.entries(ctx.kernels.gemmTiles)) {
    const packed = side === 'B' ? packB(B, 0, N, false, K, N) : packA(A, 0, K, false, M, K);
    uploaded.push(uploadPackedWeights(ctx, packed, kernels));
  }
  // Views are made after the last alloc: growing the memory detaches older ones.
  const oView = ctx.f32(oAt, other.length);
  const cView = ctx.f32(cAt, M * N);
  for (const w of uploaded) {
    candidates[w.kernels.name] = side === 'B'
      ? () => wasmGemmPackedB(ctx, M, oView, 0, K, false, w, cView, 0, N, act)
      : () => wasmGemmPackedA(ctx, w, N, oView, 0, N, false, cView, 0, N, act);
  }
  const row = { shape: name, ...measureAll(flops, candidates) };
  for (const w of uploaded) freePackedWeights(ctx, w);
  ctx.free(oAt);
  ctx.free(cAt);
  rows.push(row);
  console.log(name, Object.entries(row).slice(1).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(' | '));
}

const keys = Object.keys(rows[0]).slice(1);
console.log(`\n| kernel | ${rows.map((r) => r.shape).join(' | ')} | geomean |`);
console.log(`|---|${rows.map(() => '---:').join('|')}|---:|`);
const scored = keys.map((k) => [k, Math.exp(rows.reduce((s, r) => s + Math.log(r[k]), 0) / rows.length)]);
for (const [k, g] of scored) console.log(`| ${k} | ${rows.map((r) => r[k].toFixed(1)).join(' | ')} | ${g.toFixed(1)} |`);
const best = scored.filter(([k]) => k !== 'JS packed').sort((x, y) => y[1] - x[1])[0];
console.log(`\nwinner (geomean GFLOP/s): ${best[0]} ${best[1].toFixed(1)}`);
