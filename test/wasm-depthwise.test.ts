/** The wasm depthwise interiors (3×3 and 5×5, stride 1 and 2) against a naive loop, over odd plane sizes and paddings. */
import { describe, expect, it } from 'vitest';
import { WasmContext } from '../src/wasm/context.js';
import { DEPTHWISE_LAYER_WASM, depthwiseLayerPaddedSize, wasmDepthwiseInterior, wasmDepthwiseLayer } from '../src/wasm/depthwise.js';

const ctx = WasmContext.create();
if (ctx === undefined) console.warn('wasm-depthwise: WebAssembly SIMD is unavailable in this engine; tests skipped');

function values(n: number, seed: number): Float32Array {
  return new Float32Array(n).map((_, i) => Math.sin(seed * 3.1 + i * 0.37) * 2);
}

/** [first, end) of outputs whose taps o·S − pad + [0, K) all lie in [0, size). */
function interior(out: number, size: number, S: number, pad: number, K: number): [number, number] {
  let lo = 0;
  while (lo < out && lo * S - pad < 0) lo++;
  let hi = lo;
  while (hi < out && hi * S - pad + K - 1 <= size - 1) hi++;
  return [lo, hi];
}

const PLANES = [[3, 3, 0, 0], [5, 7, 1, 1], [8, 13, 1, 1], [9, 4, 0, 1], [16, 33, 1, 0], [3, 9, 0, 0], [2, 6, 1, 1],
  [7, 21, 1, 1], [12, 40, 0, 0], [11, 19, 1, 0]] as const;

describe.skipIf(ctx === undefined)('f32_dwconv_{3x3,5x5}s{1,2}_interior__wasmsimd', () => {
  const w = ctx!;

  for (const [K, S] of [[3, 1], [3, 2], [5, 1], [5, 2]] as const) {
    it(`${K}x${K} stride ${S}: matches the naive sum on the interior and writes nothing else`, () => {
      for (const [H0, W0, ph0, pw0] of PLANES) {
        // 5×5 planes: two more rows/columns and twice the padding, so the same shapes keep an interior.
        const [H, W, ph, pw] = K === 3 ? [H0, W0, ph0, pw0] : [H0 + 2, W0 + 2, 2 * ph0, 2 * pw0];
        const OH = Math.floor((H + 2 * ph - K) / S) + 1, OW = Math.floor((W + 2 * pw - K) / S) + 1;
        if (OH <= 0 || OW <= 0) continue;
        const [rowLo, rowHi] = interior(OH, H, S, ph, K);
        const [colLo, colHi] = interior(OW, W, S, pw, K);
        const weights = values(K * K + 2, H * W);
        const bias = 0.375;
        // The input is the last thing in its block, so a read past the plane would show as garbage or a trap.
        const xAt = w.alloc((H * W + 3) * 4), yAt = w.alloc((OH * OW + 2) * 4);
        const x = w.f32(xAt, H * W + 3);
        x.set(values(H * W + 3, W));
        const y = w.f32(yAt, OH * OW + 2).fill(Number.NaN);
        expect(wasmDepthwiseInterior(w, K, S, x, 3, W, weights, 2, bias, y, 2, OW, rowLo, rowHi, colLo, colHi, ph, pw)).toBe(true);
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            const got = y[2 + oh * OW + ow]!;
            if (oh < rowLo || oh >= rowHi || ow < colLo || ow >= colHi) {
              expect(got, `K${K} S${S} H${H} W${W}: border (${oh}, ${ow}) untouched`).toBeNaN();
              continue;
            }
            let s = bias, scale = Math.abs(bias);
            for (let kh = 0; kh < K; kh++) {
              for (let kw = 0; kw < K; kw++) {
                const t = weights[2 + kh * K + kw]! * x[3 + (S * oh - ph + kh) * W + S * ow - pw + kw]!;
                s += t;
                scale += Math.abs(t);
              }
            }
            expect(Math.abs(got - s), `K${K} S${S} H${H} W${W} (${oh}, ${ow}): ${got} vs ${s}`).toBeLessThanOrEqual(1e-6 * scale);
          }
        }
        expect(y[0]).toBeNaN();
        expect(y[1]).toBeNaN();
        w.free(xAt);
        w.free(yAt);
      }
    });
  }

  it('stride 2 reads nothing past its rows: a plane at the very end of memory does not trap', () => {
    const H = 9, W = 17; // OW = 8: the second group of four would read x[W] of the last row
    const bytes = w.memory.buffer.byteLength;
    const at = bytes - H * W * 4;
    // Place the plane in the last bytes of memory (below them nothing else of this test is live).
    const x = w.f32(at, H * W);
    x.set(values(H * W, 1));
    const yAt = w.alloc(4 * 4 * 8);
    const y = w.f32(yAt, 4 * 8);
    const weights = values(9, 2);
    expect(() => wasmDepthwiseInterior(w, 3, 2, w.f32(at, H * W), 0, W, weights, 0, 0, y, 0, 8, 0, 4, 0, 8, 0, 0)).not.toThrow();
    let s = 0;
    for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) s += weights[kh * 3 + kw]! * x[(6 + kh) * W + 14 + kw]!;
    expect(y[3 * 8 + 7]).toBeCloseTo(s, 5);
    w.free(yAt);
  });

  it('returns false when the planes are not in wasm memory', () => {
    const y = new Float32Array(1);
    expect(wasmDepthwiseInterior(w, 3, 1, new Float32Array(9), 0, 3, new Float32Array(9), 0, 0, y, 0, 1, 0, 1, 0, 1, 0, 0)).toBe(false);
    expect(y[0]).toBe(0);
  });
});

