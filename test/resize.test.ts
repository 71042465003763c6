import { describe, expect, it } from 'vitest';
import { sizeOf, type TensorData } from '../src/dtype.js';
import { GraphError, UnsupportedError } from '../src/errors.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { F, Fs, expectClose, randomTensor, runKernel, tensor } from './harness.js';
import { ModelBuilder } from './onnx-builder.js';

/**
 * Independent reference of the ONNX Resize formula: each output element is computed directly
 * (not separably) by recursing over the axes; on each axis the input coordinate comes from the
 * coordinate transformation, then the n nearest neighbours (ties to the lower index, edges clamped)
 * are weighted by the mode's coefficients.
 */
interface RefOpts {
  mode: 'nearest' | 'linear' | 'cubic';
  coord: string;
  nearest?: string;
  A?: number;
  excludeOutside?: boolean;
  extrapolation?: number;
  roi?: number[];
  antialias?: boolean;
}

function coordOf(o: RefOpts, j: number, scale: number, inLen: number, outLen: number, axis: number, rank: number): number {
  switch (o.coord) {
    case 'half_pixel':
      return (j + 0.5) / scale - 0.5;
    case 'half_pixel_symmetric': {
      const adj = outLen / (scale * inLen);
      return (inLen / 2) * (1 - adj) + (j + 0.5) / scale - 0.5;
    }
    case 'pytorch_half_pixel':
      return outLen > 1 ? (j + 0.5) / scale - 0.5 : 0;
    case 'align_corners': {
      // The ONNX reference divides by the real-valued resized length scale·in, not the floored one.
      const len = scale * inLen;
      return len === 1 ? 0 : (j * (inLen - 1)) / (len - 1);
    }
    case 'asymmetric':
      return j / scale;
    case 'tf_crop_and_resize': {
      const s = o.roi![axis]!;
      const e = o.roi![rank + axis]!;
      return outLen > 1 ? s * (inLen - 1) + (j * (e - s) * (inLen - 1)) / (outLen - 1) : 0.5 * (s + e) * (inLen - 1);
    }
  }
  throw new Error(o.coord);
}

function coeffs(o: RefOpts, ratio: number): number[] {
  if (o.mode === 'linear') return [1 - ratio, ratio];
  if (o.mode === 'nearest') {
    if (ratio === 0) return [1, 0];
    const m = o.nearest ?? 'round_prefer_floor';
    if (m === 'floor') return [1, 0];
    if (m === 'ceil') return [0, 1];
    if (m === 'round_prefer_ceil') return ratio >= 0.5 ? [0, 1] : [1, 0];
    return ratio > 0.5 ? [0, 1] : [1, 0];
  }
  // Cubic convolution written out per tap distance (1+r, r, 1-r, 2-r).
  const A = o.A ?? -0.75;
  const far = (t: number): number => A * t * t * t - 5 * A * t * t + 8 * A * t - 4 * A;
  const near = (t: number): number => (A + 2) * t * t * t - (A + 3) * t * t + 1;
  return [far(1 + ratio), near(ratio), near(1 - ratio), far(2 - ratio)];
}

/** Antialiased downsampling: the interpolation kernel stretched by 1/scale, over every input index it reaches. */
function antialiased(o: RefOpts, values: number[], x: number, inLen: number, scale: number): number {
  const A = o.A ?? -0.75;
  const kernel = (d: number): number => {
    const t = Math.abs(d);
    if (o.mode === 'linear') return Math.max(0, 1 - t);
    if (t <= 1) return (A + 2) * t ** 3 - (A + 3) * t ** 2 + 1;
    return t < 2 ? A * t ** 3 - 5 * A * t ** 2 + 8 * A * t - 4 * A : 0;
  };
  let acc = 0;
  let wsum = 0;
  for (let k = Math.floor(x - 3 / scale); k <= Math.ceil(x + 3 / scale); k++) {
    const w = kernel((k - x) * scale);
    acc += w * values[Math.min(Math.max(k, 0), inLen - 1)]!;
    wsum += w;
  }
  return acc / wsum;
}

