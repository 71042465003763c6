/**
 * Quantized kernels against naive references written from the ONNX spec formulas:
 *   QuantizeLinear   y = saturate(round_half_even(x / scale) + zp)
 *   DequantizeLinear y = (x - zp) · scale
 *   QLinearConv / QLinearMatMul  y = saturate(round(acc · (s_a·s_b / s_y)) + zp_y), acc exact in int32
 * Integer outputs must match exactly; the references do the float steps in float32 like onnxruntime.
 */
import { describe, expect, it } from 'vitest';
import type { DType, TensorData } from '../src/dtype.js';
import { roundHalfEven, roundToFloat8 } from '../src/kernels/quant/rounding.js';
import { igemmABt } from '../src/kernels/quant/igemm.js';
import { rng, runKernel, tensor } from './harness.js';

const f = Math.fround;

function values(t: TensorData): number[] {
  return Array.from(t.data as ArrayLike<number>, Number);
}

function randomInts(n: number, lo: number, hi: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

function refRequantize(acc: number, mult: number, zp: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, roundHalfEven(f(f(acc) * mult)) + zp));
}

describe('roundHalfEven', () => {
  it('rounds ties to the even neighbour, both signs', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, -0, -2, -2, -4]);
  });
  it('rounds non-ties to nearest', () => {
    expect([0.49, 0.51, -0.51, 2.4999, -7.6].map(roundHalfEven)).toEqual([0, 1, -1, 2, -8]);
  });
});

