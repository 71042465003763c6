/**
 * com.microsoft QLinear* kernels (what onnxruntime's quantizer emits) against naive references:
 * each output = quantize(f(dequantize(inputs))) with dequantize(v) = (v - zp)·scale and
 * quantize(r) = saturate(round_half_even(r / scale) + zp), float steps in float32 like onnxruntime.
 */
import { describe, expect, it } from 'vitest';
import type { DType, TensorData } from '../src/dtype.js';
import { roundHalfEven } from '../src/kernels/quant/rounding.js';
import { rng, runKernel, tensor } from './harness.js';

const f = Math.fround;
const MS = { domain: 'com.microsoft', opset: 1 };

function values(t: TensorData): number[] {
  return Array.from(t.data as ArrayLike<number>, Number);
}

function randomInts(n: number, lo: number, hi: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

const deq = (v: number, s: number, z: number) => f((v - z) * s);
function quant(r: number, s: number, z: number, dtype: DType): number {
  const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
  return Math.min(hi, Math.max(lo, roundHalfEven(f(f(r) / s)) + z));
}

describe('QLinearAdd / QLinearMul', () => {
  // A [2, 3, 4] and B [3, 1]: B broadcasts along the first and last dims.
  const aShape = [2, 3, 4];
  const a = randomInts(24, 0, 255, 1);
  const b = randomInts(3, 0, 255, 2);
  const [sa, za, sb, zb, sc, zc] = [f(0.05), 100, f(0.02), 140, f(0.04), 90];
  const inputs = () => [
    tensor('uint8', aShape, a), tensor('float32', [], [sa]), tensor('uint8', [], [za]),
    tensor('uint8', [3, 1], b), tensor('float32', [], [sb]), tensor('uint8', [], [zb]),
    tensor('float32', [], [sc]), tensor('uint8', [], [zc]),
  ];
  const bAt = (i: number) => b[Math.floor(i / 4) % 3]!;

  it('QLinearAdd broadcasts and requantizes the float sum', () => {
    const [y] = runKernel('QLinearAdd', inputs(), {}, MS);
    expect(y!.shape).toEqual(aShape);
    const expected = a.map((v, i) => quant(f(deq(v, sa, za) + deq(bAt(i), sb, zb)), sc, zc, 'uint8'));
    expect(values(y!)).toEqual(expected);
    expect(new Set(expected).size).toBeGreaterThan(5);
  });

  it('QLinearMul broadcasts and requantizes the float product', () => {
    const [y] = runKernel('QLinearMul', inputs(), {}, MS);
    const expected = a.map((v, i) => quant(f(deq(v, sa, za) * deq(bAt(i), sb, zb)), sc, zc, 'uint8'));
    expect(values(y!)).toEqual(expected);
    expect(new Set(expected).size).toBeGreaterThan(5);
  });

  it('QLinearAdd int8 with hand-checked values and saturation', () => {
    // (10-0)·1 + (20-0)·1 = 30 -> 30/2 = 15; 100+100 = 200/2 = 100; -128 + -100 = -228/2 = -114; 127+127 -> 127 sat
    const [y] = runKernel(
      'QLinearAdd',
      [
        tensor('int8', [4], [10, 100, -128, 127]), tensor('float32', [], [1]), tensor('int8', [], [0]),
        tensor('int8', [4], [20, 100, -100, 127]), tensor('float32', [], [1]), tensor('int8', [], [0]),
        tensor('float32', [], [1]), tensor('int8', [], [0]),
      ],
      {},
      MS,
    );
    expect(values(y!)).toEqual([30, 127, -128, 127]);
    const [h] = runKernel(
      'QLinearAdd',
      [
        tensor('int8', [3], [10, 100, -128]), tensor('float32', [], [1]), tensor('int8', [], [0]),
        tensor('int8', [3], [20, 100, -100]), tensor('float32', [], [1]), tensor('int8', [], [0]),
        tensor('float32', [], [2]), tensor('int8', [], [0]),
      ],
      {},
      MS,
    );
    expect(values(h!)).toEqual([15, 100, -114]);
  });
});

describe('QLinearSigmoid / QLinearLeakyRelu', () => {
  const x = Array.from({ length: 256 }, (_, i) => i);
  const [sx, zx, sy, zy] = [f(0.05), 128, f(1 / 256), 0];

  it('QLinearSigmoid maps every uint8 value through sigmoid', () => {
    const [y] = runKernel(
      'QLinearSigmoid',
      [tensor('uint8', [256], x), tensor('float32', [], [sx]), tensor('uint8', [], [zx]), tensor('float32', [], [sy]), tensor('uint8', [], [zy])],
      {},
      MS,
    );
    const expected = x.map((v) => quant(f(1 / (1 + Math.exp(-deq(v, sx, zx)))), sy, zy, 'uint8'));
    expect(values(y!)).toEqual(expected);
    expect(values(y!)[128]).toBe(128); // sigmoid(0) = 0.5 = 128/256
  });

  it('QLinearLeakyRelu on int8 with alpha, parameters known only at run time', () => {
    const xs = Array.from({ length: 256 }, (_, i) => i - 128);
    const [y] = runKernel(
      'QLinearLeakyRelu',
      [tensor('int8', [16, 16], xs), tensor('float32', [], [0.1]), tensor('int8', [], [-3]), tensor('float32', [], [0.05]), tensor('int8', [], [5])],
      { alpha: 0.2 },
      MS,
    );
    const expected = xs.map((v) => {
      const r = deq(v, f(0.1), -3);
      return quant(r >= 0 ? r : f(f(0.2) * r), f(0.05), 5, 'int8');
    });
    expect(values(y!)).toEqual(expected);
    // -128: (-125·0.1)·0.2 = -2.5 -> /0.05 = -50 + 5 = -45
    expect(values(y!)[0]).toBe(-45);
  });
});

describe('QLinearGlobalAveragePool', () => {
  it('averages each channel (NCHW) in the integer domain', () => {
    const [N, C, H, W] = [2, 3, 3, 5];
    const x = randomInts(N * C * H * W, 0, 255, 7);
    const [sx, zx, sy, zy] = [f(0.1), 120, f(0.05), 130];
    const [y] = runKernel(
      'QLinearGlobalAveragePool',
      [tensor('uint8', [N, C, H, W], x), tensor('float32', [], [sx]), tensor('uint8', [], [zx]), tensor('float32', [], [sy]), tensor('uint8', [], [zy])],
      {},
      MS,
    );
    expect(y!.shape).toEqual([N, C, 1, 1]);
    const S = H * W;
    const expected: number[] = [];
    for (let nc = 0; nc < N * C; nc++) {
      let s = 0;
      for (let i = 0; i < S; i++) s += x[nc * S + i]! - zx;
      const scale = f(sx / f(sy * S));
      expected.push(Math.min(255, Math.max(0, roundHalfEven(f(f(s) * scale)) + zy)));
    }
    expect(values(y!)).toEqual(expected);
  });

  it('channels_last reads [N, H, W, C] and writes [N, 1, 1, C]', () => {
    // two channels over 2x2: channel 0 = 1,3,5,7 (mean 4), channel 1 = 10,10,10,12 (mean 10.5 -> 10, ties to even)
    const x = tensor('uint8', [1, 2, 2, 2], [1, 10, 3, 10, 5, 10, 7, 12]);
    const one = tensor('float32', [], [1]);
    const zero = tensor('uint8', [], [0]);
    const [y] = runKernel('QLinearGlobalAveragePool', [x, one, zero, one, zero], { channels_last: 1 }, MS);
    expect(y!.shape).toEqual([1, 1, 1, 2]);
    expect(values(y!)).toEqual([4, 10]);
  });
});

describe('QLinearConcat', () => {
  it('requantizes each input to the output parameters and concatenates along axis 1', () => {
    const a = randomInts(2 * 2 * 3, 0, 255, 8);
    const b = randomInts(2 * 1 * 3, 0, 255, 9);
    const [ys, yz] = [f(0.1), 128];
    const [as, az] = [f(0.2), 100];
    const [y] = runKernel(
      'QLinearConcat',
      [
        tensor('float32', [], [ys]), tensor('uint8', [], [yz]),
        tensor('uint8', [2, 2, 3], a), tensor('float32', [], [as]), tensor('uint8', [], [az]),
        tensor('uint8', [2, 1, 3], b), tensor('float32', [], [ys]), tensor('uint8', [], [yz]),
      ],
      { axis: 1 },
      MS,
    );
    expect(y!.shape).toEqual([2, 3, 3]);
    const expected: number[] = [];
    for (let n = 0; n < 2; n++) {
      for (let i = 0; i < 6; i++) expected.push(quant(deq(a[n * 6 + i]!, as, az), ys, yz, 'uint8'));
      for (let i = 0; i < 3; i++) expected.push(b[n * 3 + i]!); // same parameters: copied unchanged
    }
    expect(values(y!)).toEqual(expected);
  });

  it('rejects inputs whose shapes differ off the axis', () => {
    const s = tensor('float32', [], [1]);
    const z = tensor('uint8', [], [0]);
    expect(() =>
      runKernel('QLinearConcat', [s, z, tensor('uint8', [1, 2], [1, 2]), s, z, tensor('uint8', [2, 2], [1, 2, 3, 4]), s, z], { axis: 1 }, MS),
    ).toThrow(/does not match/);
  });
});

describe('QGemm', () => {
  const [M, K, N] = [3, 7, 5];
  const aMat = randomInts(M * K, 0, 255, 51); // A as [M, K]
  const bMat = randomInts(K * N, -128, 127, 52); // B as [K, N]
  const transpose = (x: number[], rows: number, cols: number) => Array.from({ length: rows * cols }, (_, t) => x[(t % rows) * cols + Math.floor(t / rows)]!);
  const bScale = Array.from({ length: N }, (_, j) => f(0.002 + 0.001 * j));
  const bZp = [0, 1, -2, 3, 0];
  const [aScale, aZp, alpha] = [f(0.03), 121, f(0.5)];

  /** acc[i,j] = Σ_k (A[i,k] - a_zp)(B[k,j] - b_zp[j]) + bias(i, j), straight from the definition. */
  function refAcc(bias: (i: number, j: number) => number): number[] {
    const out: number[] = [];
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += (aMat[i * K + k]! - aZp) * (bMat[k * N + j]! - bZp[j]!);
        out.push(s + bias(i, j));
      }
    return out;
  }
  const colScale = (j: number) => f(f(alpha * aScale) * bScale[j]!);

  for (const [transA, transB, constB] of [[0, 0, true], [1, 1, true], [0, 1, false], [1, 0, false]] as const) {
    it(`uint8 output with per-column b, C [N] (transA ${transA}, transB ${transB}${constB ? ', constant B' : ''})`, () => {
      const C = [1000, -500, 0, 250, -3000];
      const [yScale, yZp] = [f(0.05), 128];
      const A = transA ? tensor('uint8', [K, M], transpose(aMat, M, K)) : tensor('uint8', [M, K], aMat);
      const B = transB ? tensor('int8', [N, K], transpose(bMat, K, N)) : tensor('int8', [K, N], bMat);
      const [y] = runKernel(
        'QGemm',
        [A, tensor('float32', [], [aScale]), tensor('uint8', [], [aZp]), B, tensor('float32', [N], bScale), tensor('int8', [N], bZp),
          tensor('int32', [N], C), tensor('float32', [], [yScale]), tensor('uint8', [], [yZp])],
        { transA, transB, alpha: alpha },
        { ...MS, constant: constB ? [3] : [] },
      );
      expect(y!.shape).toEqual([M, N]);
      const expected = refAcc((_, j) => C[j]!).map((v, t) => {
        const s = f(colScale(t % N) / yScale);
        return Math.min(255, Math.max(0, roundHalfEven(f(f(v) * s)) + yZp));
      });
      expect(values(y!)).toEqual(expected);
      expect(new Set(expected).size).toBeGreaterThan(4);
    });
  }

  it('float output without y_scale, C [M, 1]', () => {
    const C = [7, -7000, 123];
    const [y] = runKernel(
      'QGemm',
      [tensor('uint8', [M, K], aMat), tensor('float32', [], [aScale]), tensor('uint8', [], [aZp]),
        tensor('int8', [K, N], bMat), tensor('float32', [N], bScale), tensor('int8', [N], bZp), tensor('int32', [M, 1], C)],
      { alpha: alpha },
      MS,
    );
    expect(y!.dtype).toBe('float32');
    expect(values(y!)).toEqual(refAcc((i) => C[i]!).map((v, t) => f(f(v) * colScale(t % N))));
  });
});

