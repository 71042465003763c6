/** Elementwise wasm kernels against plain JS loops, over lengths that exercise the vector body and the tail. */
import { describe, expect, it } from 'vitest';
import { WasmContext } from '../src/wasm/context.js';
import { BINARY_OPS, type BinaryOp } from '../src/wasm/elementwise-kernels.js';
import { wasmBinary, wasmClamp, wasmLeakyRelu, wasmPerChannel } from '../src/wasm/elementwise.js';

const ctx = WasmContext.create();
if (ctx === undefined) console.warn('wasm-elementwise: WebAssembly SIMD is unavailable in this engine; tests skipped');

const LENGTHS = [0, 1, 3, 4, 5, 8, 13, 64, 101];
const apply: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y, sub: (x, y) => x - y, mul: (x, y) => x * y, div: (x, y) => x / y,
};

function values(n: number, seed: number): Float32Array {
  // Deterministic, includes negatives, zero, and a NaN when long enough.
  const a = new Float32Array(n).map((_, i) => Math.sin(seed * 7.3 + i * 1.7) * 4);
  if (n > 6) a[6] = 0;
  if (n > 11) a[11] = Number.NaN;
  return a;
}

/** A view of `data` copied into wasm memory at an odd element offset (views need not be 16-byte aligned). */
function inWasm(w: WasmContext, blocks: number[], data: Float32Array): () => Float32Array {
  const at = w.alloc((data.length + 1) * 4);
  blocks.push(at);
  w.f32(at + 4, data.length).set(data);
  return () => w.f32(at + 4, data.length);
}

function expectSame(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i])) expect(got[i], `${what} [${i}]`).toBeNaN();
    else expect(got[i], `${what} [${i}]`).toBe(want[i]);
  }
}

describe.skipIf(ctx === undefined)('wasm elementwise kernels', () => {
  const w = ctx!;

  for (const op of BINARY_OPS) {
    it(`f32_v${op}: equal shapes, exact f32 results`, () => {
      for (const n of LENGTHS) {
        const blocks: number[] = [];
        const a = values(n, 1), b = values(n, 2).map((v) => v + 0.5);
        const va = inWasm(w, blocks, a), vb = inWasm(w, blocks, b), vo = inWasm(w, blocks, new Float32Array(n));
        expect(wasmBinary(w, op, va(), vb(), vo())).toBe(true);
        expectSame(vo(), a.map((x, i) => apply[op](x, b[i]!)), `${op} n=${n}`);
        blocks.forEach((at) => w.free(at));
      }
    });

    for (const left of op === 'sub' || op === 'div' ? [false, true] : [false]) {
      it(`f32_v${left ? 'r' : ''}${op}c: per-channel operand${left ? ' on the left' : ''}`, () => {
        for (const [N, C, HW] of [[1, 1, 1], [1, 3, 5], [2, 3, 7], [2, 5, 16], [1, 2, 0], [3, 4, 33]] as const) {
          const blocks: number[] = [];
          const x = values(N * C * HW, 3), c = values(C, 4).map((v) => v + 0.25);
          const vx = inWasm(w, blocks, x), vc = inWasm(w, blocks, c), vo = inWasm(w, blocks, new Float32Array(x.length));
          expect(wasmPerChannel(w, op, vx(), vc(), vo(), N * C, HW, left)).toBe(true);
          const want = x.map((v, i) => {
            const ch = c[Math.floor(i / HW) % C]!;
            return left ? apply[op](ch, v) : apply[op](v, ch);
          });
          expectSame(vo(), want, `${op} N${N} C${C} HW${HW}`);
          blocks.forEach((at) => w.free(at));
        }
      });
    }
  }

  it('f32_vclamp: Relu, Relu6 and Clip, in place, NaN passes through', () => {
    for (const n of LENGTHS) {
      for (const [lo, hi] of [[0, Infinity], [0, 6], [-1.5, 0.5], [-Infinity, Infinity]] as const) {
        const blocks: number[] = [];
        const x = values(n, 5);
        const vx = inWasm(w, blocks, x);
        expect(wasmClamp(w, vx(), vx(), lo, hi)).toBe(true);
        expectSame(vx(), x.map((v) => (v < lo ? lo : v > hi ? hi : v)), `clamp [${lo}, ${hi}] n=${n}`);
        blocks.forEach((at) => w.free(at));
      }
    }
  });

  it('f32_vleakyrelu: x < 0 ? alpha·x : x', () => {
    for (const n of LENGTHS) {
      const blocks: number[] = [];
      const x = values(n, 6);
      const vx = inWasm(w, blocks, x), vo = inWasm(w, blocks, new Float32Array(n));
      expect(wasmLeakyRelu(w, vx(), vo(), 0.2)).toBe(true);
      expectSame(vo(), x.map((v) => (v < 0 ? Math.fround(Math.fround(0.2) * v) : v)), `leakyrelu n=${n}`);
      blocks.forEach((at) => w.free(at));
    }
  });

  it('returns false for views outside wasm memory and leaves them alone', () => {
    const out = new Float32Array(4);
    expect(wasmBinary(w, 'add', new Float32Array(4), new Float32Array(4), out)).toBe(false);
    expect(wasmClamp(w, new Float32Array([-1, 2, 3, 4]), out, 0, 1)).toBe(false);
    expect(Array.from(out)).toEqual([0, 0, 0, 0]);
  });
});
