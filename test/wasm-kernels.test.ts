/**
 * One generic tester for every generated WebAssembly GEMM kernel: every tile, the plain-SIMD and (where the
 * engine validates it) relaxed-SIMD variant, every fused epilogue, both drivers (weights on the right: Gemm;
 * weights on the left: convolution), with and without bias and accumulation, over odd shapes, each compared
 * with a naive float64 triple loop followed by the JS reference epilogue (applyActivation).
 */
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { applyActivation, packA, packB, type Activation } from '../src/kernels/gemm/index.js';
import { WASM_GEMM_TILES, WasmContext } from '../src/wasm/context.js';
import { wasmGemmPackedA, wasmGemmPackedB, uploadPackedWeights, freePackedWeights } from '../src/wasm/gemm.js';
import { FLAG_ACCUMULATE, FLAG_FINAL, WASM_ACT } from '../src/wasm/gemm-kernels.js';
import { hasRelaxedSimd } from '../src/wasm/emitter.js';

// Node 20 (V8 11.3) has relaxed SIMD behind a flag (on by default from V8 11.4): turn it on so the relaxed
// variants are tested too. It only adds a feature; engines that validate it already are left alone.
if (!hasRelaxedSimd()) setFlagsFromString('--experimental-wasm-relaxed-simd');

const SIZES = [1, 3, 5, 7, 13, 17, 31, 64, 100];
const ACTIVATIONS: Activation[] = [
  { kind: 'none' },
  { kind: 'relu' },
  { kind: 'clip', min: -0.5, max: 0.75 },
  { kind: 'leakyrelu', alpha: 0.1 },
  { kind: 'hardswish' },
  { kind: 'sigmoid' },
];
/** K blocks: the default, and small ones so several K blocks (and the accumulate path between them) run. */
const KC = [256, 16, 7];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2147483648 - 1;
  };
}

function fill(a: Float32Array, rand: () => number): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = rand();
  return a;
}

const probe = WasmContext.create({ tiles: ['4x8'], bothVariants: true });
const ctx = probe === undefined ? undefined : WasmContext.create({ tiles: WASM_GEMM_TILES, bothVariants: true });
const kernelNames = ctx === undefined ? [] : Object.keys(ctx.kernels.gemmTiles);
if (ctx === undefined) console.warn('wasm-kernels: WebAssembly SIMD is unavailable in this engine; wasm kernel tests skipped');
else if (!ctx.relaxedSimd) console.warn('wasm-kernels: relaxed SIMD does not validate here; only __wasmsimd variants are tested');

interface Case {
  M: number; N: number; K: number; act: Activation; bias: boolean; accumulate: boolean; kc: number;
  transA: boolean; transB: boolean;
}

/** Every M×N pair of SIZES, with K, the epilogue, bias, accumulation, transposition and K block rotating. */
function cases(): Case[] {
  const out: Case[] = [];
  let n = 0;
  for (const M of SIZES) {
    for (const N of SIZES) {
      out.push({
        M, N, K: SIZES[(n * 4 + 1) % SIZES.length]!, act: ACTIVATIONS[n % ACTIVATIONS.length]!, bias: n % 2 === 0,
        accumulate: n % 3 === 1, kc: KC[n % KC.length]!, transA: n % 5 === 2, transB: n % 7 === 3,
      });
      n++;
    }
  }
  return out;
}

