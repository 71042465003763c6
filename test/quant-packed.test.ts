/**
 * The packed int8 GEMM (igemm-packed.ts) and the QLinearConv paths built on it (gathered im2col panels, 1×1
 * read straight from the image, direct depthwise 3×3) against naive references written here, exactly.
 */
import { describe, expect, it } from 'vitest';
import { igemmABt, type Int8Like } from '../src/kernels/quant/igemm.js';
import {
  TILE_COLS, TILE_ROWS, fillPanelStrided, igemmPacked, laneChunk, packRowPanels, packedRowsLength, panelLength,
} from '../src/kernels/quant/igemm-packed.js';
import { ROUND_LIMIT, ROUND_MAGIC, roundHalfEven } from '../src/kernels/quant/rounding.js';
import { rng, runKernel, tensor } from './harness.js';

const f = Math.fround;

function random8(n: number, signed: boolean, seed: number, extremes = false): Int8Like {
  const r = rng(seed);
  const out = signed ? new Int8Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = extremes ? (r() < 0.5 ? 0 : 1) : r();
    out[i] = signed ? Math.round(v * 255) - 128 : Math.round(v * 255);
  }
  return out;
}

/** C = A·Bᵀ through igemmPacked, B's rows read with fillPanelStrided (step 1). */
function packedProduct(M: number, N: number, K: number, A: Int8Like, B: Int8Like, aSigned: boolean, bSigned: boolean): Int32Array {
  const packed = aSigned ? new Int8Array(packedRowsLength(M, K)) : new Uint8Array(packedRowsLength(M, K));
  packRowPanels(M, K, A, 0, K, packed, 0);
  const C = new Int32Array(M * N);
  const offs = new Int32Array(TILE_COLS);
  igemmPacked(
    M, N, K, packed, 0, laneChunk(aSigned, bSigned),
    (c0, cols, panel, sums) => {
      for (let c = 0; c < TILE_COLS; c++) offs[c] = (c0 + c) * K;
      fillPanelStrided(K, B, offs, cols, 1, panel, sums);
    },
    (t, m0, rows, c0, cols) => {
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) C[(m0 + r) * N + c0 + c] = t[r * TILE_COLS + c]!;
    },
    new Float64Array(panelLength(K)), new Int32Array(TILE_COLS), new Float64Array(TILE_ROWS * TILE_COLS),
  );
  return C;
}

describe('igemmPacked (lane pairs in float64)', () => {
  const cases: [number, number, number, boolean, boolean][] = [
    [1, 1, 1, true, false],
    [5, 7, 13, true, false],
    [4, 4, 3000, true, false], // K beyond one lane chunk
    [6, 9, 2100, false, false], // uint8 × uint8: the shortest chunk (516)
    [3, 5, 1500, true, true],
    [9, 10, 64, false, true],
  ];
  for (const [M, N, K, aSigned, bSigned] of cases) {
    it(`equals the int32 reference for ${M}×${N}×${K}, A ${aSigned ? 'int8' : 'uint8'}, B ${bSigned ? 'int8' : 'uint8'}`, () => {
      for (const extremes of [false, true]) {
        const A = random8(M * K, aSigned, M + K, extremes);
        const B = random8(N * K, bSigned, N + 2 * K, extremes);
        const ref = new Int32Array(M * N);
        igemmABt(M, N, K, A, 0, K, B, 0, K, ref, 0, N);
        expect(Array.from(packedProduct(M, N, K, A, B, aSigned, bSigned))).toEqual(Array.from(ref));
      }
    });
  }
});

interface ConvCase {
  C: number;
  M: number;
  H: number;
  W: number;
  k: number;
  stride: number;
  pad: number;
  group: number;
  xType: 'uint8' | 'int8';
}

/** ConvInteger by definition: Σ (x - zx)(w - zw[m]) over the window, padding contributing zero. */
function naiveConvInteger(c: ConvCase, x: Int8Like, w: Int8Like, zx: number, zw: number[]): { shape: number[]; y: number[] } {
  const OH = Math.floor((c.H + 2 * c.pad - c.k) / c.stride) + 1;
  const OW = Math.floor((c.W + 2 * c.pad - c.k) / c.stride) + 1;
  const Cg = c.C / c.group;
  const Mg = c.M / c.group;
  const y: number[] = [];
  for (let m = 0; m < c.M; m++) {
    const g = Math.floor(m / Mg);
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        let s = 0;
        for (let ci = 0; ci < Cg; ci++)
          for (let i = 0; i < c.k; i++)
            for (let j = 0; j < c.k; j++) {
              const ih = oh * c.stride - c.pad + i;
              const iw = ow * c.stride - c.pad + j;
              if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
              const xv = x[((g * Cg + ci) * c.H + ih) * c.W + iw]!;
              const wv = w[((m * Cg + ci) * c.k + i) * c.k + j]!;
              s += (xv - zx) * (wv - zw[m]!);
            }
        y.push(s);
      }
  }
  return { shape: [1, c.M, OH, OW], y };
}

