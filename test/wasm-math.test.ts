/**
 * The 'math' wasm family (exp, sigmoid, tanh, SiLU, erf, GELU, softmax rows, LayerNorm rows) against float64
 * references built on Math.* (erf and GELU: the float64 ones of src/kernels/elementwise/math.ts, relative error < 1e-11),
 * over lengths that exercise the vector body and the splat tail, with special values.
 */
import { describe, expect, it } from 'vitest';
import { WasmContext } from '../src/wasm/context.js';
import {
  MATH_KERNELS, UNARY_MATH_OPS, wasmLayerNormRows, wasmSoftmaxRows, wasmUnaryMath, type UnaryMathOp,
} from '../src/wasm/math-kernels.js';
import { erf, gelu } from '../src/kernels/elementwise/math.js';

const ctx = WasmContext.create();
const kernels = ctx?.use(MATH_KERNELS);
if (kernels === undefined) console.warn('wasm-math: WebAssembly SIMD is unavailable in this engine; tests skipped');

const LENGTHS = [1, 3, 4, 5, 197];

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const REFERENCE: Record<UnaryMathOp, (x: number) => number> = {
  exp: Math.exp,
  sigmoid,
  tanh: Math.tanh,
  silu: (x) => x * sigmoid(x),
  erf,
  gelu,
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
};

/** |got − want| ≤ atol + rtol·|want| per op, over the finite range each is tested on. */
const TOLERANCE: Record<UnaryMathOp, { rtol: number; atol: number }> = {
  exp: { rtol: 1e-6, atol: 0 },
  sigmoid: { rtol: 1e-6, atol: 0 },
  tanh: { rtol: 1e-6, atol: 0 },
  silu: { rtol: 1e-6, atol: 1e-30 },
  erf: { rtol: 1e-6, atol: 1e-7 },
  gelu: { rtol: 1e-6, atol: 1e-7 },
  gelu_tanh: { rtol: 1e-6, atol: 1e-7 },
};

/** Deterministic values spread over [-span, span], including tiny magnitudes. */
function spread(n: number, span: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 4294967296;
    a[i] = i % 7 === 3 ? (u - 0.5) * 1e-3 : (u * 2 - 1) * span;
  }
  return a;
}

/** Copies `data` into wasm memory at an odd element offset (views need not be 16-byte aligned). */
function toWasm(w: WasmContext, data: Float32Array): Float32Array {
  const at = w.alloc((data.length + 1) * 4);
  const v = w.f32(at + 4, data.length);
  v.set(data);
  return v;
}

function runUnary(op: UnaryMathOp, data: Float32Array): Float32Array {
  const w = ctx!;
  const x = toWasm(w, data);
  const y = toWasm(w, new Float32Array(data.length));
  expect(wasmUnaryMath(w, kernels!, op, x, y)).toBe(true);
  const out = y.slice();
  w.free(x.byteOffset - 4);
  w.free(y.byteOffset - 4);
  return out;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const e = want[i]!;
    if (Number.isNaN(e)) expect(g, `${what} [${i}]`).toBeNaN();
    else if (!Number.isFinite(e)) expect(g, `${what} [${i}]`).toBe(e);
    else expect(Math.abs(g - e), `${what} [${i}] got ${g} want ${e}`).toBeLessThanOrEqual(atol + rtol * Math.abs(e));
  }
}

