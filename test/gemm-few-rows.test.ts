import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { WasmContext } from '../src/wasm/context.js';
import { expectClose, randomTensor, tensor } from './harness.js';
import { runKernelInWasm } from './wasm-harness.js';

// Gemm / MatMul / tinfer.MatMulAdd with one or two rows of A run a 1×8 / 2×8 wasm tile over the default tile's
// packed weights: checked against a naive float64 product at rtol 1e-4 over odd N and K (panel edges), with
// bias and a fused activation, and shown to have run the few-row module (its exports are called).

const wasmCtx = WasmContext.create();
if (wasmCtx === undefined) console.warn('WebAssembly SIMD is not available in this engine: few-row GEMM cases skipped');

/** y[m, n] = act(Σ_k a[m, k]·w[n, k] + bias[n]) with w given [N, K] (transB). */
function naive(a: TensorData, w: TensorData, bias: TensorData | undefined, relu: boolean): TensorData {
  const [M, K] = a.shape as [number, number];
  const N = w.shape[0]!;
  const out: number[] = [];
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = bias ? Number(bias.data[n]) : 0;
      for (let k = 0; k < K; k++) s += Number(a.data[m * K + k]) * Number(w.data[n * K + k]);
      out.push(relu ? Math.max(0, s) : s);
    }
  }
  return tensor('float32', [M, N], out);
}

function transpose(w: TensorData): TensorData {
  const [N, K] = w.shape as [number, number];
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[k * N + n] = Number(w.data[n * K + k]);
  return { dtype: 'float32', shape: [K, N], data: out };
}

/** Counts calls of the few-row drivers of a fresh context (use() caches the module per key). */
function countingContext(): { ctx: WasmContext; calls: () => number } {
  const ctx = WasmContext.create()!;
  let calls = 0;
  const realUse = ctx.use.bind(ctx);
  ctx.use = ((spec) => {
    const k = realUse(spec) as { packedB?: (...a: number[]) => void } | undefined;
    if (!spec.key.startsWith('f32_gemm_') || k?.packedB === undefined) return k;
    const inner = k.packedB;
    return { ...k, packedB: (...a: number[]) => { calls++; inner(...a); } };
  }) as WasmContext['use'];
  return { ctx, calls: () => calls };
}

describe.skipIf(wasmCtx === undefined)('few-row GEMM on wasm SIMD', () => {
  for (const [M, N, K] of [[1, 1000, 1280], [1, 13, 7], [2, 17, 33], [1, 9, 1]]) {
    it(`Gemm transB, bias, M=${M} N=${N} K=${K}`, () => {
      const a = randomTensor([M, K], M * 7 + N);
      const w = randomTensor([N, K], K + 1, -0.3, 0.3);
      const bias = randomTensor([N], 5);
      const { ctx, calls } = countingContext();
      const got = runKernelInWasm(ctx, 'Gemm', [a, w, bias], { transB: 1 }, { constant: [1, 2] })[0]!;
      expectClose(got, naive(a, w, bias, false), 1e-4, 1e-5);
      expect(calls()).toBe(1);
    });
  }

  it('MatMul with one row and tinfer.MatMulAdd with two rows and a fused Relu', () => {
    const w = randomTensor([11, 19], 3);
    const a1 = randomTensor([1, 19], 4);
    const { ctx, calls } = countingContext();
    expectClose(runKernelInWasm(ctx, 'MatMul', [a1, transpose(w)], {}, { constant: [1] })[0]!, naive(a1, w, undefined, false), 1e-4, 1e-5);
    const a2 = randomTensor([2, 19], 6);
    const bias = randomTensor([11], 7);
    const fused = runKernelInWasm(ctx, 'MatMulAdd', [a2, transpose(w), bias], { 'tinfer.activation': 'relu' }, { constant: [1, 2], domain: 'tinfer' })[0]!;
    expectClose(fused, naive(a2, w, bias, true), 1e-4, 1e-5);
    expect(calls()).toBe(2);
  });
});
