/**
 * Every dynamic-int8 / QDQ variant on wasm against its JS reference, bit for bit (rtol = atol = 0), over odd
 * shapes: M = 1, K not a multiple of 16 (and odd), N under 8, 13 channels, 7×5 images, batch 2, per-row /
 * per-column / per-channel zero points. The integer outputs are exact; the float ones follow the same float32
 * steps, so they are equal too.
 */
import type { DType, TensorData } from '../src/dtype.js';
import { ModelBuilder } from './onnx-builder.js';
import { checkVariants, type VariantCase } from './variant-tester.js';

import { rng } from './harness.js';

function ints(dtype: 'uint8' | 'int8', shape: number[], seed: number): TensorData {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'uint8' ? new Uint8Array(n) : new Int8Array(n);
  for (let i = 0; i < n; i++) data[i] = dtype === 'uint8' ? Math.floor(r() * 256) : Math.floor(r() * 256) - 128;
  return { dtype, shape, data };
}

function floats(shape: number[], seed: number, scale = 1, offset = 0): TensorData {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() * 2 - 1) * scale + offset;
  return { dtype: 'float32', shape, data };
}

const EXACT = { rtol: 0, atol: 0 };

// ---- DynamicQuantizeLinear ----
function dqlCase(name: string, shape: number[], seed: number, scale = 1, offset = 0): VariantCase {
  const m = new ModelBuilder();
  m.input('x', 'float32', shape);
  m.node('DynamicQuantizeLinear', ['x'], {}, { outputs: ['y', 'ys', 'yz'] });
  m.output('y');
  m.output('ys');
  m.output('yz');
  return { name, model: m, feeds: { x: floats(shape, seed, scale, offset) }, ...EXACT };
}

checkVariants('DynamicQuantizeLinear', [
  dqlCase('1 element', [1], 1),
  dqlCase('13 elements (tail of 1)', [13], 2),
  dqlCase('[2, 7, 5] mixed signs', [2, 7, 5], 3, 3),
  dqlCase('all positive (zero point 0)', [4, 33], 4, 1, 2),
  dqlCase('all negative (zero point 255)', [3, 11], 5, 1, -2),
  dqlCase('[128, 64] wide range', [128, 64], 6, 100),
  (() => {
    const c = dqlCase('all zero (scale 1)', [9], 7);
    c.feeds.x = { dtype: 'float32', shape: [9], data: new Float32Array(9) };
    return c;
  })(),
  (() => {
    // Ties: x / scale lands on k + 0.5 (range 255 → scale 1, values at halves) round to even.
    const c = dqlCase('ties round half to even', [12], 8);
    c.feeds.x = { dtype: 'float32', shape: [12], data: Float32Array.from([0, 255, 0.5, 1.5, 2.5, 3.5, 100.5, 101.5, 254.5, 7.5, 8.5, 9]) };
    return c;
  })(),
]);

// ---- MatMulInteger ----
interface MmiSpec {
  a: number[];
  K: number;
  N: number;
  aType?: 'uint8' | 'int8';
  bType?: 'uint8' | 'int8';
  aZp?: 'none' | 'tensor' | 'row';
  bZp?: 'none' | 'tensor' | 'col';
  expect?: string;
}

function mmiCase(name: string, s: MmiSpec, seed: number): VariantCase {
  const aType = s.aType ?? 'uint8';
  const bType = s.bType ?? 'int8';
  const m = new ModelBuilder();
  const aShape = [...s.a, s.K];
  m.input('a', aType, aShape);
  m.initializer('b', ints(bType, [s.K, s.N], seed + 1));
  const inputs = ['a', 'b'];
  const feeds: Record<string, TensorData> = { a: ints(aType, aShape, seed) };
  const M = s.a[s.a.length - 1] ?? 1;
  const aZp = s.aZp ?? 'tensor';
  if (aZp === 'none') inputs.push('');
  else {
    m.input('azp', aType, aZp === 'row' ? [M] : []);
    inputs.push('azp');
    feeds.azp = ints(aType, aZp === 'row' ? [M] : [], seed + 2);
  }
  const bZp = s.bZp ?? 'none';
  if (bZp !== 'none') {
    m.initializer('bzp', ints(bType, bZp === 'col' ? [s.N] : [], seed + 3));
    inputs.push('bzp');
  }
  m.node('MatMulInteger', inputs, {}, { outputs: ['y'] });
  m.output('y');
  return { name, model: m, feeds, expectVariant: s.expect ?? '_matmulinteger__wasmsimd', ...EXACT };
}

