/**
 * The f32x4 gate functions of the recurrent wasm kernels (src/wasm/rnn-kernels.ts) against Math.tanh and
 * 1 / (1 + Math.exp(−x)) in double precision: relative error over [−20, 20], saturation, tiny inputs, ±0, ±∞ and
 * NaN. The sequence kernels themselves are checked end to end against the ONNX reference in rnn.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { WasmContext } from '../src/wasm/context.js';
import { GATE_FUNCTIONS, type WasmVectorMap } from '../src/wasm/rnn-kernels.js';

const ctx = WasmContext.create();
const kernels = ctx?.use(GATE_FUNCTIONS);
if (kernels === undefined) console.warn('WebAssembly SIMD is not available in this engine: gate function tests skipped');

/** Runs a vector map over xs (padded to whole vectors) in wasm memory; returns the results. */
function mapInWasm(fn: WasmVectorMap, xs: readonly number[]): Float32Array {
  const n = Math.ceil(xs.length / 4) * 4;
  const c = ctx!;
  const at = c.alloc(Math.max(1, 2 * n) * 4);
  try {
    const x = c.f32(at, n);
    x.fill(0);
    x.set(xs);
    fn(at, at + 4 * n, n);
    return Float32Array.from(c.f32(at + 4 * n, xs.length));
  } finally {
    c.free(at);
  }
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Every float32 step of 2^-12 over [−20, 20]: 327,681 inputs. */
function grid(): number[] {
  const xs: number[] = [];
  for (let i = -20 * 4096; i <= 20 * 4096; i++) xs.push(i / 4096);
  return xs;
}

function maxRelativeError(got: Float32Array, xs: readonly number[], exact: (x: number) => number): number {
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    const e = exact(Math.fround(xs[i]!));
    const err = e === 0 ? Math.abs(got[i]!) : Math.abs(got[i]! - e) / Math.abs(e);
    worst = Math.max(worst, err);
  }
  return worst;
}

describe.skipIf(kernels === undefined)('recurrent gate functions (f32x4)', () => {
  it('sigmoid is within 1e-6 relative of 1 / (1 + e^−x) over [−20, 20]', () => {
    const xs = grid();
    const err = maxRelativeError(mapInWasm(kernels!.sigmoid, xs), xs, sigmoid);
    expect(err).toBeLessThan(1e-6);
  });

  it('tanh is within 1e-6 relative of Math.tanh over [−20, 20]', () => {
    const xs = grid();
    const err = maxRelativeError(mapInWasm(kernels!.tanh, xs), xs, Math.tanh);
    expect(err).toBeLessThan(1e-6);
  });

  it('tanh keeps its relative accuracy for tiny inputs and the sign of zero', () => {
    const xs = [1e-3, -1e-3, 1e-7, -1e-7, 1e-30, -1e-30, 1e-40, 0];
    const got = mapInWasm(kernels!.tanh, [...xs, -0]);
    for (let i = 0; i < xs.length; i++) {
      const e = Math.tanh(Math.fround(xs[i]!));
      expect(Math.abs(got[i]! - e)).toBeLessThanOrEqual(1e-6 * Math.abs(e));
    }
    expect(Object.is(got[xs.length - 1], 0)).toBe(true);
    expect(Object.is(got[xs.length], -0)).toBe(true);
  });

  it('saturates to exactly ±1 and 0..1 for large and infinite inputs', () => {
    const xs = [30, -30, 88, -88, 100, -100, 1e30, -1e30, Infinity, -Infinity];
    const t = mapInWasm(kernels!.tanh, xs);
    expect(Array.from(t)).toEqual(xs.map((x) => Math.sign(x)));
    const s = mapInWasm(kernels!.sigmoid, xs);
    for (let i = 0; i < xs.length; i++) {
      if (xs[i]! > 0) expect(s[i]).toBe(1);
      else expect(s[i]!).toBeLessThan(1e-13);
      // never a denormal (they run many times slower): 0 or at least the smallest normal float
      expect(s[i] === 0 || s[i]! >= 2 ** -126).toBe(true);
    }
  });

  it('sigmoid of large negative inputs stays relatively accurate down to e^−80', () => {
    const xs = [-30, -50, -70, -80];
    const got = mapInWasm(kernels!.sigmoid, xs);
    for (let i = 0; i < xs.length; i++) expect(Math.abs(got[i]! - sigmoid(xs[i]!)) / sigmoid(xs[i]!)).toBeLessThan(1e-5);
  });

  it('NaN passes through both', () => {
    expect(Number.isNaN(mapInWasm(kernels!.sigmoid, [NaN])[0])).toBe(true);
    expect(Number.isNaN(mapInWasm(kernels!.tanh, [NaN])[0])).toBe(true);
  });
});