describe('QuantizeLinear', () => {
  it('uint8 per-tensor: ties to even, zero point, saturation', () => {
    // x / 2 = 0.5, 1.5, 2.5, -0.5, -1.5, 100, 300, -300, 63.5
    const x = tensor('float32', [9], [1, 3, 5, -1, -3, 200, 600, -600, 127]);
    const [y] = runKernel('QuantizeLinear', [x, tensor('float32', [], [2]), tensor('uint8', [], [128])], {}, { opset: 13 });
    expect(y!.dtype).toBe('uint8');
    expect(values(y!)).toEqual([128, 130, 130, 128, 126, 228, 255, 0, 192]);
  });

  it('defaults to uint8 with zero point 0 when the zero point is omitted', () => {
    const [y] = runKernel('QuantizeLinear', [tensor('float32', [4], [-1, 0.5, 1.5, 1000]), tensor('float32', [], [1])]);
    expect(y!.dtype).toBe('uint8');
    expect(values(y!)).toEqual([0, 0, 2, 255]);
  });

  it('int8 per-axis on axis 1 (and the same with axis -2)', () => {
    const shape = [2, 3, 4];
    const r = rng(3);
    const xs = Array.from({ length: 24 }, () => (r() - 0.5) * 60);
    const scales = [0.1, 0.25, 0.5];
    const zps = [-3, 0, 7];
    const expected = xs.map((v, i) => {
      const c = Math.floor(i / 4) % 3;
      return Math.min(127, Math.max(-128, roundHalfEven(f(f(v) / f(scales[c]!))) + zps[c]!));
    });
    for (const axis of [1, -2]) {
      const [y] = runKernel(
        'QuantizeLinear',
        [tensor('float32', shape, xs), tensor('float32', [3], scales), tensor('int8', [3], zps)],
        { axis },
        { opset: 13 },
      );
      expect(y!.dtype).toBe('int8');
      expect(values(y!)).toEqual(expected);
    }
  });

  it('blocked quantization (opset 21) uses one scale per block of block_size along the axis', () => {
    // x [2, 5], axis 1, block_size 2 -> scale [2, 3]
    const xs = [1, 2, 3, 4, 5, -1, -2, -3, -4, -5];
    const scales = [1, 2, 4, 0.5, 1, 2];
    const [y] = runKernel(
      'QuantizeLinear',
      [tensor('float32', [2, 5], xs), tensor('float32', [2, 3], scales), tensor('int8', [2, 3], [0, 0, 0, 0, 0, 0])],
      { axis: 1, block_size: 2 },
      { opset: 21 },
    );
    // row 0: 1/1, 2/1, 3/2=1.5->2, 4/2, 5/4=1.25->1; row 1: -2, -4, -3, -4, -5/2=-2.5->-2
    expect(values(y!)).toEqual([1, 2, 2, 2, 1, -2, -4, -3, -4, -2]);
  });

  it('int16 and uint4/int4 saturate to their own ranges (opset 21)', () => {
    const x = tensor('float32', [3], [-100000, 5.5, 100000]);
    const [y16] = runKernel('QuantizeLinear', [x, tensor('float32', [], [1]), tensor('int16', [], [0])], {}, { opset: 21 });
    expect(values(y16!)).toEqual([-32768, 6, 32767]);
    const [y4] = runKernel('QuantizeLinear', [x, tensor('float32', [], [1]), tensor('int4', [], [1])], {}, { opset: 21 });
    expect(values(y4!)).toEqual([-8, 7, 7]);
    const [u4] = runKernel('QuantizeLinear', [x, tensor('float32', [], [1]), tensor('uint4', [], [0])], {}, { opset: 21 });
    expect(values(u4!)).toEqual([0, 6, 15]);
  });

  it('float8e4m3fn: nearest representable value, saturate to 448 or NaN without saturate', () => {
    const x = tensor('float32', [5], [1, 0.3, -0.3, 500, 0.001]);
    const zp = tensor('float8e4m3fn', [], [0]);
    const [y] = runKernel('QuantizeLinear', [x, tensor('float32', [], [1]), zp], {}, { opset: 19 });
    // 0.3 = 9.6 · 2^-5 -> 10 · 2^-5; 0.001 is below the smallest subnormal step 2^-9 (0.00195) -> 2^-9·round(0.512)=2^-9
    expect(values(y!)).toEqual([1, 0.3125, -0.3125, 448, 2 ** -9]);
    const [n] = runKernel('QuantizeLinear', [x, tensor('float32', [], [1]), zp], { saturate: 0 }, { opset: 19 });
    expect(Number.isNaN(values(n!)[3])).toBe(true);
  });

  it('float8 rounding follows the ONNX table for infinities and overflow', () => {
    expect(roundToFloat8(Infinity, 'float8e4m3fn', true)).toBe(448);
    expect(roundToFloat8(-Infinity, 'float8e5m2', true)).toBe(-57344);
    expect(roundToFloat8(1e6, 'float8e5m2', false)).toBe(Infinity);
    expect(roundToFloat8(Infinity, 'float8e4m3fnuz', true)).toBeNaN();
    expect(roundToFloat8(464, 'float8e4m3fn', false)).toBe(448); // tie between 448 and 480 goes to even mantissa
    expect(roundToFloat8(1000, 'float8e4m3fnuz', true)).toBe(240);
    expect(Object.is(roundToFloat8(-1e-9, 'float8e4m3fnuz', true), 0)).toBe(true); // no negative zero
  });

  it('is also registered in the com.microsoft domain', () => {
    const [y] = runKernel('QuantizeLinear', [tensor('float32', [2], [2.5, 3.5]), tensor('float32', [], [1]), tensor('uint8', [], [0])], {}, {
      domain: 'com.microsoft',
      opset: 1,
    });
    expect(values(y!)).toEqual([2, 4]);
  });

  it('rejects int64 input with an UnsupportedError', () => {
    expect(() => runKernel('QuantizeLinear', [tensor('int64', [1], [1]), tensor('float32', [], [1])])).toThrow(/must be a float or int32/);
  });

  it('rejects a per-axis scale whose length does not match the axis', () => {
    expect(() =>
      runKernel('QuantizeLinear', [tensor('float32', [2, 3], [0, 0, 0, 0, 0, 0]), tensor('float32', [2], [1, 1]), tensor('uint8', [2], [0, 0])], { axis: 1 }),
    ).toThrow(/per-axis scale/);
  });
});