function interp1d(o: RefOpts, values: number[], x: number, inLen: number, scale: number): number {
  if (o.coord === 'tf_crop_and_resize' && (x < 0 || x > inLen - 1)) return o.extrapolation ?? 0;
  if (o.antialias && scale < 1) return antialiased(o, values, x, inLen, scale);
  const x0 = Math.floor(x);
  const c = coeffs(o, x - x0);
  const first = o.mode === 'cubic' ? x0 - 1 : x0;
  let ws = c.map((w, t) => (o.excludeOutside && (first + t < 0 || first + t >= inLen) ? 0 : w));
  if (o.excludeOutside) {
    const s = ws.reduce((a, b) => a + b, 0);
    ws = ws.map((w) => w / s);
  }
  let acc = 0;
  ws.forEach((w, t) => (acc += w * values[Math.min(Math.max(first + t, 0), inLen - 1)]!));
  return acc;
}

function refResize(x: TensorData, scales: number[], outShape: number[], o: RefOpts): TensorData {
  const rank = x.shape.length;
  const xs = Array.from(x.data as Float32Array);
  const inStrides = x.shape.map((_, d) => sizeOf(x.shape.slice(d + 1)));
  const at = (axis: number, base: number, outIdx: number[]): number => {
    if (axis === rank) return xs[base]!;
    const inLen = x.shape[axis]!;
    const rows = Array.from({ length: inLen }, (_, i) => at(axis + 1, base + i * inStrides[axis]!, outIdx));
    return interp1d(o, rows, coordOf(o, outIdx[axis]!, scales[axis]!, inLen, outShape[axis]!, axis, rank), inLen, scales[axis]!);
  };
  const out = new Float32Array(sizeOf(outShape));
  for (let i = 0; i < out.length; i++) {
    const idx: number[] = [];
    let r = i;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = r % outShape[d]!;
      r = Math.floor(r / outShape[d]!);
    }
    out[i] = at(0, 0, idx);
  }
  return { dtype: 'float32', shape: outShape, data: out };
}

const f32 = (v: number[]): TensorData => tensor('float32', [v.length], v);
const i64 = (v: number[]): TensorData => tensor('int64', [v.length], v);

