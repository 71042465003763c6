/** The wasm 3×3 stride-1 depthwise interior against a naive loop, over odd plane sizes and paddings. */
import { describe, expect, it } from 'vitest';
import { WasmContext } from '../src/wasm/context.js';
import { wasmDepthwise3x3s1Interior } from '../src/wasm/depthwise.js';

const ctx = WasmContext.create();
if (ctx === undefined) console.warn('wasm-depthwise: WebAssembly SIMD is unavailable in this engine; tests skipped');

function values(n: number, seed: number): Float32Array {
  return new Float32Array(n).map((_, i) => Math.sin(seed * 3.1 + i * 0.37) * 2);
}

describe.skipIf(ctx === undefined)('f32_dwconv_3x3s1_interior__wasmsimd', () => {
  const w = ctx!;

  it('matches the naive sum on the interior and writes nothing else', () => {
    for (const [H, W, ph, pw] of [[3, 3, 0, 0], [5, 7, 1, 1], [8, 13, 1, 1], [9, 4, 0, 1], [16, 33, 1, 0], [3, 9, 0, 0], [2, 6, 1, 1]] as const) {
      const OH = H + 2 * ph - 2, OW = W + 2 * pw - 2;
      // Interior: outputs whose 3×3 window lies inside the input.
      const rowLo = ph, rowHi = OH - ph, colLo = pw, colHi = OW - pw;
      const weights = values(11, H * W);
      const bias = 0.375;
      const xAt = w.alloc((H * W + 3) * 4), yAt = w.alloc((OH * OW + 2) * 4);
      const x = w.f32(xAt, H * W + 3);
      x.set(values(H * W + 3, W));
      const y = w.f32(yAt, OH * OW + 2).fill(Number.NaN);
      expect(wasmDepthwise3x3s1Interior(w, x, 3, W, weights, 2, bias, y, 2, OW, rowLo, rowHi, colLo, colHi, ph, pw)).toBe(true);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          const got = y[2 + oh * OW + ow]!;
          if (oh < rowLo || oh >= rowHi || ow < colLo || ow >= colHi) {
            expect(got, `H${H} W${W}: border (${oh}, ${ow}) untouched`).toBeNaN();
            continue;
          }
          let s = bias, scale = Math.abs(bias);
          for (let kh = 0; kh < 3; kh++) {
            for (let kw = 0; kw < 3; kw++) {
              const t = weights[2 + kh * 3 + kw]! * x[3 + (oh - ph + kh) * W + ow - pw + kw]!;
              s += t;
              scale += Math.abs(t);
            }
          }
          expect(Math.abs(got - s), `H${H} W${W} (${oh}, ${ow}): ${got} vs ${s}`).toBeLessThanOrEqual(1e-6 * scale);
        }
      }
      expect(y[0]).toBeNaN();
      expect(y[1]).toBeNaN();
      w.free(xAt);
      w.free(yAt);
    }
  });

  it('returns false when the planes are not in wasm memory', () => {
    const y = new Float32Array(1);
    expect(wasmDepthwise3x3s1Interior(w, new Float32Array(9), 0, 3, new Float32Array(9), 0, 0, y, 0, 1, 0, 1, 0, 1, 0, 0)).toBe(false);
    expect(y[0]).toBe(0);
  });
});