describe('DequantizeLinear', () => {
  it('uint8 per-tensor', () => {
    const [y] = runKernel('DequantizeLinear', [tensor('uint8', [4], [0, 3, 128, 255]), tensor('float32', [], [2]), tensor('uint8', [], [128])]);
    expect(y!.dtype).toBe('float32');
    expect(values(y!)).toEqual([-256, -250, 0, 254]);
  });

  it('int8 per-axis along axis 0', () => {
    const xs = [-128, 0, 127, 5, 6, 7];
    const [y] = runKernel(
      'DequantizeLinear',
      [tensor('int8', [2, 3], xs), tensor('float32', [2], [0.5, 0.1]), tensor('int8', [2], [1, -2])],
      { axis: 0 },
      { opset: 13 },
    );
    const expected = xs.map((v, i) => (i < 3 ? f(f(v - 1) * 0.5) : f(f(v + 2) * f(0.1))));
    expect(values(y!)).toEqual(expected);
  });

  it('int32 without zero point (bias dequantization)', () => {
    const [y] = runKernel('DequantizeLinear', [tensor('int32', [3], [-1000000, 0, 7]), tensor('float32', [], [0.25])]);
    expect(values(y!)).toEqual([-250000, 0, 1.75]);
  });

  it('rounds to the float16 scale type: ties to even, overflow to Inf (opset 19)', () => {
    // float16(0.1) = 0.0999755859375; 3·that = 0.2999267578125 lies halfway between two float16 values
    const scale = tensor('float16', [], [0.0999755859375]);
    const [y] = runKernel('DequantizeLinear', [tensor('int32', [3], [3, 1, 700000]), scale], {}, { opset: 19 });
    expect(y!.dtype).toBe('float16');
    expect(values(y!)).toEqual([0.2998046875, 0.0999755859375, Infinity]);
  });

  it('round-trips QuantizeLinear within half a step inside the range', () => {
    const xs = Array.from({ length: 50 }, (_, i) => (i - 25) * 0.37);
    const scale = tensor('float32', [], [0.1]);
    const zp = tensor('int8', [], [3]);
    const [q] = runKernel('QuantizeLinear', [tensor('float32', [50], xs), scale, zp]);
    const [y] = runKernel('DequantizeLinear', [q!, scale, zp]);
    values(y!).forEach((v, i) => expect(Math.abs(v - xs[i]!)).toBeLessThanOrEqual(0.05 + 1e-6));
  });
});

describe('DynamicQuantizeLinear', () => {
  it('matches the worked example of the ONNX spec', () => {
    const x = tensor('float32', [6], [0, 2, -3, -2.5, 1.34, 0.5]);
    const [y, scale, zp] = runKernel('DynamicQuantizeLinear', [x], {}, { outputs: 3 });
    expect(scale!.data[0]).toBe(f(f(5) / 255));
    expect(values(zp!)).toEqual([153]);
    expect(values(y!)).toEqual([153, 255, 0, 26, 221, 179]);
  });

  it('includes 0 in the range: all-positive input gets zero point 0', () => {
    const [y, scale, zp] = runKernel('DynamicQuantizeLinear', [tensor('float32', [3], [1, 2, 5.1])], {}, { outputs: 3 });
    expect(values(zp!)).toEqual([0]);
    expect(scale!.data[0]).toBe(f(f(5.1) / 255));
    expect(values(y!)[2]).toBe(255);
  });

  it('uses scale 1 for an all-zero input', () => {
    const [y, scale, zp] = runKernel('DynamicQuantizeLinear', [tensor('float32', [2], [0, 0])], {}, { outputs: 3 });
    expect([scale!.data[0], values(zp!)[0], ...values(y!)]).toEqual([f(1 / 255), 0, 0, 0]);
  });
});

