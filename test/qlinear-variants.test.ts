/**
 * The 8-bit QLinear* variants on wasm against their JS reference, bit for bit (rtol = atol = 0), over odd shapes:
 * QLinearConv (the int8 GEMM, the GEMV under 8 output positions, depthwise), uint8 and int8, per-tensor and
 * per-channel, 13 channels, 7×5 images, 1×1 images, batch 2.
 */
import type { DType, TensorData } from '../src/dtype.js';
import { ints, floats } from './dynint8-models.js';
import { ModelBuilder } from './onnx-builder.js';
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
