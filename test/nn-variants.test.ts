import { ModelBuilder } from './onnx-builder.js';
import { randomTensor } from './harness.js';
import { checkVariants, type VariantCase } from './variant-tester.js';
import { FUSED_ACTIVATION_ATTR, FUSED_ACTIVATION_PARAMS_ATTR } from '../src/graph/passes/fuse-activation.js';

// Normalisation layers with a wasm variant, against the JS reference.

function layerNormCase(shape: number[], axis: number, opts: { bias?: boolean; scaleShape?: number[] } = {}): VariantCase {
  const m = new ModelBuilder({ opset: 17 });
  m.input('x', 'float32', shape);
  const norm = shape.slice(axis < 0 ? axis + shape.length : axis);
  m.initializer('scale', randomTensor(opts.scaleShape ?? norm, 2, 0.5, 1.5));
  const inputs = ['x', 'scale'];
  if (opts.bias !== false) {
    m.initializer('bias', randomTensor(norm, 3));
    inputs.push('bias');
  }
  m.output(m.node('LayerNormalization', inputs, { axis, epsilon: 1e-5 }, { outputs: ['y'], name: 'n' })[0]!);
  return {
    name: `LayerNorm [${shape}] axis ${axis}${opts.bias === false ? ' no B' : ''}${opts.scaleShape ? ` scale [${opts.scaleShape}]` : ''}`,
    model: m, feeds: { x: randomTensor(shape, 4, -3, 3) }, node: 'n', expectVariant: 'f32_layernorm_rows__wasmsimd',
  };
}

checkVariants('LayerNormalization', [
  layerNormCase([2, 13, 7, 5], -1),
  layerNormCase([2, 13, 7, 5], 2),
  layerNormCase([1, 7, 13], -1, { bias: false }),
  layerNormCase([3, 1], -1),
  layerNormCase([2, 5, 32], -1, { scaleShape: [1] }),
]);

function batchNormCase(shape: number[], act?: { kind: string; params?: number[] }): VariantCase {
  const m = new ModelBuilder({ opset: 15 });
  const C = shape[1]!;
  m.input('x', 'float32', shape);
  m.initializer('scale', randomTensor([C], 2, 0.5, 1.5));
  m.initializer('bias', randomTensor([C], 3));
  m.initializer('mean', randomTensor([C], 4));
  m.initializer('var', randomTensor([C], 5, 0.1, 2));
  const attrs: Record<string, string | number | number[]> = { epsilon: 1e-5 };
  if (act !== undefined) {
    attrs[FUSED_ACTIVATION_ATTR] = act.kind;
    if (act.params) attrs[FUSED_ACTIVATION_PARAMS_ATTR] = act.params;
  }
  m.output(m.node('BatchNormalization', ['x', 'scale', 'bias', 'mean', 'var'], attrs, { outputs: ['y'], name: 'n' })[0]!);
  const suffix = act === undefined ? '' : `_${act.kind}`;
  return {
    name: `BatchNorm [${shape}]${act ? ` + ${act.kind}` : ''}`,
    model: m, feeds: { x: randomTensor(shape, 6, -3, 3) }, node: 'n', expectVariant: `f32_batchnorm_affine${suffix}__wasmsimd`,
  };
}

checkVariants('BatchNormalization', [
  batchNormCase([2, 13, 7, 5]),
  batchNormCase([1, 13, 7, 5], { kind: 'relu' }),
  batchNormCase([1, 13, 7, 5], { kind: 'clip', params: [0.5, 6.5] }),
  batchNormCase([2, 3]),
  batchNormCase([1, 5, 1, 1]),
  batchNormCase([2, 4, 3, 5, 7]),
]);
