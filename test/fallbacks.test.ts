/**
 * Nothing slow is silent: a wasm variant run on views outside wasm memory (plain arrays, as a hand-made run passes
 * them) takes its JS path through the one fallback mechanism (onWasmOrReference / ranOnWasm), so the call is counted
 * in PreparedKernel.jsFallbacks (and shows in `tinfer bench --profile`). Each case is a one-node model: its wasm
 * variant is prepared as a session would and run on plain arrays; the output must equal the JS reference variant's
 * (a session on the js backend with the op forced to 'reference'), and a session on the wasm backend (values in the
 * arena) must count no fallback for the same node.
 */
import { describe, expect, it } from 'vitest';
import { allocData, sizeOf, type TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import type { PrepareContext, PreparedKernel } from '../src/kernels/kernel.js';
import { defaultRegistry } from '../src/kernels/registry.js';
import { WasmContext } from '../src/wasm/context.js';
import { expectClose, randomTensor } from './harness.js';
import { ModelBuilder, type BuilderAttrValue } from './onnx-builder.js';

const wasm = WasmContext.create();
if (wasm === undefined) console.warn('[skip] fallbacks: WebAssembly SIMD is not available in this engine');

interface FallbackCase {
  name: string;
  opType: string;
  attrs: Record<string, BuilderAttrValue>;
  /** Graph inputs (fed at run) and initializers (constants at prepare), in the node's input order. */
  inputs: { name: string; value: TensorData; constant?: boolean }[];
  /** The variant to force (`variants: { [opType]: … }`); the automatic choice when absent. */
  variant?: string;
  /** A substring of the wasm variant's name that must be prepared. */
  expectVariant: string;
  opset?: number;
  /** The node's domain ('tinfer' for the fused ops), default ai.onnx. */
  domain?: string;
  rtol?: number;
}

function modelOf(c: FallbackCase): ModelBuilder {
  const opset = c.opset ?? 17;
  const m = new ModelBuilder({ opset: c.domain === undefined ? opset : { '': opset, [c.domain]: 1 } });
  const names = c.inputs.map((i) => (i.constant ? m.initializer(i.name, i.value) : m.input(i.name, i.value.dtype, [...i.value.shape])));
  m.output(m.node(c.opType, names, c.attrs, { name: 'n', domain: c.domain })[0]!);
  return m;
}

/** Prepares the model's node on the wasm context as a session would (initializers as constants). */
function prepareOnWasm(c: FallbackCase, ctx: WasmContext): PreparedKernel {
  const graph = modelOf(c).toGraph();
  const node = graph.nodes[0]!;
  const values = node.inputs.map((name) => graph.initializers.get(name) ?? c.inputs.find((i) => i.name === name)!.value);
  const pctx: PrepareContext = {
    node,
    opset: c.opset ?? 17,
    inputs: values.map((t) => ({ dtype: t.dtype, shape: [...t.shape] })),
    constants: node.inputs.map((name) => graph.initializers.get(name)),
    options: { wasm: ctx, variants: c.variant !== undefined ? { [c.opType]: c.variant } : undefined },
  };
  return defaultRegistry.get(node).prepare(pctx);
}

/** Runs the kernel on plain arrays: inputs, outputs and scratch all outside wasm memory. */
function runOnPlainArrays(kernel: PreparedKernel, c: FallbackCase): TensorData {
  const outs = kernel.outputs.map((t) => ({ dtype: t.dtype, shape: t.shape, data: allocData(t.dtype, sizeOf(t.shape)) }));
  const scratch = (kernel.scratch ?? []).map((s) => allocData(s.dtype, s.length));
  kernel.run(c.inputs.map((i) => i.value.data), outs.map((o) => o.data), scratch);
  return outs[0]!;
}

function feedsOf(c: FallbackCase): Record<string, Tensor> {
  return Object.fromEntries(c.inputs.filter((i) => !i.constant).map((i) => [i.name, new Tensor(i.value.dtype as 'float32', i.value.data as Float32Array, [...i.value.shape])]));
}

async function referenceOf(c: FallbackCase): Promise<TensorData> {
  const s = await InferenceSession.create(modelOf(c).toBytes(), { backend: 'js', optimize: false, variants: { [c.opType]: 'reference' } });
  const y = Object.values(await s.run(feedsOf(c)))[0]!;
  return { dtype: y.type as TensorData['dtype'], shape: [...y.dims], data: y.data as Float32Array };
}

const x = (shape: number[], seed: number): { name: string; value: TensorData } => ({ name: 'x', value: randomTensor(shape, seed, -2, 2) });
const w = (name: string, shape: number[], seed: number): { name: string; value: TensorData; constant: true } =>
  ({ name, value: randomTensor(shape, seed, -0.5, 0.5), constant: true });
const ints = (name: string, values: number[]): { name: string; value: TensorData; constant: true } =>
  ({ name, value: { dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values, BigInt) }, constant: true });
