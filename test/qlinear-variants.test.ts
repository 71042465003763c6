/**
 * The 8-bit QLinear* variants on wasm against their JS reference, bit for bit (rtol = atol = 0), over odd shapes:
 * QLinearConv (the int8 GEMM, the GEMV under 8 output positions, depthwise), com.microsoft QLinearGlobalAveragePool
 * and QLinearAdd / QLinearMul, uint8 and int8, per-tensor and per-channel, 13 channels, 7×5 images, 1×1 images,
 * batch 2.
 */
import type { DType, TensorData } from '../src/dtype.js';
import { ints, floats } from './dynint8-models.js';
import { ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';
import { checkVariants, type VariantCase } from './variant-tester.js';

const EXACT = { rtol: 0, atol: 0 };

function scalar(dtype: DType, v: number): TensorData {
  const data = dtype === 'float32' ? Float32Array.of(v) : dtype === 'int8' ? Int8Array.of(v) : Uint8Array.of(v);
  return { dtype, shape: [], data };
}

// ---- QLinearConv ----
interface QConvSpec {
  x: number[];
  /** Output channels, kernel size; the weights are [M, C/group, k, k]. */
  M: number;
  k: number;
  xType?: 'uint8' | 'int8';
  wType?: 'uint8' | 'int8';
  perChannel?: boolean;
  bias?: boolean;
  attrs?: Record<string, number | number[]>;
  expect: string;
}

function qconvCase(name: string, s: QConvSpec, seed: number): VariantCase {
  const xType = s.xType ?? 'uint8';
  const wType = s.wType ?? 'int8';
  const group = (s.attrs?.group as number | undefined) ?? 1;
  const C = s.x[1]!;
  const m = new ModelBuilder({ opset: 13 });
  m.input('x', xType, s.x);
  const n = s.perChannel ? [s.M] : [];
  m.initializer('xs', scalar('float32', 0.05));
  m.initializer('xz', scalar(xType, xType === 'uint8' ? 131 : -4));
  m.initializer('w', ints(wType, [s.M, C / group, s.k, s.k], seed));
  m.initializer('ws', floats(n, seed + 1, 0.001, 0.004));
  const wz = ints(wType, n, seed + 2);
  // Realistic weight zero points (0 for int8 in practice; anything for uint8).
  if (wType === 'int8') for (let i = 0; i < wz.data.length; i++) (wz.data as Int8Array)[i] = Math.round(Number(wz.data[i]) / 32);
  m.initializer('wz', wz);
  m.initializer('ys', scalar('float32', 0.11));
  m.initializer('yz', scalar(xType, xType === 'uint8' ? 120 : 6));
  const inputs = ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'];
  if (s.bias) {
    const b = ints('int8', [s.M], seed + 3);
    m.initializer('b', { dtype: 'int32', shape: [s.M], data: Int32Array.from(b.data as Int8Array, (v) => v * 40) });
    inputs.push('b');
  }
  m.node('QLinearConv', inputs, s.attrs ?? {}, { outputs: ['y'] });
  m.output('y');
  return { name, model: m, feeds: { x: ints(xType, s.x, seed + 4) }, expectVariant: s.expect, ...EXACT };
}

const GEMV = '_qlinearconv_gemv__wasmsimd';
const GEMM = '_qlinearconv__wasmsimd';

checkVariants('QLinearConv', [
  qconvCase('1x1 on a 1x1 image (squeeze-excitation), 13 ch -> 24, u8 x i8 per-channel, bias, batch 2', { x: [2, 13, 1, 1], M: 24, k: 1, perChannel: true, bias: true, expect: `u8i8${GEMV}` }, 1),
  qconvCase('1x1 on a 1x1 image, 24 ch -> 13, i8 x i8 per-tensor, no bias', { x: [1, 24, 1, 1], M: 13, k: 1, xType: 'int8', expect: `i8i8${GEMV}` }, 2),
  qconvCase('1x1 on a 1x1 image, 7 -> 5, u8 x u8 per-channel, batch 2', { x: [2, 7, 1, 1], M: 5, k: 1, wType: 'uint8', perChannel: true, bias: true, expect: `u8u8${GEMV}` }, 3),
  qconvCase('3x3 pads 1 on 2x2 (4 outputs: im2col then GEMV), 13 ch', { x: [1, 13, 2, 2], M: 6, k: 3, bias: true, attrs: { pads: [1, 1, 1, 1] }, expect: `u8i8${GEMV}` }, 4),
  qconvCase('1x1 on 7x1 (7 outputs), group 2, i8 x i8 per-channel', { x: [1, 6, 7, 1], M: 10, k: 1, xType: 'int8', perChannel: true, bias: true, attrs: { group: 2 }, expect: `i8i8${GEMV}` }, 5),
  qconvCase('3x3 stride 2 on 5x3 (6 outputs), batch 2, u8 x u8', { x: [2, 5, 5, 3], M: 9, k: 3, wType: 'uint8', attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, expect: `u8u8${GEMV}` }, 6),
  qconvCase('13 ch 7x5 3x3 pads 1, u8 x i8 per-channel', { x: [1, 13, 7, 5], M: 6, k: 3, perChannel: true, bias: true, attrs: { pads: [1, 1, 1, 1] }, expect: `u8i8${GEMM}` }, 7),
  qconvCase('1x1 on 7x5, batch 2, i8 x i8 per-tensor', { x: [2, 13, 7, 5], M: 9, k: 1, xType: 'int8', bias: true, expect: `i8i8${GEMM}` }, 8),
  qconvCase('depthwise 3x3 13 ch on 7x5, per-channel', { x: [2, 13, 7, 5], M: 13, k: 3, perChannel: true, bias: true, attrs: { group: 13, pads: [1, 1, 1, 1] }, expect: `u8i8${GEMM}` }, 9),
]);

// ---- QLinearGlobalAveragePool ----
interface GapSpec {
  x: number[];
  type?: 'uint8' | 'int8';
  xScale?: number;
  yScale?: number;
  channelsLast?: boolean;
  /** Scales and zero points fed at run time instead of initializers. */
  runtimeParams?: boolean;
  expect?: string;
}

function gapCase(name: string, s: GapSpec, seed: number): VariantCase {
  const type = s.type ?? 'uint8';
  const m = new ModelBuilder({ opset: { '': 13, 'com.microsoft': 1 } });
  m.input('x', type, s.x);
  const feeds: Record<string, TensorData> = { x: ints(type, s.x, seed) };
  const param = (n: string, t: TensorData) => {
    if (s.runtimeParams) {
      m.input(n, t.dtype as DType, []);
      feeds[n] = t;
    } else m.initializer(n, t);
    return n;
  };
  const inputs = [
    'x', param('xs', scalar('float32', s.xScale ?? 0.05)), param('xz', scalar(type, type === 'uint8' ? 133 : -3)),
    param('ys', scalar('float32', s.yScale ?? 0.03)), param('yz', scalar(type, type === 'uint8' ? 117 : 4)),
  ];
  m.node('QLinearGlobalAveragePool', inputs, { channels_last: s.channelsLast ? 1 : 0 }, { outputs: ['y'], domain: 'com.microsoft' });
  m.output('y');
  const dtype = type === 'int8' ? 'i8' : 'u8';
  return { name, model: m, feeds, expectVariant: s.expect ?? `${dtype}_qlinearglobalaveragepool_nchw__wasmsimd`, ...EXACT };
}

checkVariants('QLinearGlobalAveragePool', [
  gapCase('u8 13 ch 7x5, batch 2', { x: [2, 13, 7, 5] }, 1),
  gapCase('i8 13 ch 7x5, batch 2', { x: [2, 13, 7, 5], type: 'int8' }, 2),
  gapCase('u8 1x1 image (one element per plane)', { x: [1, 13, 1, 1] }, 3),
  gapCase('i8 7x7 (49: three 16-byte steps and a tail)', { x: [1, 5, 7, 7], type: 'int8' }, 4),
  gapCase('u8 16x16 (whole 16-byte steps), 3 channels', { x: [1, 3, 16, 16] }, 5),
  gapCase('i8 3-D spatial 3x4x2 (a 16 and an 8-byte step)', { x: [2, 7, 3, 4, 2], type: 'int8' }, 6),
  gapCase('u8 1-D, 11 elements (an 8-byte step and 3)', { x: [1, 4, 11] }, 7),
  // scale = 1 / (1·2): every odd sum is a tie (round half to even); large y_scale ratio: saturation both ways.
  gapCase('u8 ties: scale exactly 0.5', { x: [1, 9, 1, 2], xScale: 1, yScale: 1 }, 8),
  gapCase('i8 saturating (x_scale / y_scale = 40)', { x: [1, 6, 3, 3], type: 'int8', xScale: 0.4, yScale: 0.01 }, 9),
  gapCase('u8 scales and zero points fed at run', { x: [2, 13, 7, 5], runtimeParams: true }, 10),
  gapCase('u8 channels_last (reference)', { x: [1, 7, 5, 13], channelsLast: true, expect: 'u8_qlinearglobalaveragepool__ref' }, 11),
]);

// ---- QLinearAdd / QLinearMul ----
function binaryCase(
  op: 'QLinearAdd' | 'QLinearMul', name: string, a: number[], b: number[], type: 'uint8' | 'int8', seed: number, expect: string, force?: string,
): VariantCase {
  const m = new ModelBuilder({ opset: { '': 13, 'com.microsoft': 1 } });
  m.input('a', type, a);
  m.input('b', type, b);
  const z = (v: number) => scalar(type, type === 'uint8' ? v + 128 : v);
  m.initializer('as', scalar('float32', 0.04));
  m.initializer('az', z(3));
  m.initializer('bs', scalar('float32', 0.07));
  m.initializer('bz', z(-5));
  m.initializer('cs', scalar('float32', op === 'QLinearMul' ? 0.5 : 0.09));
  m.initializer('cz', z(1));
  m.node(op, ['a', 'as', 'az', 'b', 'bs', 'bz', 'cs', 'cz'], {}, { outputs: ['c'], domain: 'com.microsoft' });
  m.output('c');
  const feeds = { a: ints(type, a, seed), b: ints(type, b, seed + 1) };
  return { name, model: m, feeds, expectVariant: expect, noJsFallback: true, ...(force !== undefined ? { variants: { [op]: force } } : {}), ...EXACT };
}

for (const op of ['QLinearAdd', 'QLinearMul'] as const) {
  const v = op.toLowerCase();
  checkVariants(op, [
    binaryCase(op, 'u8 equal shapes 13 ch 7x5, batch 2 (910: a tail of 2)', [2, 13, 7, 5], [2, 13, 7, 5], 'uint8', 1, `u8_${v}__wasmsimd`),
    binaryCase(op, 'i8 equal shapes [13, 7, 5]', [13, 7, 5], [13, 7, 5], 'int8', 2, `i8_${v}__wasmsimd`),
    binaryCase(op, 'u8 one element', [1, 1, 1, 1], [1, 1, 1, 1], 'uint8', 3, `u8_${v}__wasmsimd`),
    binaryCase(op, 'u8 per-channel broadcast [2, 13, 7, 5] by [1, 13, 1, 1] (planes of 35: a tail of 3)', [2, 13, 7, 5], [1, 13, 1, 1], 'uint8', 4, `u8_${v}_planes__wasmsimd`),
    binaryCase(op, 'i8 per-channel broadcast, the small operand first: [13, 1, 1] by [2, 13, 4, 2]', [13, 1, 1], [2, 13, 4, 2], 'int8', 5, `i8_${v}_planes__wasmsimd`),
    binaryCase(op, 'u8 one value for all: [3, 5] by [1]', [3, 5], [1], 'uint8', 6, `u8_${v}_planes__wasmsimd`),
    binaryCase(op, 'i8 per batch item [2, 1, 1] by [2, 3, 3] (planes of 9)', [2, 3, 3], [2, 1, 1], 'int8', 7, `i8_${v}_planes__wasmsimd`),
    binaryCase(op, 'u8 squeeze-excitation [1, 24, 7, 7] by [1, 24, 1, 1] (planes of 49)', [1, 24, 7, 7], [1, 24, 1, 1], 'uint8', 8, `u8_${v}_planes__wasmsimd`),
    binaryCase(op, 'i8 planes of 23 (16 + 4 + a tail of 3) [2, 3, 23] by [2, 3, 1]', [2, 3, 23], [2, 3, 1], 'int8', 11, `i8_${v}_planes__wasmsimd`),
    // A suffix of the output's dims: planes of one element, the small operand's element p mod 35; by default the
    // broadcast rows take it (26 rows of 35), planes of fewer than 4 elements being the planes kernel's slow path.
    binaryCase(op, 'u8 spatial broadcast [2, 13, 7, 5] by [1, 1, 7, 5] (rows of 35)', [2, 13, 7, 5], [1, 1, 7, 5], 'uint8', 9, `u8_${v}_bcast__wasmsimd`),
    // Planes of 1 or 2 whose rows would be shorter than 4 keep the planes kernel.
    binaryCase(op, 'u8 [2, 3] by [1, 3] (planes of 1, rows of 3)', [2, 3], [1, 3], 'uint8', 12, `u8_${v}_planes__wasmsimd`),
    binaryCase(op, 'i8 [3, 4, 2] by [3, 4, 1] (planes of 2, rows of 2)', [3, 4, 2], [3, 4, 1], 'int8', 13, `i8_${v}_planes__wasmsimd`),
    binaryCase(op, 'u8 both broadcast [2, 1, 5] by [1, 3, 1] (rows of 5, B one value per row)', [2, 1, 5], [1, 3, 1], 'uint8', 10, `u8_${v}_bcast__wasmsimd`),
  ]);
}

// The broadcasts the two above do not cover, as rows of the coalesced inner dim: both contiguous (qs8_v{add,mul} and
// a JS tail of inner mod 4) or one value per row (one plane of qs8_v{add,mul}_planes). Exact equality with the
// reference catches a wrong row offset; noJsFallback that the rows really ran on wasm.
for (const op of ['QLinearAdd', 'QLinearMul'] as const) {
  const v = op.toLowerCase();
  const bcast = (t: 'uint8' | 'int8') => `${t === 'int8' ? 'i8' : 'u8'}_${v}_bcast__wasmsimd`;
  const ref = (t: 'uint8' | 'int8') => `${t === 'int8' ? 'i8' : 'u8'}_${v}__ref`;
  checkVariants(op, [
    binaryCase(op, 'u8 both broadcast [1, 5, 7] by [3, 1, 7] (15 contiguous rows of 7: a tail of 3)', [1, 5, 7], [3, 1, 7], 'uint8', 21, bcast('uint8')),
    binaryCase(op, 'i8 both broadcast [1, 5, 7] by [3, 1, 7]', [1, 5, 7], [3, 1, 7], 'int8', 22, bcast('int8')),
    binaryCase(op, 'i8 [2, 3, 1, 1] by [1, 1, 5, 7] (6 rows of 35, A one value per row: 16 + 16 + 3)', [2, 3, 1, 1], [1, 1, 5, 7], 'int8', 23, bcast('int8')),
    binaryCase(op, 'u8 [2, 3, 1, 1] by [1, 1, 5, 7]', [2, 3, 1, 1], [1, 1, 5, 7], 'uint8', 24, bcast('uint8')),
    binaryCase(op, 'u8 [13] by [13, 1] (13 rows of 13, B one value per row)', [13], [13, 1], 'uint8', 25, bcast('uint8')),
    binaryCase(op, 'i8 [13, 1] by [13] (A one value per row)', [13, 1], [13], 'int8', 26, bcast('int8')),
    binaryCase(op, 'u8 [1, 1, 40] by [3, 2, 1] (outer dims merged: 6 rows of 40, B stepping by 1)', [1, 1, 40], [3, 2, 1], 'uint8', 27, bcast('uint8')),
    binaryCase(op, 'i8 A full [2, 3, 4] by [2, 1, 4] (6 rows of 4, no tail)', [2, 3, 4], [2, 1, 4], 'int8', 28, bcast('int8')),
    binaryCase(op, 'u8 A full [2, 3, 5, 7] by [2, 1, 5, 7] (rows of 35, B repeated over C)', [2, 3, 5, 7], [2, 1, 5, 7], 'uint8', 29, bcast('uint8')),
    binaryCase(op, 'i8 A full [2, 3, 5, 7] by [1, 3, 1, 7] (rows of 7)', [2, 3, 5, 7], [1, 3, 1, 7], 'int8', 30, bcast('int8')),
    binaryCase(op, 'u8 A full [2, 16, 9, 9] by [1, 16, 1, 9] (rows of 9)', [2, 16, 9, 9], [1, 16, 1, 9], 'uint8', 31, bcast('uint8')),
    binaryCase(op, 'u8 inner dim 1: [2, 1, 5, 1] by [1, 3, 1, 1] (rows of 5, B one value per row)', [2, 1, 5, 1], [1, 3, 1, 1], 'uint8', 32, bcast('uint8')),
    binaryCase(op, 'i8 1x1 images [4, 1, 1] by [1, 5, 1] (rows of 5)', [4, 1, 1], [1, 5, 1], 'int8', 33, bcast('int8')),
    // Rows under MIN_BROADCAST_ROW stay on the reference.
    binaryCase(op, 'u8 [3, 1] by [1, 3] (rows of 3: reference)', [3, 1], [1, 3], 'uint8', 34, ref('uint8')),
    binaryCase(op, 'i8 1x1 images [2, 1, 1, 1] by [1, 3, 1, 1] (rows of 3: reference)', [2, 1, 1, 1], [1, 3, 1, 1], 'int8', 35, ref('int8')),
    binaryCase(op, 'u8 [2, 1, 2] by [1, 3, 2] (rows of 2: reference)', [2, 1, 2], [1, 3, 2], 'uint8', 36, ref('uint8')),
    // Shapes the equal-shapes or planes variant takes by default, forced onto the broadcast one.
    binaryCase(op, 'forced: u8 row [7] by [2, 3, 5, 7] (30 rows of 7)', [7], [2, 3, 5, 7], 'uint8', 37, bcast('uint8'), 'bcast'),
    binaryCase(op, 'forced: i8 row [7] by [2, 3, 5, 7]', [7], [2, 3, 5, 7], 'int8', 38, bcast('int8'), 'bcast'),
    binaryCase(op, 'forced: u8 scalar [] by [2, 3, 5, 7] (one row of 210, A one value)', [], [2, 3, 5, 7], 'uint8', 39, bcast('uint8'), 'bcast'),
    binaryCase(op, 'forced: i8 [2, 3, 5, 7] by scalar [1]', [2, 3, 5, 7], [1], 'int8', 40, bcast('int8'), 'bcast'),
    binaryCase(op, 'forced: u8 [3, 5, 7] by [5, 1] (15 rows of 7, B one value per row)', [3, 5, 7], [5, 1], 'uint8', 41, bcast('uint8'), 'bcast'),
    binaryCase(op, 'forced: i8 [3, 5, 7] by [1, 5, 7] (3 rows of 35)', [3, 5, 7], [1, 5, 7], 'int8', 42, bcast('int8'), 'bcast'),
    binaryCase(op, 'forced: u8 equal shapes [2, 13, 7, 5] (one row of 910)', [2, 13, 7, 5], [2, 13, 7, 5], 'uint8', 43, bcast('uint8'), 'bcast'),
  ]);
}

// ---- tinfer.QLinearLookup (the QDQ fusion's elementwise chains) ----
function lookupCase(name: string, shape: number[], x: 'uint8' | 'int8', y: 'uint8' | 'int8', minRank: number, seed: number): VariantCase {
  const m = new ModelBuilder({ opset: { '': 13, tinfer: 1 } });
  m.input('x', x, shape);
  // A table that is not monotone, so a wrong index shows: entry b is (b·37 + 11) mod 256, as y's type.
  const table = Array.from({ length: 256 }, (_, b) => ((b * 37 + 11) % 256) - (y === 'int8' ? 128 : 0));
  m.initializer('table', tensor(y, [256], table));
  m.node('QLinearLookup', ['x', 'table'], { min_rank: minRank }, { outputs: ['y'], domain: 'tinfer' });
  m.output('y');
  const short = (d: string) => (d === 'int8' ? 'i8' : 'u8');
  return { name, model: m, feeds: { x: ints(x, shape, seed) }, expectVariant: `${short(x)}${short(y)}_qlinearlookup__wasm`, ...EXACT };
}

checkVariants('QLinearLookup', [
  lookupCase('u8 -> u8, 13 ch 7x5, batch 2 (910: four-byte steps and a tail of 2)', [2, 13, 7, 5], 'uint8', 'uint8', 0, 1),
  lookupCase('i8 -> i8 [13, 7, 5]', [13, 7, 5], 'int8', 'int8', 0, 2),
  lookupCase('u8 -> i8, one element, broadcast to rank 4', [1], 'uint8', 'int8', 4, 3),
  lookupCase('i8 -> u8, 3 elements (tail only)', [3], 'int8', 'uint8', 0, 4),
]);
