import { ModelBuilder } from './onnx-builder.js';
import { randomTensor } from './harness.js';
import { checkVariants, type VariantCase } from './variant-tester.js';
import type { TensorData } from '../src/dtype.js';
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

function matMulCase(aShape: number[], bShape: number[], constB: boolean, expectVariant: string): VariantCase {
  const m = new ModelBuilder({ opset: 13 });
  m.input('a', 'float32', aShape);
  const b = randomTensor(bShape, 8);
  if (constB) m.initializer('b', b);
  else m.input('b', 'float32', bShape);
  m.output(m.node('MatMul', ['a', 'b'], {}, { outputs: ['y'], name: 'n' })[0]!);
  const feeds: Record<string, TensorData> = { a: randomTensor(aShape, 9) };
  if (!constB) feeds.b = b;
  return { name: `MatMul [${aShape}] x [${bShape}]${constB ? ' (B constant)' : ''}`, model: m, feeds, node: 'n', expectVariant };
}

checkVariants('MatMul', [
  matMulCase([2, 13, 7], [7, 5], true, 'f32_matmul_packedb__wasmsimd'),
  matMulCase([1, 7], [7, 13], true, 'f32_matmul_packedb__wasmsimd'),
  matMulCase([2, 1, 17, 16], [1, 3, 16, 19], true, 'f32_matmul_runtimeb__wasmsimd'), // batched constant B: packed per run
  matMulCase([2, 3, 17, 16], [2, 3, 16, 19], false, 'f32_matmul_runtimeb__wasmsimd'),
  matMulCase([2, 17, 16], [16, 33], false, 'f32_matmul_runtimeb__wasmsimd'),
  matMulCase([513], [513, 13], false, 'f32_matmul_runtimeb__wasmsimd'),
  matMulCase([3, 5], [5, 7], false, 'f32_matmul__js'), // under RUNTIME_B_MIN_MACS
]);

function gemmCase(M: number, K: number, N: number, opts: { transA?: boolean; transB?: boolean; c?: number[]; alpha?: number; beta?: number; constB?: boolean; act?: string }): VariantCase {
  const m = new ModelBuilder({ opset: 13 });
  const aShape = opts.transA ? [K, M] : [M, K];
  const bShape = opts.transB ? [N, K] : [K, N];
  m.input('a', 'float32', aShape);
  const b = randomTensor(bShape, 10);
  const feeds: Record<string, TensorData> = { a: randomTensor(aShape, 11) };
  if (opts.constB !== false) m.initializer('b', b);
  else {
    m.input('b', 'float32', bShape);
    feeds.b = b;
  }
  const inputs = ['a', 'b'];
  if (opts.c !== undefined) {
    m.initializer('c', randomTensor(opts.c, 12));
    inputs.push('c');
  }
  // alpha and beta only when not integers (the builder writes integral numbers as int attributes).
  const attrs: Record<string, number | string> = { transA: opts.transA ? 1 : 0, transB: opts.transB ? 1 : 0 };
  if (opts.alpha !== undefined) attrs.alpha = opts.alpha;
  if (opts.beta !== undefined) attrs.beta = opts.beta;
  if (opts.act) attrs[FUSED_ACTIVATION_ATTR] = opts.act;
  m.output(m.node('Gemm', inputs, attrs, { outputs: ['y'], name: 'n' })[0]!);
  return {
    name: `Gemm ${M}x${K}x${N} ${JSON.stringify(opts)}`, model: m, feeds, node: 'n',
    expectVariant: opts.constB === false ? 'f32_gemm__js' : 'f32_gemm_packedb__wasmsimd',
  };
}

checkVariants('Gemm', [
  gemmCase(1, 13, 7, { transB: true, c: [7] }),
  gemmCase(2, 13, 7, { transB: true, c: [7], act: 'relu' }),
  gemmCase(7, 5, 13, { transA: true, c: [7, 13], alpha: 0.5, beta: 2.5 }),
  gemmCase(5, 7, 3, { c: [1], beta: 0.5 }),
  gemmCase(13, 16, 9, { c: [13, 1] }),
  gemmCase(4, 6, 5, {}),
  gemmCase(4, 6, 5, { constB: false, c: [5] }),
]);

function matMulAddCase(aShape: number[], K: number, N: number, constC: boolean, act?: string): VariantCase {
  const m = new ModelBuilder({ opset: { '': 13, tinfer: 1 } });
  m.input('a', 'float32', aShape);
  m.initializer('b', randomTensor([K, N], 13));
  const c = randomTensor([N], 14);
  const feeds: Record<string, TensorData> = { a: randomTensor(aShape, 15) };
  if (constC) m.initializer('c', c);
  else {
    m.input('c', 'float32', [N]);
    feeds.c = c;
  }
  m.output(m.node('MatMulAdd', ['a', 'b', 'c'], act ? { [FUSED_ACTIVATION_ATTR]: act } : {}, { outputs: ['y'], name: 'n', domain: 'tinfer' })[0]!);
  return { name: `MatMulAdd [${aShape}] x [${K},${N}]${constC ? '' : ' runtime C'}${act ? ` + ${act}` : ''}`, model: m, feeds, node: 'n', expectVariant: 'f32_matmuladd_packedb__wasmsimd' };
}

checkVariants('MatMulAdd', [
  matMulAddCase([2, 13, 7], 7, 5, true),
  matMulAddCase([1, 16], 16, 13, false, 'relu'),
  matMulAddCase([2, 16], 16, 33, true, 'sigmoid'),
]);