describe('Resize against the reference formula', () => {
  const x = randomTensor([1, 2, 4, 5], 5);
  const modes: RefOpts[] = [
    { mode: 'nearest', coord: 'half_pixel' },
    { mode: 'nearest', coord: 'asymmetric', nearest: 'floor' },
    { mode: 'nearest', coord: 'align_corners', nearest: 'round_prefer_ceil' },
    { mode: 'nearest', coord: 'half_pixel', nearest: 'ceil' },
    { mode: 'linear', coord: 'half_pixel' },
    { mode: 'linear', coord: 'pytorch_half_pixel' },
    { mode: 'linear', coord: 'align_corners' },
    { mode: 'linear', coord: 'asymmetric' },
    { mode: 'cubic', coord: 'half_pixel' },
    { mode: 'cubic', coord: 'align_corners' },
    { mode: 'cubic', coord: 'half_pixel', A: -0.5, excludeOutside: true },
    { mode: 'cubic', coord: 'asymmetric' },
    { mode: 'linear', coord: 'half_pixel_symmetric' },
    { mode: 'nearest', coord: 'half_pixel_symmetric' },
    { mode: 'linear', coord: 'half_pixel', antialias: true },
    { mode: 'cubic', coord: 'pytorch_half_pixel', antialias: true },
  ];
  const scaleSets = [
    [1, 1, 2, 1.5],
    [1, 1, 0.5, 0.6],
    [1, 1, 1.7, 0.8],
  ];
  for (const o of modes) {
    for (const scales of scaleSets) {
      const label = `${o.mode} ${o.coord} ${o.nearest ?? ''}${o.excludeOutside ? ' exclude_outside A=' + o.A : ''}${o.antialias ? ' antialias' : ''} scales [${scales}]`;
      it(label, () => {
        const attrs: Record<string, string | number> = { mode: o.mode, coordinate_transformation_mode: o.coord };
        if (o.nearest) attrs.nearest_mode = o.nearest;
        if (o.A !== undefined) attrs.cubic_coeff_a = o.A; // -0.5 is non-integral, so encoded as FLOAT
        if (o.excludeOutside) attrs.exclude_outside = 1;
        if (o.antialias) attrs.antialias = 1;
        // half_pixel_symmetric and antialias are opset 19 / 18 features.
        const [y] = runKernel('Resize', [x, undefined, f32(scales)], attrs, { opset: 19, constant: [2] });
        const outShape = x.shape.map((d, i) => Math.floor(d * scales[i]!));
        expectClose(y!, refResize(x, scales, outShape, o), 1e-5, 1e-5);
      });
    }
  }

  it('opset 18 axes select which dims the scales apply to', () => {
    const [y] = runKernel('Resize', [x, undefined, f32([0.5, 1.7])], { mode: 'cubic', axes: [3, -2] }, { opset: 18, constant: [2] });
    const scales = [1, 1, 1.7, 0.5];
    expectClose(y!, refResize(x, scales, [1, 2, 6, 2], { mode: 'cubic', coord: 'half_pixel' }), 1e-5, 1e-5);
  });

  it('sizes input sets the output shape and scale = size / in', () => {
    const [y] = runKernel('Resize', [x, undefined, undefined, i64([1, 2, 7, 3])], { mode: 'linear' }, { opset: 13, constant: [3] });
    expect(y!.shape).toEqual([1, 2, 7, 3]);
    expectClose(y!, refResize(x, [1, 1, 7 / 4, 3 / 5], [1, 2, 7, 3], { mode: 'linear', coord: 'half_pixel' }), 1e-5, 1e-5);
  });

  it('tf_crop_and_resize samples the roi and fills outside with extrapolation_value', () => {
    const roi = [0, 0, 0.4, -0.2, 1, 1, 1.2, 0.7];
    const o: RefOpts = { mode: 'linear', coord: 'tf_crop_and_resize', roi, extrapolation: 10 };
    const [y] = runKernel(
      'Resize',
      [x, f32(roi), undefined, i64([1, 2, 3, 4])],
      { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: new F(10) },
      { opset: 13, constant: [1, 3] },
    );
    expectClose(y!, refResize(x, [1, 1, 3 / 4, 4 / 5], [1, 2, 3, 4], o), 1e-5, 1e-5);
    expect(Array.from(y!.data as Float32Array)).toContain(10);
  });
});