describe('igemmABt', () => {
  it('equals a naive triple loop on odd sizes', () => {
    const [M, N, K] = [5, 7, 13];
    const A = Int8Array.from(randomInts(M * K, -128, 127, 1));
    const B = Uint8Array.from(randomInts(N * K, 0, 255, 2));
    const C = new Int32Array(M * N);
    igemmABt(M, N, K, A, 0, K, B, 0, K, C, 0, N);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[i * K + k]! * B[j * K + k]!;
        expect(C[i * N + j]).toBe(s);
      }
    }
  });
});

interface ConvCase {
  N: number;
  C: number;
  H: number;
  W: number;
  M: number;
  kh: number;
  kw: number;
  group?: number;
  strides?: [number, number];
  dilations?: [number, number];
  pads?: [number, number, number, number];
  autoPad?: string;
  xType: DType;
  wType: DType;
  perChannel?: boolean;
  bias?: boolean;
}

/** Direct convolution straight from the definition (no im2col), padding outside the image as real zero. */
function refConvAcc(c: ConvCase, x: number[], xZp: number, w: number[], wZp: number[]) {
  const group = c.group ?? 1;
  const [sh, sw] = c.strides ?? [1, 1];
  const [dh, dw] = c.dilations ?? [1, 1];
  let [pt, pl, pb, pr] = c.pads ?? [0, 0, 0, 0];
  let OH: number;
  let OW: number;
  if (c.autoPad === 'SAME_UPPER' || c.autoPad === 'SAME_LOWER') {
    OH = Math.ceil(c.H / sh);
    OW = Math.ceil(c.W / sw);
    const th = Math.max(0, (OH - 1) * sh + (c.kh - 1) * dh + 1 - c.H);
    const tw = Math.max(0, (OW - 1) * sw + (c.kw - 1) * dw + 1 - c.W);
    pt = c.autoPad === 'SAME_UPPER' ? Math.floor(th / 2) : Math.ceil(th / 2);
    pl = c.autoPad === 'SAME_UPPER' ? Math.floor(tw / 2) : Math.ceil(tw / 2);
  } else {
    OH = Math.floor((c.H + pt + pb - (c.kh - 1) * dh - 1) / sh) + 1;
    OW = Math.floor((c.W + pl + pr - (c.kw - 1) * dw - 1) / sw) + 1;
  }
  const Cg = c.C / group;
  const Mg = c.M / group;
  const acc = new Array<number>(c.N * c.M * OH * OW).fill(0);
  for (let n = 0; n < c.N; n++)
    for (let m = 0; m < c.M; m++) {
      const g = Math.floor(m / Mg);
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let s = 0;
          for (let ci = 0; ci < Cg; ci++)
            for (let i = 0; i < c.kh; i++)
              for (let j = 0; j < c.kw; j++) {
                const ih = oh * sh - pt + i * dh;
                const iw = ow * sw - pl + j * dw;
                if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                const xv = x[((n * c.C + g * Cg + ci) * c.H + ih) * c.W + iw]! - xZp;
                const wv = w[((m * Cg + ci) * c.kh + i) * c.kw + j]! - wZp[m]!;
                s += xv * wv;
              }
          acc[((n * c.M + m) * OH + oh) * OW + ow] = s;
        }
    }
  return { acc, shape: [c.N, c.M, OH, OW] };
}

function convAttrs(c: ConvCase): Record<string, number | number[] | string> {
  const attrs: Record<string, number | number[] | string> = { kernel_shape: [c.kh, c.kw] };
  if (c.group) attrs.group = c.group;
  if (c.strides) attrs.strides = c.strides;
  if (c.dilations) attrs.dilations = c.dilations;
  if (c.pads) attrs.pads = c.pads;
  if (c.autoPad) attrs.auto_pad = c.autoPad;
  return attrs;
}