describe.skipIf(ctx === undefined)('f32_dwconv_3x3s{1,2}_layer_minmax__wasmsimd (wasmDepthwiseLayer)', () => {
  const w = ctx!;
  const k = w.use(DEPTHWISE_LAYER_WASM);

  /** y[m][oh][ow] = clamp(b[m] + Σ w[9m + 3kh + kw] · x[m / mult][S·oh − ph + kh][S·ow − pw + kw], lo, hi), zero outside. */
  function naive(
    x: Float32Array, C: number, H: number, W: number, wt: Float32Array, b: Float32Array, M: number, S: number,
    ph: number, pw: number, OH: number, OW: number, lo: number, hi: number,
  ): Float32Array {
    const y = new Float32Array(M * OH * OW);
    for (let m = 0; m < M; m++) {
      const c = Math.floor(m / (M / C));
      for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        let s = b[m]!;
        for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) {
          const ih = S * oh - ph + kh, iw = S * ow - pw + kw;
          if (ih >= 0 && ih < H && iw >= 0 && iw < W) s += wt[9 * m + 3 * kh + kw]! * x[(c * H + ih) * W + iw]!;
        }
        y[(m * OH + oh) * OW + ow] = Math.min(hi, Math.max(lo, s));
      }
    }
    return y;
  }

  for (const S of [1, 2] as const) {
    it(`stride ${S}: whole layers (rows of 1 to 13 outputs, multiplier 1 and 2) match the naive sum; nothing written past Y`, () => {
      for (const [C, mult, H, W, ph, pw] of [[3, 1, 5, 7, 1, 1], [2, 2, 9, 4, 0, 1], [4, 1, 1, 1, 1, 1], [5, 1, 13, 26, 1, 1], [1, 2, 8, 16, 1, 0]] as const) {
        const M = C * mult;
        const OH = Math.floor((H + 2 * ph - 3) / S) + 1, OW = Math.floor((W + 2 * pw - 3) / S) + 1;
        if (OH <= 0 || OW <= 0) continue;
        const x = values(C * H * W, H + W);
        const wt = values(9 * M, C), b = values(M, M);
        const [Hp, Wp] = depthwiseLayerPaddedSize(S, OH, OW);
        const at = [C * H * W, 9 * M, M, M * OH * OW + 8, Hp * Wp].map((n) => w.alloc(n * 4));
        const [xv, wv, bv, yv, pv] = at.map((o, i) => w.f32(o, [C * H * W, 9 * M, M, M * OH * OW + 8, Hp * Wp][i]!)) as Float32Array[];
        xv!.set(x); wv!.set(wt); bv!.set(b); yv!.fill(-99); pv!.fill(Number.NaN);
        const y = w.f32(yv!.byteOffset, M * OH * OW);
        expect(wasmDepthwiseLayer(w, k!, S, xv!, 0, C, H, W, wv!, bv!, y, 0, M, OH, OW, ph, pw, pv!, true, -1, 1.5)).toBe(true);
        const want = naive(x, C, H, W, wt, b, M, S, ph, pw, OH, OW, -1, 1.5);
        for (let i = 0; i < want.length; i++) expect(Math.abs(y[i]! - want[i]!), `C${C}x${mult} ${H}x${W} at ${i}`).toBeLessThan(1e-5);
        expect(Array.from(yv!.subarray(M * OH * OW))).toEqual(new Array(8).fill(-99));
        at.forEach((o) => w.free(o));
      }
    });
  }
});