describe('Resize hand-checked values', () => {
  const x = tensor('float32', [1, 1, 2, 2], [1, 2, 3, 4]);
  it('nearest upsampling by 2 repeats each pixel', () => {
    const [y] = runKernel('Resize', [x, f32([]), f32([1, 1, 2, 2])], { mode: 'nearest' }, { opset: 11, constant: [1, 2] });
    expect(Array.from(y!.data as Float32Array)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });
  it('linear align_corners 2x2 -> 3x3 puts the mean in the middle', () => {
    const [y] = runKernel('Resize', [x, f32([]), f32([]), i64([1, 1, 3, 3])], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, { opset: 11, constant: [1, 2, 3] });
    expectClose(y!, tensor('float32', [1, 1, 3, 3], [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]));
  });
  it('opset 10 uses asymmetric coordinates', () => {
    const [y] = runKernel('Resize', [tensor('float32', [1, 2], [1, 3]), f32([1, 2])], { mode: 'linear' }, { opset: 10, constant: [1] });
    expectClose(y!, tensor('float32', [1, 4], [1, 2, 3, 3]));
  });
  it('nearest works on int64 data', () => {
    const [y] = runKernel('Resize', [tensor('int64', [1, 2], [5, 6]), f32([]), f32([1, 2])], { mode: 'nearest' }, { opset: 13, constant: [2] });
    expect(Array.from(y!.data as BigInt64Array)).toEqual([5n, 5n, 6n, 6n]);
  });
  it('opset 18 axes and keep_aspect_ratio_policy not_larger', () => {
    const img = randomTensor([1, 1, 4, 6], 9);
    const [y] = runKernel('Resize', [img, undefined, undefined, i64([2, 2])], { mode: 'linear', axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' }, { opset: 18, constant: [3] });
    // min(2/4, 2/6) = 1/3 -> [round(4/3), round(6/3)] = [1, 2]
    expect(y!.shape).toEqual([1, 1, 1, 2]);
    expectClose(y!, refResize(img, [1, 1, 1 / 3, 1 / 3], [1, 1, 1, 2], { mode: 'linear', coord: 'half_pixel' }), 1e-5, 1e-5);
  });
  it('antialias averages over the stretched triangle filter when downsampling', () => {
    const v = tensor('float32', [1, 4], [0, 4, 8, 12]);
    const [y] = runKernel('Resize', [v, undefined, f32([1, 0.5])], { mode: 'linear', antialias: 1 }, { opset: 18, constant: [2] });
    // x = 0.5 and 2.5; filter support |d|·0.5 < 1 gives taps at distances (-1.5,-0.5,0.5,1.5) with weights (1,3,3,1)/8,
    // edge-clamped: out0 = (0·1 + 0·3 + 4·3 + 8·1)/8 = 2.5, out1 = (4 + 8·3 + 12·3 + 12)/8 = 9.5
    expectClose(y!, tensor('float32', [1, 2], [2.5, 9.5]));
  });
  it('rejects both scales and sizes, and an unknown mode', () => {
    expect(() => runKernel('Resize', [x, f32([]), f32([1, 1, 2, 2]), i64([1, 1, 4, 4])], {}, { opset: 13, constant: [2, 3] })).toThrow(GraphError);
    expect(() => runKernel('Resize', [x, f32([]), f32([1, 1, 2, 2])], { mode: 'area' }, { opset: 13, constant: [2] })).toThrow(UnsupportedError);
  });
});

describe('Upsample', () => {
  it('opset 9 nearest with integer scales repeats', () => {
    const [y] = runKernel('Upsample', [tensor('float32', [1, 2], [1, 2]), f32([1, 3])], { mode: 'nearest' }, { opset: 9, constant: [1] });
    expect(Array.from(y!.data as Float32Array)).toEqual([1, 1, 1, 2, 2, 2]);
  });
  it('opset 7 reads scales from the attribute', () => {
    const [y] = runKernel('Upsample', [tensor('float32', [2, 1], [1, 2])], { mode: 'linear', scales: new Fs([2, 2]) }, { opset: 7 });
    expectClose(y!, tensor('float32', [4, 2], [1, 1, 1.5, 1.5, 2, 2, 2, 2]));
  });
});

/**
 * onnxruntime-node 1.30's outputs, recorded as float32 bits, so the bit-exact arithmetic stays checked where
 * onnxruntime-node is not installed (test/resize-ort-exact.test.ts compares against it live).
 * X [1, 1, 3, 4] = ((i·37) mod 23) / 7.3 − 1.3.
 */
describe('Resize bits recorded from onnxruntime', () => {
  const x = tensor('float32', [1, 1, 3, 4], Array.from({ length: 12 }, (_, i) => Math.fround(((i * 37) % 23) / 7.3 - 1.3)));
  const GOLDEN: [string, string, number[], number[], string][] = [
    ['linear', 'half_pixel', [1,1,1.7,2.5], [1,1,5,10],
      'bfa66666 bf8dda20 beaea41e 3eda2043 3e7de55e be7b172a bed8b92f 3eb00b39 3f8e33e9 3fa6c02d bf46b6f0 bf347555 bed6dde0 be09a228 bd928b7f bda9a626 bca3b575 3e87d177 3f0cef22 3f1f30bb 3cf242d8 bdacf31e bf0a604c bf7f2232 bf1026f3 3e2af826 3f19b94b 3e13dd83 be9f9512 bed9f602 3f55db1f 3f364b56 3e6030df be8c65cf beb362ba be933486 be4017cc 3cc0c0c0 3e7047fa 3e9329f8 3fb848f1 3fa8810d 3f52c2fb 3ea907b8 be26ed0d bf27fa65 bf559133 bd8977f2 3f333336 3f644bbf'],
    ['cubic', 'half_pixel', [1,1,1.7,2.5], [1,1,5,10],
      'bfd6de2a bf9ecb5d be34fbf8 3f33cc34 3f0075ce beeb0754 bf28da1a 3e60c484 3fa44472 3fdc573b bf78b2bf bf53b0d8 bf05d86a be4e9ff2 bd0ae3ca bd5a77c0 3d81e972 3e97310d 3f029bdb 3f1d1d68 3e0dab35 bdc85ad0 bf3fe643 bf96032e bf301080 3e9d8c48 3f46b859 3ea72d6f beb48b7f bf19f4ce 3f8f8746 3f550dd2 3e33a1fa bede6efc bf1a0fa6 beb4fb5c bdbfdf3d 3d2be074 3e05ca7a 3e3ce40a 3fd7c0bb 3fbab2a4 3f894751 3f021412 beac25d1 bf86a738 bf8a644c be643e67 3f504d55 3f9ed965'],
    ['linear', 'asymmetric', [1,1,2.5,1.7], [1,1,7,6],
      'bfa66666 be3000aa 3eccec7f bea663be 3d7d26f8 3f984f8b bf4086aa bebb04aa bdb7ad26 bd96abb8 3e28e803 3f0d3e56 be510218 bf0f047f bf14618a 3e361bc4 3e894324 bdb11340 3eb00b3b bec34503 bf296c0f 3dc3e35c 3e3e5c2f be2cb3b0 3f644bc0 3e2a8e86 beac2a69 bea3ea0e bda72c80 3e9c3d8c 3fb848f1 3f36e9c4 bc2f96b0 bf3c667a beb2c458 3f476a7a 3fb848f1 3f36e9c4 bc2f96b0 bf3c667a beb2c458 3f476a7a'],
    ['cubic', 'pytorch_half_pixel', [1,1,2.5,0.6], [1,1,7,2],
      'bf266eba bf441ed9 bf1f1d30 befb3f8d bf2bce38 3e727fa6 bf0909a8 3f402aa4 3cea3984 3ed164db 3f32daee beedccb7 3f9b627d bf912ddc'],
  ];
  for (const [mode, coord, scales, dims, bits] of GOLDEN) {
    for (const backend of ['js', 'wasm'] as const) {
      it(`${mode} ${coord} scales [${scales}] on ${backend}`, () => {
        const s = InferenceSession.createSync(resizeModel(mode, coord, scales), { backend });
        const y = s.runSync({ x: new Tensor('float32', x.data as Float32Array, x.shape) })[s.outputNames[0]!]!;
        expect([...y.dims]).toEqual(dims);
        const got = Array.from(new Uint32Array((y.data as Float32Array).slice().buffer), (v) => v.toString(16).padStart(8, '0')).join(' ');
        expect(got).toBe(bits);
      });
    }
  }

  function resizeModel(mode: string, coord: string, scales: number[]): Uint8Array {
    const b = new ModelBuilder({ opset: 19 });
    const input = b.input('x', 'float32', [1, 1, 3, 4]);
    const sc = b.initializer('scales', tensor('float32', [4], scales));
    b.output(b.node('Resize', [input, '', sc], { mode, coordinate_transformation_mode: coord })[0]!);
    return b.toBytes();
  }
});
