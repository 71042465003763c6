import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import type { Node } from '../src/loader/model.js';
import { emptyGram, gptqWeight, mseRange, observeGram, quantizationMse, quantizeWeight, roundHalfEven, type Histogram } from '../src/quantize/index.js';
import { correctedLayers } from '../src/quantize/empirical-bias.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function histogramOf(xs: number[], bins = 2048): Histogram {
  const min = xs.reduce((m, x) => Math.min(m, x), 0);
  const max = xs.reduce((m, x) => Math.max(m, x), 0);
  const counts = new Float64Array(bins);
  for (const x of xs) counts[Math.min(bins - 1, Math.floor(((x - min) / (max - min)) * bins))]! += 1;
  return { min, max, counts };
}

/** Naive reference: quantize every sample to `levels` steps over [lo, hi] and sum the squared errors. */
function bruteMse(xs: number[], lo: number, hi: number, levels: number): number {
  const step = (hi - lo) / levels;
  let sum = 0;
  for (const x of xs) {
    const q = Math.min(levels, Math.max(0, Math.round((x - lo) / step)));
    sum += (x - (lo + q * step)) ** 2;
  }
  return sum;
}

describe('MSE-optimal activation range', () => {
  it('expected error: step²/12 inside the range, squared distance to the clamp outside (hand-checked)', () => {
    // Bin centres 0.5 and 3.5; range [0, 2] in 2 steps: 0.5 costs 1/12, 3.5 is clamped to 2 (1.5² = 2.25).
    const h: Histogram = { min: 0, max: 4, counts: new Float64Array([1, 0, 0, 1]) };
    expect(quantizationMse(h, 0, 2, 2, false)).toBeCloseTo(1 / 12 + 2.25, 12);
    // Symmetric widens [0, 2] to [-2, 2]: step 2, so 0.5 costs 4/12; 3.5 still clamps to 2.
    expect(quantizationMse(h, 0, 2, 2, true)).toBeCloseTo(4 / 12 + 2.25, 12);
  });

  it('a uniform distribution is best left unclipped', () => {
    const h: Histogram = { min: 0, max: 1, counts: new Float64Array(2048).fill(100) };
    expect(mseRange(h)).toEqual({ min: 0, max: 1 });
  });

  it('heavy tails (Laplace, b = 1): within 2% of the brute-force optimum of the real quantisation error', () => {
    const rand = lcg(3);
    const xs = Array.from({ length: 100000 }, () => (rand() < 0.5 ? -1 : 1) * -Math.log(1 - rand()));
    const h = histogramOf(xs);
    const r = mseRange(h, 255);
    // Banner et al. 2019: the MSE-optimal 8-bit clip of a Laplace(b) is about 9.9 b (for this sample size the
    // optimum sits a little higher; the largest of 100000 samples is near 15.8).
    expect(r.max).toBeGreaterThan(9);
    expect(r.max).toBeLessThan(14);
    expect(r.max).toBeLessThan(h.max);
    let best = Infinity;
    for (let lo = 0.3; lo <= 1.0001; lo += 0.02) {
      for (let hi = 0.2; hi <= 1.0001; hi += 0.01) best = Math.min(best, bruteMse(xs, lo * h.min, hi * h.max, 255));
    }
    const chosen = bruteMse(xs, r.min, r.max, 255);
    expect(chosen).toBeLessThanOrEqual(best * 1.02);
    expect(chosen).toBeLessThan(bruteMse(xs, h.min, h.max, 255));
  });
});

const node = (opType: string, attrs: Record<string, number | number[]> = {}): Node => ({
  name: 'n',
  opType,
  domain: '',
  inputs: ['x', 'w', 'b'],
  outputs: ['y'],
  attributes: new Map(Object.entries(attrs).map(([k, v]) => [k, Array.isArray(v) ? { type: 'ints' as const, value: v } : { type: 'int' as const, value: v }])),
});

const floats = (shape: number[], values: ArrayLike<number>): TensorData => ({ dtype: 'float32', shape, data: Float32Array.from(values) });

describe('GPTQ input Grams', () => {
  it('Gemm: Σ x xᵀ over the rows of x (upper triangle)', () => {
    const n = node('Gemm', { transB: 1 });
    const w = floats([2, 3], [1, 2, 3, 4, 5, 6]);
    const g = emptyGram(n, w)!;
    observeGram(g, n, w, [1, 2, 3, -1, 0, 2], [2, 3]);
    expect(g.count).toBe(2);
    // Row (1,2,3) and row (-1,0,2): [0][0] = 1+1, [0][1] = 2+0, [0][2] = 3-2, [1][1] = 4, [1][2] = 6, [2][2] = 9+4.
    expect(Array.from(g.sums)).toEqual([2, 2, 1, 0, 4, 6, 0, 0, 13]);
  });

  it('Conv 3x3, stride 2, pad 1, two groups: one Gram per group of zero-padded im2col patches', () => {
    const n = node('Conv', { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] });
    const w = floats([2, 1, 3, 3], new Array(18).fill(0.1));
    const rand = lcg(5);
    const x = Array.from({ length: 2 * 5 * 5 }, () => rand() - 0.5);
    const g = emptyGram(n, w)!;
    observeGram(g, n, w, x, [1, 2, 5, 5]);
    expect(g.count).toBe(9);
    // Naive im2col reference.
    const want = new Float64Array(2 * 81);
    for (let c = 0; c < 2; c++) {
      for (let oy = 0; oy < 3; oy++) {
        for (let ox = 0; ox < 3; ox++) {
          const p: number[] = [];
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) {
              const iy = oy * 2 - 1 + ky;
              const ix = ox * 2 - 1 + kx;
              p.push(iy >= 0 && iy < 5 && ix >= 0 && ix < 5 ? x[c * 25 + iy * 5 + ix]! : 0);
            }
          }
          for (let i = 0; i < 9; i++) for (let j = i; j < 9; j++) want[c * 81 + i * 9 + j]! += p[i]! * p[j]!;
        }
      }
    }
    for (let i = 0; i < want.length; i++) expect(g.sums[i]).toBeCloseTo(want[i]!, 12);
  });
});