checkVariants('MatMulInteger', [
  mmiCase('u8 x i8, M=1, K=13, N=8', { a: [1], K: 13, N: 8 }, 10),
  mmiCase('u8 x i8, 7x5 by 5x9', { a: [7], K: 5, N: 9 }, 11),
  mmiCase('u8 x u8, K=1, N=1', { a: [3], K: 1, N: 1, bType: 'uint8' }, 12),
  mmiCase('u8 x i8, N=3 (padded to 8)', { a: [5], K: 17, N: 3 }, 13),
  mmiCase('u8 x u8, batch 2, per-row a zero point', { a: [2, 6], K: 31, N: 13, bType: 'uint8', aZp: 'row' }, 14),
  mmiCase('u8 x i8, per-column b zero point, K=100', { a: [2, 3, 4], K: 100, N: 24, bZp: 'col' }, 15),
  mmiCase('u8 x u8, per-tensor both, no a zp', { a: [9], K: 64, N: 40, bType: 'uint8', aZp: 'none', bZp: 'tensor' }, 16),
  mmiCase('i8 x i8, M=1, K=7, N=16', { a: [1], K: 7, N: 16, aType: 'int8' }, 17),
  mmiCase('u8 x i8, 33x129 by 129x65 extremes', { a: [33], K: 129, N: 65, bZp: 'col' }, 18),
]);

// ---- ConvInteger ----
interface ConvSpec {
  x: number[];
  w: number[];
  attrs?: Record<string, number[] | number>;
  wType?: 'uint8' | 'int8';
  xZp?: boolean;
  wZp?: 'none' | 'tensor' | 'channel';
  expect?: string;
}

function convCase(name: string, s: ConvSpec, seed: number): VariantCase {
  const wType = s.wType ?? 'uint8';
  const m = new ModelBuilder();
  m.input('x', 'uint8', s.x);
  m.initializer('w', ints(wType, s.w, seed + 1));
  const feeds: Record<string, TensorData> = { x: ints('uint8', s.x, seed) };
  const inputs = ['x', 'w'];
  if (s.xZp ?? true) {
    m.input('xzp', 'uint8', []);
    feeds.xzp = ints('uint8', [], seed + 2);
    inputs.push('xzp');
  } else inputs.push('');
  const wZp = s.wZp ?? 'tensor';
  if (wZp !== 'none') {
    m.initializer('wzp', ints(wType, wZp === 'channel' ? [s.w[0]!] : [], seed + 3));
    inputs.push('wzp');
  }
  m.node('ConvInteger', inputs, s.attrs ?? {}, { outputs: ['y'] });
  m.output('y');
  return { name, model: m, feeds, expectVariant: s.expect ?? '_convinteger__wasmsimd', ...EXACT };
}

checkVariants('ConvInteger', [
  convCase('13 ch 7x5, 3x3 pads 1, u8 x u8', { x: [1, 13, 7, 5], w: [6, 13, 3, 3], attrs: { pads: [1, 1, 1, 1] } }, 20),
  convCase('batch 2, 1x1 pointwise, u8 x i8, per-channel zero point', { x: [2, 13, 4, 4], w: [9, 13, 1, 1], wType: 'int8', wZp: 'channel' }, 21),
  convCase('stride 2, asymmetric pads, 16x12', { x: [1, 3, 16, 12], w: [8, 3, 3, 3], attrs: { strides: [2, 2], pads: [0, 1, 1, 0] } }, 22),
  convCase('group 2, 5x5, no x zero point', { x: [1, 4, 9, 9], w: [6, 2, 5, 5], attrs: { group: 2, pads: [2, 2, 2, 2] }, xZp: false }, 23),
  convCase('depthwise 13 ch 3x3 s1, per-channel zero point', { x: [2, 13, 10, 10], w: [13, 1, 3, 3], attrs: { group: 13, pads: [1, 1, 1, 1] }, wZp: 'channel' }, 24),
  convCase('depthwise 3x3 s2, int8 weights', { x: [1, 8, 17, 17], w: [8, 1, 3, 3], wType: 'int8', attrs: { group: 8, strides: [2, 2], pads: [1, 1, 1, 1] } }, 25),
  convCase('1-D convolution, K=3 x 13 ch', { x: [2, 13, 20], w: [7, 13, 3] }, 26),
  convCase('dilation 2, no w zero point', { x: [1, 5, 12, 12], w: [4, 5, 3, 3], attrs: { dilations: [2, 2] }, wZp: 'none' }, 27),
  // Under 8 output positions: the GEMV.
  convCase('1x1 image 1x1 kernel (P = 1), 13 ch', { x: [1, 13, 1, 1], w: [5, 13, 1, 1], expect: '_convinteger_gemv__wasmsimd' }, 28),
  convCase('1x1 image, batch 2, int8 weights, per-channel zero point', { x: [2, 24, 1, 1], w: [13, 24, 1, 1], wType: 'int8', wZp: 'channel', expect: '_convinteger_gemv__wasmsimd' }, 29),
  convCase('3x3 pads 1 on 2x2 (P = 4), no x zero point', { x: [1, 7, 2, 2], w: [6, 7, 3, 3], attrs: { pads: [1, 1, 1, 1] }, xZp: false, expect: '_convinteger_gemv__wasmsimd' }, 30),
]);