/** ref = act(C0 (if accumulating) + op(A)·op(B) + bias), and the per-element error scale Σ|a·b| + |C0| + |bias|. */
function reference(
  c: Case, A: Float32Array, lda: number, B: Float32Array, ldb: number, bias: Float32Array, biasPerRow: boolean,
  C0: Float32Array,
): { ref: Float32Array; scale: Float64Array } {
  const { M, N, K } = c;
  const ref = new Float32Array(M * N);
  const scale = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      let m = 0;
      for (let k = 0; k < K; k++) {
        const a = c.transA ? A[k * lda + i]! : A[i * lda + k]!;
        const b = c.transB ? B[j * ldb + k]! : B[k * ldb + j]!;
        s += a * b;
        m += Math.abs(a * b);
      }
      if (c.accumulate) { s += C0[i * N + j]!; m += Math.abs(C0[i * N + j]!); }
      if (c.bias) { const v = biasPerRow ? bias[i]! : bias[j]!; s += v; m += Math.abs(v); }
      ref[i * N + j] = s;
      scale[i * N + j] = m;
    }
  }
  applyActivation(c.act, ref, 0, M * N);
  // sigmoid / SiLU / tanh run on the math family's f32x4 exp (≤ 2e-7 relative to their output): their error
  // scales with the output, not only with the products that fed it.
  if (c.act.kind === 'sigmoid' || c.act.kind === 'silu' || c.act.kind === 'tanh') {
    for (let i = 0; i < M * N; i++) scale[i] = scale[i]! + Math.abs(ref[i]!);
  }
  return { ref, scale };
}

function expectClose(got: Float32Array, ref: Float32Array, scale: Float64Array, rtol: number, what: string): void {
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i]! - ref[i]!);
    if (!(err <= rtol * (scale[i]! + 1e-3)) && !(Number.isNaN(got[i]) && Number.isNaN(ref[i]))) {
      expect.fail(`${what}: element ${i}: got ${got[i]}, want ${ref[i]} (error ${err}, scale ${scale[i]})`);
    }
  }
}

function runCase(name: string, c: Case, side: 'A' | 'B', seed: number): void {
  const w = ctx!;
  const kernels = w.kernels.gemmTiles[name]!;
  const rtol = kernels.variant === 'wasmrelaxedsimd' ? 1e-4 : 1e-5;
  const rand = rng(seed);
  const { M, N, K } = c;
  const lda = (c.transA ? M : K) + 1;
  const ldb = (c.transB ? K : N) + 2;
  const ldc = N + 3;
  const A = fill(new Float32Array((c.transA ? K : M) * lda), rand);
  const B = fill(new Float32Array((c.transB ? N : K) * ldb), rand);
  const bias = fill(new Float32Array(side === 'B' ? N : M), rand);
  const C0 = fill(new Float32Array(M * N), rand);
  const biasSource = c.bias ? { data: bias } : undefined;
  const packed = side === 'B'
    ? packB(B, 0, ldb, c.transB, K, N, 1, biasSource, { kc: c.kc })
    : packA(A, 0, lda, c.transA, M, K, 1, biasSource, { kc: c.kc });
  const uploaded = uploadPackedWeights(w, packed, kernels);
  // The per-call operand and C live in wasm memory, C with a padded row stride and a leading offset.
  const other = side === 'B' ? A : B;
  const otherAt = w.alloc(other.length * 4 + 12);
  const cAt = w.alloc((M * ldc + 5) * 4);
  w.f32(otherAt + 12, other.length).set(other);
  const cView = w.f32(cAt, M * ldc + 5);
  cView.fill(Number.NaN);
  for (let i = 0; i < M; i++) cView.set(C0.subarray(i * N, (i + 1) * N), 5 + i * ldc);
  const otherView = w.f32(otherAt, other.length + 3);
  const ran = side === 'B'
    ? wasmGemmPackedB(w, M, otherView, 3, lda, c.transA, uploaded, cView, 5, ldc, c.act, c.accumulate)
    : wasmGemmPackedA(w, uploaded, N, otherView, 3, ldb, c.transB, cView, 5, ldc, c.act, c.accumulate);
  expect(ran).toBe(true);
  const got = new Float32Array(M * N);
  for (let i = 0; i < M; i++) got.set(cView.subarray(5 + i * ldc, 5 + i * ldc + N), i * N);
  const what = `${name} side ${side} M${M} N${N} K${K} ${c.act.kind} bias=${c.bias} acc=${c.accumulate} kc=${c.kc} tA=${c.transA} tB=${c.transB}`;
  const { ref, scale } = reference(c, A, lda, B, ldb, bias, side === 'A', C0);
  expectClose(got, ref, scale, rtol, what);
  // Nothing outside the M×N window was written (padding columns and the leading offset keep their NaN).
  for (let i = 0; i < 5; i++) expect(cView[i], `${what}: wrote before C`).toBeNaN();
  for (let i = 0; i < M; i++) for (let j = N; j < ldc && 5 + i * ldc + j < cView.length; j++) {
    expect(cView[5 + i * ldc + j], `${what}: wrote past row ${i}`).toBeNaN();
  }
  freePackedWeights(w, uploaded);
  w.free(otherAt);
  w.free(cAt);
}