const range = (t: DType): [number, number] => (t === 'int8' ? [-128, 127] : [0, 255]);

const CONV_CASES: [string, ConvCase][] = [
  ['plain 3x3, uint8 x / int8 w, per-tensor', { N: 1, C: 3, H: 7, W: 6, M: 4, kh: 3, kw: 3, xType: 'uint8', wType: 'int8' }],
  ['pads + strides, per-channel w zero points and scales, bias', { N: 2, C: 3, H: 9, W: 8, M: 5, kh: 3, kw: 2, strides: [2, 1], pads: [1, 0, 2, 1], xType: 'uint8', wType: 'uint8', perChannel: true, bias: true }],
  ['groups = 2 with dilations', { N: 1, C: 4, H: 8, W: 8, M: 6, kh: 3, kw: 3, group: 2, dilations: [2, 1], pads: [2, 1, 2, 1], xType: 'int8', wType: 'int8', perChannel: true }],
  ['depthwise 13 channels, SAME_UPPER stride 2', { N: 1, C: 13, H: 5, W: 7, M: 13, kh: 3, kw: 3, group: 13, strides: [2, 2], autoPad: 'SAME_UPPER', xType: 'uint8', wType: 'int8', perChannel: true, bias: true }],
  ['depthwise int8 with pads, dilations and per-channel zero points', { N: 2, C: 5, H: 6, W: 7, M: 5, kh: 3, kw: 3, group: 5, pads: [2, 1, 0, 2], dilations: [1, 2], xType: 'int8', wType: 'int8', perChannel: true }],
  ['grouped with channel multiplier 2 (C/group = 1, M/group = 2)', { N: 1, C: 3, H: 5, W: 5, M: 6, kh: 3, kw: 3, group: 3, pads: [1, 1, 1, 1], xType: 'uint8', wType: 'uint8', perChannel: true, bias: true }],
  ['SAME_LOWER with even kernel', { N: 1, C: 2, H: 4, W: 5, M: 3, kh: 2, kw: 2, autoPad: 'SAME_LOWER', xType: 'uint8', wType: 'int8' }],
  ['1x1 image, 1x1 kernel', { N: 1, C: 5, H: 1, W: 1, M: 3, kh: 1, kw: 1, xType: 'uint8', wType: 'int8', bias: true }],
];