describe('ConvInteger / QLinearConv fast paths against the definition', () => {
  const cases: [string, ConvCase][] = [
    ['1×1 read from the image (P = 35, not a multiple of 4; M = 6)', { C: 9, M: 6, H: 5, W: 7, k: 1, stride: 1, pad: 0, group: 1, xType: 'uint8' }],
    ['1×1 stride 2 (gathered)', { C: 5, M: 7, H: 6, W: 7, k: 1, stride: 2, pad: 0, group: 1, xType: 'int8' }],
    ['3×3 padded, grouped', { C: 6, M: 10, H: 7, W: 6, k: 3, stride: 1, pad: 1, group: 2, xType: 'uint8' }],
    ['depthwise 3×3 stride 1 (interior + border)', { C: 5, M: 5, H: 8, W: 9, k: 3, stride: 1, pad: 1, group: 5, xType: 'uint8' }],
    ['depthwise 3×3 stride 2', { C: 3, M: 3, H: 9, W: 7, k: 3, stride: 2, pad: 1, group: 3, xType: 'int8' }],
    ['depthwise 5×5', { C: 2, M: 2, H: 8, W: 8, k: 5, stride: 1, pad: 2, group: 2, xType: 'uint8' }],
  ];
  for (const [label, c] of cases) {
    it(label, () => {
      const x = random8(c.C * c.H * c.W, c.xType === 'int8', 11);
      const w = random8((c.M * c.C * c.k * c.k) / c.group, true, 12);
      const zx = c.xType === 'uint8' ? 131 : -7;
      const zw = Array.from({ length: c.M }, (_, m) => (m % 3) - 1);
      const ref = naiveConvInteger(c, x, w, zx, zw);
      const attrs = { kernel_shape: [c.k, c.k], strides: [c.stride, c.stride], pads: [c.pad, c.pad, c.pad, c.pad], group: c.group };
      const xT = tensor(c.xType, [1, c.C, c.H, c.W], x);
      const wT = tensor('int8', [c.M, c.C / c.group, c.k, c.k], w);
      const zxT = tensor(c.xType, [], [zx]);
      const zwT = tensor('int8', [c.M], zw);
      for (const constant of [[1, 3], []]) {
        const [y] = runKernel('ConvInteger', [xT, wT, zxT, zwT], attrs, { constant });
        expect(y!.shape).toEqual(ref.shape);
        expect(Array.from(y!.data as Int32Array)).toEqual(ref.y);
      }
      // QLinearConv: requantized in the store, bias added; the reference requantizes the definition's sums.
      const bias = Array.from({ length: c.M }, (_, m) => m * 37 - 50);
      const mult = Array.from({ length: c.M }, (_, m) => f(f(f(0.05) * f(0.01 + m * 0.001)) / f(0.7)));
      const [q] = runKernel(
        'QLinearConv',
        [xT, tensor('float32', [], [0.05]), zxT, wT, tensor('float32', [c.M], mult.map((_, m) => 0.01 + m * 0.001)), zwT,
          tensor('float32', [], [0.7]), tensor('uint8', [], [17]), tensor('int32', [c.M], bias)],
        attrs, { constant: [3, 4, 5, 8] },
      );
      const P = ref.y.length / c.M;
      const expected = ref.y.map((v, i) => {
        const m = Math.floor(i / P);
        const s = Math.fround(Math.fround(v + bias[m]!) * mult[m]!);
        const r = Math.round(s);
        const even = r - s === 0.5 && r % 2 !== 0 ? r - 1 : r;
        return Math.min(255, Math.max(0, even + 17));
      });
      expect(Array.from(q!.data as Uint8Array)).toEqual(expected);
      expect(new Set(expected).size).toBeGreaterThan(5);
    });
  }
});

describe('inline rounding (ROUND_MAGIC)', () => {
  it('equals roundHalfEven on ties, near-ties and large values of both signs (up to the sign of zero)', () => {
    const values = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 1e9 + 0.5, -(2 ** 50) - 0.5, 123.4999, -77.5000001, 2 ** 51 - 1.5];
    for (let i = -300; i <= 300; i++) values.push(i / 4, Math.fround(i * 0.37));
    for (const v of values) expect(v + ROUND_MAGIC - ROUND_MAGIC + 0).toBe(roundHalfEven(v) + 0);
    expect(values.every((v) => Math.abs(v) < ROUND_LIMIT)).toBe(true);
  });
});

describe('QLinearMatMul with a constant b (packed path)', () => {
  it('equals the unpacked path (b given at run time) exactly: batched a, long K, uint8 × uint8, per-column b', () => {
    const [B, M, K, N] = [2, 7, 1100, 9];
    const a = random8(B * M * K, false, 21);
    const b = random8(K * N, false, 22);
    const bScale = Array.from({ length: N }, (_, j) => 0.00002 + j * 0.000003);
    const bZp = Array.from({ length: N }, (_, j) => 120 + j);
    const inputs = [
      tensor('uint8', [B, M, K], a), tensor('float32', [], [0.02]), tensor('uint8', [], [130]),
      tensor('uint8', [K, N], b), tensor('float32', [N], bScale), tensor('uint8', [N], bZp),
      tensor('float32', [], [0.05]), tensor('uint8', [], [128]),
    ];
    const [packed] = runKernel('QLinearMatMul', inputs, {}, { constant: [3, 4, 5] });
    const [plain] = runKernel('QLinearMatMul', inputs);
    const values = Array.from(packed!.data as Uint8Array);
    expect(values).toEqual(Array.from(plain!.data as Uint8Array));
    expect(new Set(values).size).toBeGreaterThan(10);
  });
});