describe('GPTQ rounding', () => {
  /** Output error Σ_rows Δwᵀ H Δw with H = XᵀX / n, computed naively from the samples. */
  function outputError(xs: number[][], w: Float32Array, q: Int8Array, scales: Float32Array, k: number): number {
    let e = 0;
    for (let o = 0; o < w.length / k; o++) {
      for (const x of xs) {
        let d = 0;
        for (let i = 0; i < k; i++) d += (q[o * k + i]! * scales[o]! - w[o * k + i]!) * x[i]!;
        e += d * d;
      }
    }
    return e;
  }

  it('uncorrelated inputs (H = I): identical to rounding to nearest', () => {
    const n = node('Gemm', { transB: 1 });
    const rand = lcg(11);
    const w = floats([3, 4], Array.from({ length: 12 }, () => rand() - 0.5));
    const g = emptyGram(n, w)!;
    // x = the unit vectors: Σ x xᵀ = I.
    observeGram(g, n, w, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], [4, 4]);
    const plain = quantizeWeight(w, 0);
    const gptq = gptqWeight(n, w, plain, g)!;
    expect(Array.from(gptq.q.data as Int8Array)).toEqual(Array.from(plain.q.data as Int8Array));
    expect(gptq.scales).toEqual(plain.scales);
  });

  it('correlated inputs: same scales, lower output error than rounding to nearest (naive reference)', () => {
    const n = node('Gemm', { transB: 1 });
    const rand = lcg(21);
    const k = 16;
    const rows = 8;
    const w = floats([rows, k], Array.from({ length: rows * k }, () => gaussian(rand)));
    // Strongly correlated inputs: a shared factor plus small independent parts.
    const xs = Array.from({ length: 400 }, () => {
      const common = gaussian(rand);
      return Array.from({ length: k }, () => common + 0.2 * gaussian(rand));
    });
    const g = emptyGram(n, w)!;
    observeGram(g, n, w, xs.flat(), [xs.length, k]);
    const plain = quantizeWeight(w, 0);
    const gptq = gptqWeight(n, w, plain, g)!;
    expect(Array.from(gptq.scales)).toEqual(Array.from(plain.scales));
    const q = gptq.q.data as Int8Array;
    expect(q.every((v) => v >= -127 && v <= 127)).toBe(true);
    const ePlain = outputError(xs, w.data as Float32Array, plain.q.data as Int8Array, plain.scales, k);
    const eGptq = outputError(xs, w.data as Float32Array, q, gptq.scales, k);
    expect(eGptq).toBeLessThan(ePlain * 0.7);
    // Every stored integer stays near the weight it encodes (the feedback moves values by a few steps at most).
    const wf = w.data as Float32Array;
    for (let i = 0; i < q.length; i++) expect(Math.abs(q[i]! - roundHalfEven(wf[i]! / plain.scales[Math.floor(i / k)]!))).toBeLessThanOrEqual(8);
  });

  it('Gemm without transB reads B [K, N] by columns', () => {
    const n = node('Gemm');
    const rand = lcg(31);
    const wT = Array.from({ length: 6 }, () => rand() - 0.5); // B [3, 2]
    const w = floats([3, 2], wT);
    const g = emptyGram(n, w)!;
    observeGram(g, n, w, [1, 0, 0, 0, 1, 0, 0, 0, 1], [3, 3]);
    const plain = quantizeWeight(w, 1);
    const gptq = gptqWeight(n, w, plain, g)!;
    expect(Array.from(gptq.q.data as Int8Array)).toEqual(Array.from(plain.q.data as Int8Array));
  });
});

describe('empirical bias correction: layer pairing', () => {
  it('pairs Conv/Gemm nodes in order between the float graph and the folded plan', () => {
    const src = [
      { ...node('Conv'), outputs: ['c'] },
      { ...node('Relu'), inputs: ['c'], outputs: ['r'] },
      { ...node('Gemm'), inputs: ['r', 'w2', 'b2'], outputs: ['y'] },
    ];
    const plan = [{ ...node('Conv'), outputs: ['r'] }, { ...node('Gemm'), inputs: ['r', 'w2', 'b2'], outputs: ['y'] }];
    expect(correctedLayers(src, plan, () => true)).toEqual([
      { floatName: 'c', quantizedName: 'r' },
      { floatName: 'y', quantizedName: 'y' },
    ]);
    expect(correctedLayers(src, plan, (n) => n.opType === 'Gemm')).toEqual([{ floatName: 'y', quantizedName: 'y' }]);
  });
});