const bytes = (dtype: 'uint8' | 'int8', shape: number[], seed: number): TensorData => {
  const r = randomTensor(shape, seed, 0, 255);
  const data = dtype === 'uint8' ? Uint8Array.from(r.data as Float32Array, Math.floor) : Int8Array.from(r.data as Float32Array, (v) => Math.floor(v) - 128);
  return { dtype, shape, data };
};

const CASES: FallbackCase[] = [
  {
    name: 'Conv im2col 3x3 s2 + bias', opType: 'Conv', attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    inputs: [x([1, 5, 11, 9], 1), w('w', [8, 5, 3, 3], 2), w('b', [8], 3)], expectVariant: 'f32_conv_im2col_3x3s2__wasmsimd', rtol: 1e-4,
  },
  {
    name: 'Conv 1x1 gemm', opType: 'Conv', attrs: { kernel_shape: [1, 1] },
    inputs: [x([1, 6, 7, 5], 4), w('w', [10, 6, 1, 1], 5)], expectVariant: 'f32_conv_gemm_1x1__wasmsimd', rtol: 1e-4,
  },
  {
    name: 'Conv Winograd F(4,3)', opType: 'Conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
    inputs: [x([1, 8, 10, 9], 6), w('w', [8, 8, 3, 3], 7), w('b', [8], 8)],
    variant: 'f32_conv_winograd_f43_3x3s1__wasmsimd', expectVariant: 'winograd_f43_3x3s1__wasmsimd', rtol: 1e-3,
  },
  {
    name: 'Conv depthwise 3x3', opType: 'Conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 6 },
    inputs: [x([1, 6, 9, 8], 9), w('w', [6, 1, 3, 3], 10)], expectVariant: 'dwconv_3x3s1', rtol: 1e-4,
  },
  {
    name: 'ConvTranspose 3x3 s2', opType: 'ConvTranspose', attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    inputs: [x([1, 4, 5, 6], 11), w('w', [4, 3, 3, 3], 12)], expectVariant: '__wasmsimd', rtol: 1e-4,
  },
  {
    name: 'MaxPool 3x3 s2 pads (interior + generic border)', opType: 'MaxPool', attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    inputs: [x([1, 3, 13, 11], 13)], expectVariant: '_3x3s2__wasmsimd',
  },
  {
    name: 'AveragePool 3x3 s3 (generic)', opType: 'AveragePool', attrs: { kernel_shape: [3, 3], strides: [3, 3], pads: [1, 0, 1, 2] },
    inputs: [x([2, 2, 13, 14], 14)], variant: 'f32_averagepool_2d__wasmsimd', expectVariant: '_2d__wasmsimd', rtol: 1e-6,
  },
  {
    name: 'GlobalMaxPool', opType: 'GlobalMaxPool', attrs: {}, inputs: [x([1, 5, 7, 3], 15)], expectVariant: '__wasmsimd',
  },
  {
    name: 'Resize linear 2d ×2', opType: 'Resize', attrs: { mode: 'linear' },
    inputs: [x([1, 3, 5, 7], 16), { name: 'roi', value: { dtype: 'float32', shape: [0], data: new Float32Array(0) }, constant: true },
      { name: 'scales', value: { dtype: 'float32', shape: [4], data: Float32Array.of(1, 1, 2, 2) }, constant: true }],
    expectVariant: 'linear_2d__wasmsimd',
  },
  {
    name: 'DynamicQuantizeLinear', opType: 'DynamicQuantizeLinear', attrs: {}, inputs: [x([3, 37], 17)], expectVariant: '__wasmsimd',
  },
  {
    name: 'MatMulInteger u8 × constant i8', opType: 'MatMulInteger', attrs: {},
    inputs: [{ name: 'a', value: bytes('uint8', [5, 19], 18) }, { name: 'b', value: bytes('int8', [19, 11], 19), constant: true }],
    expectVariant: '_matmulinteger__wasmsimd',
  },
  {
    name: 'MatMul constant B (packed)', opType: 'MatMul', attrs: {},
    inputs: [x([2, 3, 17], 20), w('b', [17, 9], 21)], expectVariant: 'f32_matmul_packedb__wasmsimd', rtol: 1e-4,
  },
  {
    name: 'MatMul runtime B (batched)', opType: 'MatMul', attrs: {},
    inputs: [x([2, 16, 24], 22), { name: 'b', value: randomTensor([2, 24, 20], 23, -1, 1) }], expectVariant: 'f32_matmul_runtimeb__wasmsimd', rtol: 1e-4,
  },
  {
    name: 'MatMulAdd constant B and bias + relu', opType: 'MatMulAdd', domain: 'tinfer', attrs: { 'tinfer.activation': 'relu' },
    inputs: [x([5, 13], 24), w('b', [13, 7], 25), w('c', [7], 26)], expectVariant: 'f32_matmuladd_packedb__wasmsimd', rtol: 1e-4,
  },
  {
    name: 'Gemm transB, alpha, beta, row bias', opType: 'Gemm', attrs: { transB: 1, alpha: 0.5, beta: 1.5 },
    inputs: [x([6, 11], 27), w('b', [10, 11], 28), w('c', [6, 1], 29)], expectVariant: 'f32_gemm_packedb__wasmsimd', rtol: 1e-4,
  },
  {
    name: 'LayerNormalization', opType: 'LayerNormalization', attrs: { axis: -1 },
    inputs: [x([3, 4, 20], 30), w('scale', [20], 31), w('bias', [20], 32)], expectVariant: '__wasmsimd', rtol: 1e-4,
  },
  {
    name: 'BatchNormalization', opType: 'BatchNormalization', attrs: {},
    inputs: [x([2, 5, 6, 7], 33), w('scale', [5], 34), w('bias', [5], 35), w('mean', [5], 36),
      { name: 'var', value: randomTensor([5], 37, 0.5, 1.5), constant: true }],
    expectVariant: 'f32_batchnorm_affine__wasmsimd', rtol: 1e-4,
  },
  {
    name: 'Transpose NCHW to NHWC', opType: 'Transpose', attrs: { perm: [0, 2, 3, 1] },
    inputs: [x([2, 5, 6, 7], 38)], expectVariant: 'x32_transpose_',
  },
  {
    name: 'Transpose strided gather', opType: 'Transpose', attrs: { perm: [0, 3, 2, 1] },
    inputs: [x([2, 5, 6, 7], 39)], expectVariant: 'x32_transpose_gather__wasmsimd',
  },
  {
    name: 'Pad reflect', opType: 'Pad', attrs: { mode: 'reflect' },
    inputs: [x([1, 3, 6, 7], 40), ints('pads', [0, 0, 2, 1, 0, 0, 1, 3])], expectVariant: 'f32_pad_reflect__wasmsimd',
  },
  {
    name: 'Expand', opType: 'Expand', attrs: {}, inputs: [x([3, 1, 5], 41), ints('shape', [2, 3, 4, 5])], expectVariant: 'f32_expand_bcast__wasmsimd',
  },
  {
    name: 'Tile', opType: 'Tile', attrs: {}, inputs: [x([2, 3, 5], 42), ints('repeats', [2, 1, 3])], expectVariant: 'f32_tile_bcast__wasmsimd',
  },
  {
    name: 'Softmax rows', opType: 'Softmax', attrs: { axis: -1 }, inputs: [x([4, 3, 19], 43)], expectVariant: 'f32_softmax_rows__wasmsimd', rtol: 1e-5,
  },
  {
    name: 'Softmax columns (channel axis)', opType: 'Softmax', attrs: { axis: 1 },
    inputs: [x([2, 5, 3, 7], 44)], expectVariant: 'f32_softmax_columns__wasmsimd', rtol: 1e-5,
  },
  {
    name: 'ReduceMean rows', opType: 'ReduceMean', attrs: { keepdims: 1 },
    inputs: [x([3, 4, 21], 45), ints('axes', [-1])], opset: 18, expectVariant: 'f32_reducemean_rows__wasmsimd', rtol: 1e-5,
  },
  {
    name: 'ReduceMax blocks', opType: 'ReduceMax', attrs: { keepdims: 0 },
    inputs: [x([3, 5, 2, 9], 46), ints('axes', [1])], opset: 18, expectVariant: 'f32_reducemax_blocks__wasmsimd',
  },
  {
    name: 'Add broadcast row', opType: 'Add', attrs: {}, inputs: [x([3, 4, 10], 47), w('b', [10], 48)], expectVariant: 'f32_add_',
  },
  {
    name: 'Mul equal shapes + relu', opType: 'Mul', attrs: { 'tinfer.activation': 'relu' },
    inputs: [x([5, 11], 49), { name: 'y', value: randomTensor([5, 11], 50, -2, 2) }], expectVariant: 'f32_mul_',
  },
  {
    name: 'Less broadcast (bool out)', opType: 'Less', attrs: {}, inputs: [x([4, 9], 51), w('b', [4, 1], 52)], expectVariant: 'f32_lt_cmp__wasm',
  },
  {
    name: 'Sigmoid', opType: 'Sigmoid', attrs: {}, inputs: [x([3, 37], 53)], expectVariant: 'f32_sigmoid__wasmsimd', rtol: 1e-5,
  },
  {
    name: 'LeakyRelu', opType: 'LeakyRelu', attrs: { alpha: 0.25 }, inputs: [x([2, 3, 11], 54)], expectVariant: 'f32_leakyrelu__wasmsimd',
  },
  {
    name: 'Clip (bounds as inputs)', opType: 'Clip', attrs: {},
    inputs: [x([3, 29], 55), { name: 'lo', value: { dtype: 'float32', shape: [], data: Float32Array.of(-0.5) }, constant: true },
      { name: 'hi', value: { dtype: 'float32', shape: [], data: Float32Array.of(1.25) } }],
    expectVariant: 'f32_clip__wasmsimd',
  },
  {
    name: 'Clip (opset 6 attributes)', opType: 'Clip', attrs: { min: -1.5, max: 0.75 }, inputs: [x([2, 3, 13], 56)], opset: 6,
    expectVariant: 'f32_clip__wasmsimd',
  },
  {
    name: 'Sum of 3 (broadcast)', opType: 'Sum', attrs: {},
    inputs: [x([3, 4, 10], 57), w('b', [10], 58), { name: 'c', value: randomTensor([3, 4, 10], 59, -2, 2) }], expectVariant: 'f32_sum3_bcast__wasmsimd',
  },
  {
    name: 'Max of 2', opType: 'Max', attrs: {}, inputs: [x([5, 11], 60), { name: 'y', value: randomTensor([5, 11], 61, -2, 2) }],
    expectVariant: 'f32_max_bcast__wasmsimd',
  },
  {
    name: 'Min of 4 (broadcast)', opType: 'Min', attrs: {},
    inputs: [x([2, 3, 7], 62), w('b', [3, 1], 63), { name: 'c', value: randomTensor([2, 3, 7], 64, -2, 2) }, w('d', [7], 65)],
    expectVariant: 'f32_min4_bcast__wasmsimd',
  },
  {
    name: 'Mean of 3 (divisor in scratch)', opType: 'Mean', attrs: {},
    inputs: [x([4, 9], 66), { name: 'y', value: randomTensor([4, 9], 67, -2, 2) }, w('c', [4, 1], 68)], expectVariant: 'f32_mean3_bcast__wasmsimd',
  },
  {
    name: 'Where (broadcast condition)', opType: 'Where', attrs: {},
    inputs: [{ name: 'cond', value: { dtype: 'bool', shape: [4, 1], data: Uint8Array.of(1, 0, 0, 1) } }, x([4, 9], 69),
      { name: 'y', value: randomTensor([4, 9], 70, -2, 2) }],
    expectVariant: 'f32_where__wasm',
  },
];

