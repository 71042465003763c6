/**
 * Every MaxPool / AveragePool / GlobalMaxPool wasm variant against the forced reference (the generic variant
 * tester) over odd windows, strides, dilations, asymmetric pads, ceil_mode, count_include_pad, 1-D pools, 13
 * channels and batch 2. `expectVariant` names which wasm kernel must run: the unrolled interior
 * (`_{KH}x{KW}s{SH}x{SW}__wasmsimd`) or the generic one (`_2d__wasmsimd`).
 */
import { randomTensor } from './harness.js';
import { ModelBuilder } from './onnx-builder.js';
import { checkVariants, type VariantCase } from './variant-tester.js';

interface Spec {
  name: string;
  shape: number[];
  attrs: Record<string, number | number[]>;
  expectVariant: string;
}

function poolCase(op: string, s: Spec): VariantCase {
  const m = new ModelBuilder({ opset: 19 });
  const x = m.input('x', 'float32', s.shape);
  m.output(m.node(op, [x], s.attrs)[0]!);
  return { name: s.name, model: m, feeds: { x: randomTensor(s.shape, s.shape.reduce((a, b) => a * 3 + b, 1), -3, 3) }, expectVariant: s.expectVariant };
}

const WINDOWS: Spec[] = [
  { name: '1x2 s1x2 [1,64,1,500] (tf2onnx wake word)', shape: [1, 64, 1, 500], attrs: { kernel_shape: [1, 2], strides: [1, 2] }, expectVariant: '_1x2s1x2__wasmsimd' },
  { name: '2x1 s2x1 13ch 7x5', shape: [1, 13, 7, 5], attrs: { kernel_shape: [2, 1], strides: [2, 1] }, expectVariant: '_2x1s2x1__wasmsimd' },
  { name: '3x3 s2 pads 1 batch 2', shape: [2, 3, 13, 11], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, expectVariant: '_3x3s2__wasmsimd' },
  { name: '7x5 s1 pads (0,1,1,0) asymmetric', shape: [1, 4, 12, 9], attrs: { kernel_shape: [7, 5], pads: [0, 1, 1, 0] }, expectVariant: '_7x5s1__wasmsimd' },
  { name: '3x3 strides (2,1)', shape: [1, 5, 11, 10], attrs: { kernel_shape: [3, 3], strides: [2, 1] }, expectVariant: '_3x3s2x1__wasmsimd' },
  { name: '3x3 s2 ceil_mode', shape: [1, 3, 10, 14], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, expectVariant: '_3x3s2__wasmsimd' },
  { name: '3x2 s2 pads (0,1,2,0) ceil_mode', shape: [1, 2, 10, 21], attrs: { kernel_shape: [3, 2], strides: [2, 2], pads: [0, 1, 2, 0], ceil_mode: 1 }, expectVariant: '_3x2s2__wasmsimd' },
  { name: '3x3 dilation 2 pads 2 (generic)', shape: [1, 3, 12, 13], attrs: { kernel_shape: [3, 3], dilations: [2, 2], pads: [2, 2, 2, 2] }, expectVariant: '_2d__wasmsimd' },
  { name: '3x3 stride 3 (generic)', shape: [2, 2, 13, 14], attrs: { kernel_shape: [3, 3], strides: [3, 3], pads: [1, 0, 1, 2] }, expectVariant: '_2d__wasmsimd' },
  { name: '9x9 window (generic)', shape: [1, 2, 15, 12], attrs: { kernel_shape: [9, 9], pads: [4, 4, 4, 4] }, expectVariant: '_2d__wasmsimd' },
  { name: '1-D window 3 stride 2 pads (1,0)', shape: [2, 13, 17], attrs: { kernel_shape: [3], strides: [2], pads: [1, 0] }, expectVariant: '_1x3s1x2__wasmsimd' },
  { name: '1-D window 4 dilation 2 ceil_mode (generic)', shape: [1, 5, 23], attrs: { kernel_shape: [4], strides: [3], dilations: [2], ceil_mode: 1 }, expectVariant: '_2d__wasmsimd' },
  { name: '1x1 input, 3x3 window pads 1', shape: [1, 3, 1, 1], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, expectVariant: '__wasmsimd' },
];

checkVariants('MaxPool', WINDOWS.map((s) => poolCase('MaxPool', s)));

checkVariants('AveragePool', [
  ...WINDOWS.filter((s) => !('dilations' in s.attrs)).map((s) => poolCase('AveragePool', s)),
  ...WINDOWS.filter((s) => 'pads' in s.attrs && !('dilations' in s.attrs)).map((s) =>
    poolCase('AveragePool', { ...s, name: `${s.name}, count_include_pad`, attrs: { ...s.attrs, count_include_pad: 1 } })),
]);

checkVariants('GlobalMaxPool', [[1, 13, 7, 5], [2, 3, 1, 1], [1, 4, 19], [2, 5, 3, 4, 6]].map((shape) => {
  const m = new ModelBuilder({ opset: 13 });
  m.output(m.node('GlobalMaxPool', [m.input('x', 'float32', shape)])[0]!);
  return { name: `[${shape}]`, model: m, feeds: { x: randomTensor(shape, shape.length * 5 + shape[1]!, -3, 3) } };
}));

checkVariants('GlobalAveragePool', [[1, 13, 7, 5], [2, 3, 1, 1], [1, 4, 19]].map((shape) => {
  const m = new ModelBuilder({ opset: 13 });
  m.output(m.node('GlobalAveragePool', [m.input('x', 'float32', shape)])[0]!);
  return { name: `[${shape}]`, model: m, feeds: { x: randomTensor(shape, shape.length * 7 + shape[1]!, -3, 3) } };
}));