describe('QLinearAveragePool', () => {
  const one = tensor('float32', [], [1]);
  const zero = tensor('uint8', [], [0]);
  const x33 = tensor('uint8', [1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);

  it('2x2 windows, stride 1 (hand-checked means)', () => {
    const [y] = runKernel('QLinearAveragePool', [x33, one, zero, one, zero], { kernel_shape: [2, 2] }, MS);
    expect(y!.shape).toEqual([1, 1, 2, 2]);
    expect(values(y!)).toEqual([3, 4, 6, 7]);
  });

  it('padding is excluded from the mean unless count_include_pad', () => {
    const attrs = { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
    const [ex] = runKernel('QLinearAveragePool', [x33, one, zero, one, zero], attrs, MS);
    expect(values(ex!)).toEqual([3, 4, 6, 7]); // window sums 12, 16, 24, 28 over 4 valid elements
    const [inc] = runKernel('QLinearAveragePool', [x33, one, zero, one, zero], { ...attrs, count_include_pad: 1 }, MS);
    expect(values(inc!)).toEqual([1, 2, 3, 3]); // the same sums over 9: 1.33, 1.78, 2.67, 3.11
  });

  it('ceil_mode keeps a partial last window; ties round to even', () => {
    const x = tensor('uint8', [1, 1, 1, 5], [1, 2, 3, 4, 5]);
    const [y] = runKernel('QLinearAveragePool', [x, one, zero, one, zero], { kernel_shape: [1, 2], strides: [1, 2], ceil_mode: 1 }, MS);
    expect(y!.shape).toEqual([1, 1, 1, 3]);
    expect(values(y!)).toEqual([2, 4, 5]); // 1.5 -> 2, 3.5 -> 4, 5
  });

  it('uses the zero points and scales: y = quantize(mean((x - zx)·sx))', () => {
    // window [10, 20, 30, 40], zx 10, sx 0.5 -> mean 7.5; y_scale 0.25 -> 30, + zy 100 = 130
    const x = tensor('uint8', [1, 1, 2, 2], [10, 20, 30, 40]);
    const [y] = runKernel('QLinearAveragePool', [x, tensor('float32', [], [0.5]), tensor('uint8', [], [10]), tensor('float32', [], [0.25]), tensor('uint8', [], [100])], { kernel_shape: [2, 2] }, MS);
    expect(values(y!)).toEqual([130]);
  });

  it('channels_last gives the NCHW result transposed', () => {
    const [N, C, H, W] = [2, 3, 5, 4];
    const nchw = randomInts(N * C * H * W, 0, 255, 61);
    const nhwc = new Array<number>(nchw.length);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < H * W; s++) nhwc[(n * H * W + s) * C + c] = nchw[(n * C + c) * H * W + s]!;
    const params = [tensor('float32', [], [0.1]), tensor('uint8', [], [7]), tensor('float32', [], [0.07]), tensor('uint8', [], [3])];
    const attrs = { kernel_shape: [3, 2], strides: [2, 1], pads: [1, 0, 1, 1] };
    const [a] = runKernel('QLinearAveragePool', [tensor('uint8', [N, C, H, W], nchw), ...params], attrs, MS);
    const [b] = runKernel('QLinearAveragePool', [tensor('uint8', [N, H, W, C], nhwc), ...params], { ...attrs, channels_last: 1 }, MS);
    const [OH, OW] = [a!.shape[2]!, a!.shape[3]!];
    expect(b!.shape).toEqual([N, OH, OW, C]);
    const av = values(a!);
    const bv = values(b!);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < OH * OW; s++) expect(bv[(n * OH * OW + s) * C + c]).toBe(av[(n * C + c) * OH * OW + s]);
    expect(new Set(av).size).toBeGreaterThan(3);
  });
});