describe.skipIf(wasm === undefined)('wasm variants on views outside wasm memory: the JS path, counted', () => {
  it.each(CASES)('$name', async (c) => {
    const kernel = prepareOnWasm(c, wasm!);
    expect(kernel.variant ?? '').toContain(c.expectVariant);
    expect(kernel.jsFallbacks, 'a wasm variant that can fall back exposes jsFallbacks').toBeDefined();
    const got = runOnPlainArrays(kernel, c);
    expect(kernel.jsFallbacks!.calls).toBe(1);
    runOnPlainArrays(kernel, c);
    expect(kernel.jsFallbacks!.calls).toBe(2);
    const want = await referenceOf(c);
    if (c.rtol === undefined) expect(Array.from(got.data as ArrayLike<number>)).toEqual(Array.from(want.data as ArrayLike<number>));
    else expectClose(got, want, c.rtol, c.rtol);
  });

  it.each(CASES)('$name: no fallback counted in a session on the wasm backend', async (c) => {
    const variants = c.variant !== undefined ? { [c.opType]: c.variant } : undefined;
    const s = await InferenceSession.create(modelOf(c).toBytes(), { backend: 'wasm', optimize: false, profile: true, variants });
    await s.run(feedsOf(c));
    const step = s.profile().find((p) => p.node === 'n')!;
    expect(step.variant).toContain(c.expectVariant);
    expect(step.jsFallbackCalls).toBe(0);
  });
});
