/**
 * Every Resize wasm variant against the forced reference over odd shapes (the generic variant tester): 1×1 input,
 * 13 channels, 7×5 planes, non-integer scales, downscales, sizes, batch 2, every coordinate mode × mode. The
 * variants compute the reference's bits, so the tester's rtol is far looser than needed; test/resize-ort-exact
 * checks the bits.
 */
import { F, randomTensor, tensor } from './harness.js';
import { ModelBuilder } from './onnx-builder.js';
import { checkVariants, type VariantCase } from './variant-tester.js';

interface Spec {
  name: string;
  shape: number[];
  attrs: Record<string, string | number | F>;
  scales?: number[];
  sizes?: number[];
  roi?: number[];
  expectVariant?: string;
}

function resizeCase(s: Spec): VariantCase {
  const m = new ModelBuilder({ opset: 19 });
  const x = m.input('x', 'float32', s.shape);
  const roi = s.roi ? m.initializer('roi', tensor('float32', [s.roi.length], s.roi)) : '';
  const scales = s.scales ? m.initializer('scales', tensor('float32', [s.scales.length], s.scales)) : '';
  const inputs = s.sizes ? [x, roi, scales, m.initializer('sizes', tensor('int64', [s.sizes.length], s.sizes.map(BigInt)))] : [x, roi, scales];
  m.output(m.node('Resize', inputs, s.attrs)[0]!);
  return { name: s.name, model: m, feeds: { x: randomTensor(s.shape, s.shape.length * 13 + s.shape[s.shape.length - 1]!, -2, 2) }, expectVariant: s.expectVariant };
}

const sc = (h: number, w: number) => [1, 1, h, w];
const COORDS = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'half_pixel_symmetric'];
const MODES = [
  { mode: 'linear', variant: '_linear_2d__wasmsimd' },
  { mode: 'nearest', variant: '_nearest_2d__wasmsimd' },
  { mode: 'cubic', variant: '_cubic_2d__wasmsimd' },
];
const ROI = [0, 0, 0.1, -0.15, 1, 1, 0.85, 1.2];

const specs: Spec[] = [
  ...MODES.flatMap(({ mode, variant }) => [
    ...COORDS.map((coord) => ({
      name: `${mode} ${coord} 13ch 7x5 scales 1.7x2.5`, shape: [1, 13, 7, 5], attrs: { mode, coordinate_transformation_mode: coord }, scales: sc(1.7, 2.5), expectVariant: variant,
    })),
    { name: `${mode} tf_crop_and_resize 7x5 sizes 9x8, extrapolation`, shape: [1, 3, 7, 5], roi: ROI, sizes: [1, 3, 9, 8],
      attrs: { mode, coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: new F(-3) }, expectVariant: variant },
    { name: `${mode} 1x1 input scales 3x2`, shape: [1, 1, 1, 1], attrs: { mode }, scales: sc(3, 2), expectVariant: '' },
    { name: `${mode} downscale 0.6 batch 2`, shape: [2, 3, 10, 9], attrs: { mode }, scales: sc(0.6, 0.6), expectVariant: variant },
    { name: `${mode} scales 2.5x1.7 batch 2, 13ch`, shape: [2, 13, 6, 7], attrs: { mode }, scales: sc(2.5, 1.7), expectVariant: variant },
    { name: `${mode} sizes [1,4,11,3]`, shape: [1, 4, 7, 5], attrs: { mode }, sizes: [1, 4, 11, 3], expectVariant: variant },
    { name: `${mode} 2-D input 7x5 scales 1.7x2.5`, shape: [7, 5], attrs: { mode }, scales: [1.7, 2.5], expectVariant: variant },
  ]),
  { name: 'cubic A=-0.5 exclude_outside', shape: [1, 3, 7, 5], attrs: { mode: 'cubic', cubic_coeff_a: -0.5, exclude_outside: 1 }, scales: sc(2, 0.6), expectVariant: '_cubic_2d__wasmsimd' },
  { name: 'cubic exclude_outside tf_crop_and_resize', shape: [1, 3, 7, 5], roi: ROI, sizes: [1, 3, 9, 8],
    attrs: { mode: 'cubic', exclude_outside: 1, coordinate_transformation_mode: 'tf_crop_and_resize' }, expectVariant: '_cubic_2d__wasmsimd' },
  { name: 'nearest floor asymmetric 2x (the exporters\' upsample)', shape: [1, 16, 20, 20], attrs: { mode: 'nearest', nearest_mode: 'floor', coordinate_transformation_mode: 'asymmetric' }, scales: sc(2, 2), expectVariant: '_nearest_2d__wasmsimd' },
  { name: 'nearest round_prefer_ceil 3-D [5, 7, 4]', shape: [5, 7, 4], attrs: { mode: 'nearest', nearest_mode: 'round_prefer_ceil' }, scales: [1, 1.5, 2.5], expectVariant: '_nearest_2d__wasmsimd' },
  { name: 'linear [1,64,40,40] -> x2 half_pixel', shape: [1, 64, 40, 40], attrs: { mode: 'linear' }, scales: sc(2, 2), expectVariant: '_linear_2d__wasmsimd' },
  // Shapes only the reference takes: trilinear, NHWC, nearest with a scaled outer axis.
  { name: 'trilinear [1,2,3,4,5] (reference only)', shape: [1, 2, 3, 4, 5], attrs: { mode: 'linear' }, scales: [1, 1, 1.5, 2, 0.7], expectVariant: '__ref' },
  { name: 'linear NHWC [1,6,5,3] (reference only)', shape: [1, 6, 5, 3], attrs: { mode: 'linear' }, scales: [1, 2, 1.6, 1], expectVariant: '__ref' },
];

checkVariants('Resize', specs.map(resizeCase));