describe.skipIf(ctx === undefined)('wasm f32 GEMM kernels against the naive reference', () => {
  for (const name of kernelNames) {
    it(`${name}: weights on the right (Gemm), every M×N of odd sizes`, () => {
      cases().forEach((c, i) => runCase(name, c, 'B', 1000 + i));
    });
    it(`${name}: weights on the left (convolution), every M×N of odd sizes`, () => {
      cases().forEach((c, i) => runCase(name, c, 'A', 5000 + i));
    });
  }

  it('a K = 0 product writes act(bias), or act(C + bias) when accumulating', () => {
    const w = ctx!;
    const bias = new Float32Array([1, -2, 3]);
    const packed = packB(new Float32Array(0), 0, 3, false, 0, 3, 1, { data: bias });
    const up = uploadPackedWeights(w, packed);
    const cAt = w.alloc(6 * 4);
    const A = w.f32(cAt, 0);
    let C = w.f32(cAt, 6);
    C.set([10, 10, 10, 10, 10, 10]);
    expect(wasmGemmPackedB(w, 2, A, 0, 0, false, up, C, 0, 3, { kind: 'relu' })).toBe(true);
    C = w.f32(cAt, 6);
    expect(Array.from(C)).toEqual([1, 0, 3, 1, 0, 3]);
    expect(wasmGemmPackedB(w, 2, A, 0, 0, false, up, C, 0, 3, { kind: 'none' }, true)).toBe(true);
    expect(Array.from(w.f32(cAt, 6))).toEqual([2, -2, 6, 2, -2, 6]);
    freePackedWeights(w, up);
    w.free(cAt);
  });

  it('returns false (so the caller runs the JS GEMM) when a view is not in wasm memory', () => {
    const w = ctx!;
    const up = uploadPackedWeights(w, packB(new Float32Array([1, 2, 3, 4]), 0, 2, false, 2, 2));
    const C = new Float32Array(4);
    expect(wasmGemmPackedB(w, 2, new Float32Array(4), 0, 2, false, up, C, 0, 2, { kind: 'none' })).toBe(false);
    expect(Array.from(C)).toEqual([0, 0, 0, 0]);
    freePackedWeights(w, up);
  });

  it('the micro-kernel alone computes one full tile with bias, accumulation and clamp', () => {
    const w = ctx!;
    for (const name of kernelNames) {
      const k = w.kernels.gemmTiles[name]!;
      const { mr, nr } = k;
      const kc = 3;
      const a = new Float32Array(kc * mr).map((_, i) => (i % 5) - 2);
      const b = new Float32Array(kc * nr).map((_, i) => (i % 7) - 3);
      const colBias = new Float32Array(nr).map((_, j) => j / 4);
      const aAt = w.allocFloats(a), bAt = w.allocFloats(b), biasAt = w.allocFloats(colBias);
      const cAt = w.allocFloats(new Float32Array(mr * nr).fill(1));
      k.micro(kc, aAt, bAt, cAt, nr * 4, mr, nr, FLAG_ACCUMULATE | FLAG_FINAL, 0, biasAt, WASM_ACT.minmax, -4, 4, w.tileBuffer);
      const got = w.f32(cAt, mr * nr);
      for (let r = 0; r < mr; r++) {
        for (let j = 0; j < nr; j++) {
          let s = 1 + colBias[j]!;
          for (let q = 0; q < kc; q++) s += a[q * mr + r]! * b[q * nr + j]!;
          expect(got[r * nr + j], `${name} (${r}, ${j})`).toBeCloseTo(Math.min(4, Math.max(-4, s)), 5);
        }
      }
      for (const at of [aAt, bAt, biasAt, cAt]) w.free(at);
    }
  });
});