describe.skipIf(kernels === undefined)('wasm math kernels', () => {
  const SPAN: Record<UnaryMathOp, number> = { exp: 87, sigmoid: 30, tanh: 12, silu: 30, erf: 6, gelu: 12, gelu_tanh: 12 };

  for (const op of UNARY_MATH_OPS) {
    it(`${op} matches the float64 reference on odd lengths (rtol ${TOLERANCE[op].rtol}, atol ${TOLERANCE[op].atol})`, () => {
      for (const n of LENGTHS) {
        const x = spread(n, SPAN[op], n * 31 + 7);
        const want = Array.from(x, REFERENCE[op]);
        expectClose(runUnary(op, x), want, TOLERANCE[op].rtol, TOLERANCE[op].atol, `${op} n=${n}`);
      }
    });
  }

  it('exp keeps its relative accuracy over [-87, 88] on a dense grid', () => {
    const x = new Float32Array(20001).map((_, i) => -87 + (175 * i) / 20000);
    const got = runUnary('exp', x);
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(got[i]! - Math.exp(x[i]!)) / Math.exp(x[i]!));
    expect(worst).toBeLessThanOrEqual(1e-6);
  });

  it('erf and GELU keep |error| <= 1e-6 on a dense grid over [-10, 10]', () => {
    const x = new Float32Array(20001).map((_, i) => -10 + i / 1000);
    const erfs = runUnary('erf', x);
    const gelus = runUnary('gelu', x);
    for (let i = 0; i < x.length; i++) {
      expect(Math.abs(erfs[i]! - erf(x[i]!))).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(gelus[i]! - REFERENCE.gelu(x[i]!))).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(x[i]!)));
    }
  });

  it('exp saturates: 0 below ln(2^-126), +Infinity above ln(FLT_MAX); NaN passes through', () => {
    const x = Float32Array.of(-Infinity, -1000, -88, -87.4, 0, -0, 88.7, 89, 1000, Infinity, NaN);
    const got = runUnary('exp', x);
    expect(Array.from(got.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(got[4]).toBe(1);
    expect(got[5]).toBe(1);
    expect(Math.abs(got[6]! - Math.exp(x[6]!)) / Math.exp(x[6]!)).toBeLessThan(1e-6);
    expect(Array.from(got.subarray(7, 10))).toEqual([Infinity, Infinity, Infinity]);
    expect(got[10]).toBeNaN();
  });

  it('the activations give their limits at ±Infinity, exact values at 0, and NaN for NaN', () => {
    const x = Float32Array.of(-Infinity, Infinity, 0, NaN, -200, 200);
    expect(Array.from(runUnary('sigmoid', x))).toEqual([0, 1, 0.5, NaN, 0, 1]);
    expect(Array.from(runUnary('tanh', x))).toEqual([-1, 1, 0, NaN, -1, 1]);
    expect(Array.from(runUnary('erf', x))).toEqual([-1, 1, 0, NaN, -1, 1]);
    const g = runUnary('gelu', x);
    expect([g[1], g[2], g[4], g[5]]).toEqual([Infinity, 0, -0, 200]);
    expect(g[3]).toBeNaN();
  });

  it('the GELU tail keeps its relative precision for negative x (no 1 + erf cancellation)', () => {
    const x = Float32Array.of(-5, -6, -7, -8);
    const got = runUnary('gelu', x);
    for (let i = 0; i < x.length; i++) {
      const want = REFERENCE.gelu(x[i]!);
      expect(Math.abs(got[i]! - want) / Math.abs(want)).toBeLessThan(1e-4);
    }
  });

  /** float64 softmax of scale·x over rows of n. */
  function softmaxReference(x: Float32Array, rows: number, n: number, scale: number): Float64Array {
    const y = new Float64Array(rows * n);
    for (let r = 0; r < rows; r++) {
      let m = -Infinity;
      for (let i = 0; i < n; i++) m = Math.max(m, Math.fround(scale * x[r * n + i]!));
      let s = 0;
      for (let i = 0; i < n; i++) s += (y[r * n + i] = Math.exp(Math.fround(scale * x[r * n + i]!) - m));
      for (let i = 0; i < n; i++) y[r * n + i]! /= s;
    }
    return y;
  }

  it('softmax rows match float64 softmax(scale·x) (rtol 1e-5, atol 1e-7), in place too', () => {
    const w = ctx!;
    for (const n of LENGTHS) {
      for (const scale of [1, 0.17677669, -2]) {
        const rows = 3;
        const data = spread(rows * n, 20, n + 3);
        const x = toWasm(w, data);
        const y = toWasm(w, new Float32Array(rows * n));
        expect(wasmSoftmaxRows(w, kernels!, x, y, rows, n, scale)).toBe(true);
        const want = softmaxReference(data, rows, n, scale);
        expectClose(y, want, 1e-5, 1e-7, `softmax n=${n} scale=${scale}`);
        expect(wasmSoftmaxRows(w, kernels!, x, x, rows, n, scale)).toBe(true);
        expectClose(x, want, 1e-5, 1e-7, `in-place softmax n=${n}`);
        w.free(x.byteOffset - 4);
        w.free(y.byteOffset - 4);
      }
    }
  });

  it('softmax of a row with -Infinity entries gives them 0, and large inputs do not overflow', () => {
    const w = ctx!;
    const x = toWasm(w, Float32Array.of(-Infinity, 1000, 999, -Infinity, 1000));
    const y = toWasm(w, new Float32Array(5));
    wasmSoftmaxRows(w, kernels!, x, y, 1, 5, 1);
    const e = Math.exp(-1);
    expectClose(y, [0, 1 / (2 + e), e / (2 + e), 0, 1 / (2 + e)], 1e-6, 0, 'softmax');
  });

  it('LayerNorm rows match float64 (x − mean)/sqrt(var + eps)·gamma + beta (rtol 1e-5, atol 1e-5)', () => {
    const w = ctx!;
    for (const n of LENGTHS) {
      const rows = 3;
      const data = spread(rows * n, 4, n * 5 + 1).map((v, i) => v + (i % 3));
      const gammaData = spread(n, 2, 11);
      const betaData = spread(n, 1, 13);
      const [x, y, gamma, beta] = [data, new Float32Array(rows * n), gammaData, betaData].map((d) => toWasm(w, d)) as [Float32Array, Float32Array, Float32Array, Float32Array];
      expect(wasmLayerNormRows(w, kernels!, x, y, rows, n, gamma.byteOffset, beta.byteOffset, 1e-5)).toBe(true);
      const want = new Float64Array(rows * n);
      for (let r = 0; r < rows; r++) {
        let mean = 0;
        for (let i = 0; i < n; i++) mean += data[r * n + i]! / n;
        let v = 0;
        for (let i = 0; i < n; i++) v += (data[r * n + i]! - mean) ** 2 / n;
        for (let i = 0; i < n; i++) want[r * n + i] = ((data[r * n + i]! - mean) / Math.sqrt(v + 1e-5)) * gammaData[i]! + betaData[i]!;
      }
      expectClose(y, want, 1e-5, 1e-5, `layernorm n=${n}`);
      for (const v of [x, y, gamma, beta]) w.free(v.byteOffset - 4);
    }
  });

  it('copyRows gathers strided rows and transposePlane transposes planes of every size mod 4, exactly', () => {
    const w = ctx!;
    for (const rows of [1, 3, 4, 5, 13]) {
      for (const cols of [1, 3, 4, 7, 32]) {
        const stride = cols + 3;
        const data = spread(rows * stride + cols * (rows + 2), 9, rows * 100 + cols);
        const src = toWasm(w, data);
        const dst = toWasm(w, new Float32Array(rows * cols + 1).fill(-7));
        kernels!.copyRows(src.byteOffset, stride, dst.byteOffset, rows, cols);
        const copied = Array.from({ length: rows * cols }, (_, t) => data[Math.floor(t / cols) * stride + (t % cols)]!);
        expect(Array.from(dst.subarray(0, rows * cols)), `copyRows ${rows}x${cols}`).toEqual(copied);
        // transposePlane reads src[i + j·srcStride] with srcStride >= rows
        const tStride = rows + 2;
        kernels!.transposePlane(src.byteOffset, tStride, dst.byteOffset, rows, cols);
        const transposed = Array.from({ length: rows * cols }, (_, t) => data[Math.floor(t / cols) + (t % cols) * tStride]!);
        expect(Array.from(dst.subarray(0, rows * cols)), `transposePlane ${rows}x${cols}`).toEqual(transposed);
        expect(dst[rows * cols], 'nothing written past the plane').toBe(-7);
        w.free(src.byteOffset - 4);
        w.free(dst.byteOffset - 4);
      }
    }
  });

  it('the faces refuse views outside wasm memory', () => {
    const plain = new Float32Array(8);
    expect(wasmUnaryMath(ctx!, kernels!, 'gelu', plain, plain)).toBe(false);
    expect(wasmSoftmaxRows(ctx!, kernels!, plain, plain, 2, 4, 1)).toBe(false);
  });
});