describe('QLinearConv', () => {
  for (const [name, c] of CONV_CASES) {
    for (const constW of [true, false]) {
      it(`${name}${constW ? ' (constant weights)' : ' (runtime weights)'}`, () => {
        const group = c.group ?? 1;
        const [xlo, xhi] = range(c.xType);
        const [wlo, whi] = range(c.wType);
        const x = randomInts(c.N * c.C * c.H * c.W, xlo, xhi, 11);
        const w = randomInts(c.M * (c.C / group) * c.kh * c.kw, wlo, whi, 12);
        const xZp = c.xType === 'uint8' ? 131 : -5;
        const wZp = c.perChannel ? randomInts(c.M, wlo === 0 ? 100 : -10, wlo === 0 ? 150 : 10, 13) : [c.wType === 'uint8' ? 120 : 0];
        const r = rng(14);
        const wScale = c.perChannel ? Array.from({ length: c.M }, () => f(0.001 + r() * 0.01)) : [f(0.0037)];
        const xScale = f(0.02);
        const yScale = f(0.05);
        const yZp = c.xType === 'uint8' ? 120 : 3;
        const bias = c.bias ? randomInts(c.M, -2000, 2000, 15) : undefined;
        const wZpFull = Array.from({ length: c.M }, (_, m) => wZp[wZp.length === 1 ? 0 : m]!);
        const { acc, shape } = refConvAcc(c, x, xZp, w, wZpFull);
        const P = shape[2]! * shape[3]!;
        const [lo, hi] = range(c.xType);
        const expected = acc.map((a, i) => {
          const m = Math.floor(i / P) % c.M;
          const mult = f(f(xScale * wScale[wScale.length === 1 ? 0 : m]!) / yScale);
          return refRequantize(a + (bias ? bias[m]! : 0), mult, yZp, lo, hi);
        });
        const pShape = c.perChannel ? [c.M] : [];
        const inputs = [
          tensor(c.xType, [c.N, c.C, c.H, c.W], x),
          tensor('float32', [], [xScale]),
          tensor(c.xType, [], [xZp]),
          tensor(c.wType, [c.M, c.C / group, c.kh, c.kw], w),
          tensor('float32', pShape, wScale),
          tensor(c.wType, pShape, wZp),
          tensor('float32', [], [yScale]),
          tensor(c.xType, [], [yZp]),
          ...(bias ? [tensor('int32', [c.M], bias)] : []),
        ];
        const [y] = runKernel('QLinearConv', inputs, convAttrs(c), { constant: constW ? [3, 4, 5, 8] : [] });
        expect(y!.dtype).toBe(c.xType);
        expect(y!.shape).toEqual(shape);
        expect(values(y!)).toEqual(expected);
        // The case must exercise the range: not all outputs saturated.
        expect(new Set(expected).size).toBeGreaterThan(2);
      });
    }
  }

  it('agrees with the direct reference over 40 random shapes (odd sizes, groups, strides, dilations, pads)', () => {
    const r = rng(99);
    const pick = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
    for (let trial = 0; trial < 40; trial++) {
      const group = [1, 1, 2, 3][pick(0, 3)]!;
      const depthwise = r() < 0.25;
      const C = depthwise ? pick(1, 9) : group * pick(1, 4);
      const M = depthwise ? C : group * pick(1, 4);
      const c: ConvCase = {
        N: pick(1, 2), C, H: pick(1, 9), W: pick(1, 9), M, kh: pick(1, 3), kw: pick(1, 3),
        group: depthwise ? C : group,
        strides: [pick(1, 3), pick(1, 2)], dilations: [pick(1, 2), pick(1, 2)],
        pads: [pick(0, 2), pick(0, 2), pick(0, 2), pick(0, 2)],
        xType: r() < 0.5 ? 'uint8' : 'int8', wType: r() < 0.5 ? 'uint8' : 'int8', perChannel: r() < 0.5,
      };
      const spanH = (c.kh - 1) * c.dilations![0] + 1;
      const spanW = (c.kw - 1) * c.dilations![1] + 1;
      if (c.H + c.pads![0] + c.pads![2] < spanH || c.W + c.pads![1] + c.pads![3] < spanW) continue;
      const Cg = c.C / c.group!;
      const [xlo, xhi] = range(c.xType);
      const [wlo, whi] = range(c.wType);
      const x = randomInts(c.N * c.C * c.H * c.W, xlo, xhi, 1000 + trial);
      const w = randomInts(c.M * Cg * c.kh * c.kw, wlo, whi, 2000 + trial);
      const xZp = pick(xlo, xhi);
      const wZp = randomInts(c.perChannel ? c.M : 1, wlo, whi, 3000 + trial);
      const wZpFull = Array.from({ length: c.M }, (_, m) => wZp[c.perChannel ? m : 0]!);
      const { acc, shape } = refConvAcc(c, x, xZp, w, wZpFull);
      // ConvInteger exposes the int32 accumulators that QLinearConv requantizes, so they are compared exactly.
      const [y] = runKernel(
        'ConvInteger',
        [tensor(c.xType, [c.N, c.C, c.H, c.W], x), tensor(c.wType, [c.M, Cg, c.kh, c.kw], w), tensor(c.xType, [], [xZp]), tensor(c.wType, c.perChannel ? [c.M] : [], wZp)],
        convAttrs(c),
        { constant: trial % 2 === 0 ? [1] : [] },
      );
      expect(y!.shape, JSON.stringify(c)).toEqual(shape);
      expect(values(y!), JSON.stringify(c)).toEqual(acc);
    }
  });

  it('rejects a group that does not divide the channels', () => {
    const x = tensor('uint8', [1, 3, 2, 2], new Array(12).fill(0));
    const w = tensor('int8', [2, 1, 1, 1], [1, 1]);
    const s = tensor('float32', [], [1]);
    expect(() =>
      runKernel('QLinearConv', [x, s, tensor('uint8', [], [0]), w, s, tensor('int8', [], [0]), s, tensor('uint8', [], [0])], { group: 2 }),
    ).toThrow(/group/);
  });
});