// ---- QuantizeLinear / DequantizeLinear (QDQ) ----
interface QdqSpec {
  shape: number[];
  type: 'uint8' | 'int8';
  /** Per-axis along this axis; undefined: per tensor. */
  axis?: number;
  zp?: boolean;
  /** Scale and zero point fed at run time instead of initializers. */
  runtimeParams?: boolean;
}

function qdqCase(op: 'QuantizeLinear' | 'DequantizeLinear', name: string, s: QdqSpec, seed: number): VariantCase {
  const m = new ModelBuilder({ opset: 13 });
  const feeds: Record<string, TensorData> = {};
  const D = s.axis === undefined ? [] : [s.shape[s.axis < 0 ? s.axis + s.shape.length : s.axis]!];
  const scale = floats(D, seed + 1, 0.02, 0.03);
  const zp = ints(s.type, D, seed + 2);
  if (op === 'QuantizeLinear') {
    m.input('x', 'float32', s.shape);
    feeds.x = floats(s.shape, seed, 5);
  } else {
    m.input('x', s.type, s.shape);
    feeds.x = ints(s.type, s.shape, seed);
  }
  const param = (n: string, t: TensorData) => {
    if (s.runtimeParams) {
      m.input(n, t.dtype as DType, t.shape);
      feeds[n] = t;
    } else m.initializer(n, t);
    return n;
  };
  const inputs = ['x', param('scale', scale)];
  if (s.zp ?? true) inputs.push(param('zp', zp));
  else if (op === 'QuantizeLinear' && s.type === 'int8') {
    // Without a zero point QuantizeLinear outputs uint8; an int8 case needs it.
    inputs.push(param('zp', { dtype: 'int8', shape: D, data: new Int8Array(zp.data.length) }));
  }
  m.node(op, inputs, s.axis === undefined ? {} : { axis: s.axis }, { outputs: ['y'] });
  m.output('y');
  return { name, model: m, feeds, expectVariant: op === 'QuantizeLinear' ? '_quantizelinear_' : '_dequantizelinear_f32__wasmsimd', ...EXACT };
}

const QDQ_SPECS: [string, QdqSpec][] = [
  ['u8 per tensor, 13 elements', { shape: [13], type: 'uint8' }],
  ['i8 per tensor, [2, 7, 5]', { shape: [2, 7, 5], type: 'int8' }],
  ['u8 per tensor, no zero point, 1 element', { shape: [1], type: 'uint8', zp: false }],
  ['u8 per axis 1, 13 channels 7x5, batch 2', { shape: [2, 13, 7, 5], type: 'uint8', axis: 1 }],
  ['i8 per axis 0 (weights), [6, 3, 3, 3]', { shape: [6, 3, 3, 3], type: 'int8', axis: 0 }],
  ['i8 per last axis (inner 1), [5, 9]', { shape: [5, 9], type: 'int8', axis: -1 }],
  ['u8 per tensor, scale and zero point fed at run', { shape: [3, 33], type: 'uint8', runtimeParams: true }],
  ['i8 per axis 1, fed at run, [1, 4, 1, 1]', { shape: [1, 4, 1, 1], type: 'int8', axis: 1, runtimeParams: true }],
];

checkVariants('QuantizeLinear', QDQ_SPECS.map(([name, s], i) => {
  const c = qdqCase('QuantizeLinear', name, s, 40 + i);
  c.expectVariant = `f32_quantizelinear_${s.type === 'int8' ? 'i8' : 'u8'}__wasmsimd`;
  return c;
}));
checkVariants('DequantizeLinear', QDQ_SPECS.map(([name, s], i) => qdqCase('DequantizeLinear', name, s, 60 + i)));

checkVariants('QuantizeLinear', [
  (() => {
    // scale 0.5: x / scale lands on halves (ties to even), huge values saturate, NaN becomes 0.
    const m = new ModelBuilder({ opset: 13 });
    m.input('x', 'float32', [14]);
    m.initializer('scale', { dtype: 'float32', shape: [], data: Float32Array.of(0.5) });
    m.initializer('zp', { dtype: 'int8', shape: [], data: Int8Array.of(3) });
    m.node('QuantizeLinear', ['x', 'scale', 'zp'], {}, { outputs: ['y'] });
    m.output('y');
    const x = Float32Array.of(0.25, 0.75, 1.25, -0.25, -0.75, -1.25, 1e30, -1e30, NaN, 63.25, -65.25, 62.75, 2 ** 22, -(2 ** 23));
    return { name: 'ties, saturation and NaN (i8)', model: m, feeds: { x: { dtype: 'float32', shape: [14], data: x } }, expectVariant: 'f32_quantizelinear_i8__wasmsimd', ...EXACT } as VariantCase;
  })(),
]);