describe('ConvInteger', () => {
  it('equals the direct int32 convolution with zero points and padding', () => {
    const c: ConvCase = { N: 2, C: 4, H: 6, W: 5, M: 4, kh: 3, kw: 3, group: 2, pads: [1, 1, 1, 1], strides: [1, 2], xType: 'uint8', wType: 'uint8', perChannel: true };
    const x = randomInts(2 * 4 * 6 * 5, 0, 255, 21);
    const w = randomInts(4 * 2 * 9, 0, 255, 22);
    const wZp = [3, 200, 17, 128];
    const { acc, shape } = refConvAcc(c, x, 77, w, wZp);
    const [y] = runKernel(
      'ConvInteger',
      [tensor('uint8', [2, 4, 6, 5], x), tensor('uint8', [4, 2, 3, 3], w), tensor('uint8', [], [77]), tensor('uint8', [4], wZp)],
      convAttrs(c),
      { constant: [1] },
    );
    expect(y!.dtype).toBe('int32');
    expect(y!.shape).toEqual(shape);
    expect(values(y!)).toEqual(acc);
  });

  it('1-D convolution with pads', () => {
    // x = 1..5 padded by one zero each side, kernel of ones: window sums
    const [y] = runKernel('ConvInteger', [tensor('uint8', [1, 1, 5], [1, 2, 3, 4, 5]), tensor('uint8', [1, 1, 3], [1, 1, 1])], { pads: [1, 1] });
    expect(y!.shape).toEqual([1, 1, 5]);
    expect(values(y!)).toEqual([3, 6, 9, 12, 9]);
  });

  it('omitted zero points mean 0', () => {
    // x 1x1x3x3 = 1..9, w 1x1x2x2 of ones -> sums of 2x2 windows
    const [y] = runKernel('ConvInteger', [tensor('uint8', [1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]), tensor('uint8', [1, 1, 2, 2], [1, 1, 1, 1])]);
    expect(values(y!)).toEqual([12, 16, 24, 28]);
  });
});

/** Naive batched matmul on zero-point-shifted values; a [..., M, K] and b [..., K, N] already broadcast per batch. */
function refMatMul(a: number[], b: number[], batches: [number, number][], M: number, K: number, N: number, za: (t: number, i: number) => number, zb: (t: number, j: number) => number) {
  const out: number[] = [];
  batches.forEach(([ab, bb], t) => {
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += (a[(ab * M + i) * K + k]! - za(t, i)) * (b[(bb * K + k) * N + j]! - zb(t, j));
        out.push(s);
      }
  });
  return out;
}

describe('MatMulInteger', () => {
  it('2-D with per-row a zero points and per-column b zero points', () => {
    const [M, K, N] = [3, 7, 5];
    const a = randomInts(M * K, 0, 255, 31);
    const b = randomInts(K * N, -128, 127, 32);
    const za = [10, 128, 250];
    const zb = [-3, 0, 5, 127, -128];
    const [y] = runKernel('MatMulInteger', [tensor('uint8', [M, K], a), tensor('int8', [K, N], b), tensor('uint8', [M], za), tensor('int8', [N], zb)], {}, { constant: [1] });
    expect(y!.shape).toEqual([M, N]);
    expect(values(y!)).toEqual(refMatMul(a, b, [[0, 0]], M, K, N, (_, i) => za[i]!, (_, j) => zb[j]!));
  });

  it('broadcasts batch dims: [2, 1, M, K] x [3, K, N] -> [2, 3, M, N]', () => {
    const [M, K, N] = [2, 5, 3];
    const a = randomInts(2 * M * K, 0, 255, 33);
    const b = randomInts(3 * K * N, 0, 255, 34);
    const [y] = runKernel('MatMulInteger', [tensor('uint8', [2, 1, M, K], a), tensor('uint8', [3, K, N], b), tensor('uint8', [], [12]), tensor('uint8', [], [200])]);
    const batches: [number, number][] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) batches.push([i, j]);
    expect(y!.shape).toEqual([2, 3, M, N]);
    expect(values(y!)).toEqual(refMatMul(a, b, batches, M, K, N, () => 12, () => 200));
  });

  it('1-D a is a row vector that is dropped from the output shape', () => {
    const [y] = runKernel('MatMulInteger', [tensor('uint8', [3], [1, 2, 3]), tensor('uint8', [3, 2], [1, 2, 3, 4, 5, 6])]);
    expect(y!.shape).toEqual([2]);
    expect(values(y!)).toEqual([22, 28]);
  });
});

describe('QLinearMatMul', () => {
  for (const constB of [true, false]) {
    it(`per-tensor a, per-column b scales and zero points, batched${constB ? ' (constant b)' : ''}`, () => {
      const [M, K, N] = [4, 9, 6];
      const a = randomInts(2 * M * K, 0, 255, 41);
      const b = randomInts(K * N, -128, 127, 42);
      const r = rng(43);
      const bScale = Array.from({ length: N }, () => f(0.002 + 0.01 * r()));
      const bZp = randomInts(N, -5, 5, 44);
      const [aScale, aZp, yScale, yZp] = [f(0.03), 117, f(0.07), 125];
      const acc = refMatMul(a, b, [[0, 0], [1, 0]], M, K, N, () => aZp, (_, j) => bZp[j]!);
      const expected = acc.map((v, idx) => refRequantize(v, f(f(aScale * bScale[idx % N]!) / yScale), yZp, 0, 255));
      const [y] = runKernel(
        'QLinearMatMul',
        [
          tensor('uint8', [2, M, K], a), tensor('float32', [], [aScale]), tensor('uint8', [], [aZp]),
          tensor('int8', [K, N], b), tensor('float32', [N], bScale), tensor('int8', [N], bZp),
          tensor('float32', [], [yScale]), tensor('uint8', [], [yZp]),
        ],
        {},
        { constant: constB ? [3, 4, 5] : [] },
      );
      expect(y!.shape).toEqual([2, M, N]);
      expect(values(y!)).toEqual(expected);
      expect(new Set(expected).size).toBeGreaterThan(5);
    });
  }

  it('per-row a scale ([M, 1]) and int8 output saturation', () => {
    const [M, K, N] = [2, 3, 2];
    const a = [10, 20, 30, -40, -50, -60];
    const b = [1, 2, 3, 4, 5, 6];
    const aScale = [1, 0.5];
    const [y] = runKernel(
      'QLinearMatMul',
      [
        tensor('int8', [M, K], a), tensor('float32', [M, 1], aScale), tensor('int8', [M, 1], [0, 0]),
        tensor('int8', [K, N], b), tensor('float32', [], [1]), tensor('int8', [], [0]),
        tensor('float32', [], [2]), tensor('int8', [], [0]),
      ],
    );
    // row 0: [220, 280] * 1/2 = [110, 140->127]; row 1: [-490, -640] * 0.5/2 = [-122.5 -> -122, -160 -> -128]
    expect(values(y!)).toEqual([110, 127, -122, -128]);
  });
});
