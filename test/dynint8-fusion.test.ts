/**
 * The fusion of quantize_dynamic's chains (graph/passes/fuse-integer-to-float.ts) and its kernels: the fused graph
 * gives the unfused graph's float outputs bit for bit, on the JS reference and on wasm, and the fast variants match
 * their reference over odd shapes.
 */
import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { addDynamicConv, addDynamicMatMul, addDynamicQuantize, floats } from './dynint8-models.js';
import { ModelBuilder } from './onnx-builder.js';
import { checkVariants, type VariantCase } from './variant-tester.js';

const EXACT = { rtol: 0, atol: 0 };

/** X [..., K] → DQL → three projections sharing it (as Q, K, V), one with a bias, one per-column. */
function qkvModel(xShape: number[], K: number, N: number): ModelBuilder {
  const m = new ModelBuilder({ opset: 13 });
  m.input('x', 'float32', [...xShape, K]);
  const q = addDynamicQuantize(m, 'x', 'x');
  m.output(addDynamicMatMul(m, q, { K, N, bias: true }, 1, 'q').out);
  m.output(addDynamicMatMul(m, q, { K, N: N + 3, perColumn: true, bias: true }, 2, 'k').out);
  m.output(addDynamicMatMul(m, q, { K, N, bType: 'uint8' }, 3, 'v').out);
  return m;
}

/** One dynamic Conv, optionally followed by Relu or Clip(0, 6) (folded into the fused kernel's store). */
function convModel(x: number[], spec: Parameters<typeof addDynamicConv>[2], act?: 'relu' | 'clip'): ModelBuilder {
  const m = new ModelBuilder({ opset: 13 });
  m.input('x', 'float32', x);
  const q = addDynamicQuantize(m, 'x', 'x');
  const out = addDynamicConv(m, q, spec, 5, 'c').out;
  if (act === undefined) m.output(out);
  else if (act === 'relu') m.output(m.node('Relu', [out])[0]!);
  else {
    m.initializer('lo', { dtype: 'float32', shape: [], data: Float32Array.of(0) });
    m.initializer('hi', { dtype: 'float32', shape: [], data: Float32Array.of(6) });
    m.output(m.node('Clip', [out, 'lo', 'hi'])[0]!);
  }
  return m;
}

/** One dynamic MatMul with a bias, then Relu. */
function matmulReluModel(xShape: number[], K: number, N: number): ModelBuilder {
  const m = new ModelBuilder({ opset: 13 });
  m.input('x', 'float32', [...xShape, K]);
  const q = addDynamicQuantize(m, 'x', 'x');
  m.output(m.node('Relu', [addDynamicMatMul(m, q, { K, N, bias: true }, 1, 'q').out])[0]!);
  return m;
}

async function run(model: ModelBuilder, feeds: Record<string, TensorData>, options: Record<string, unknown>): Promise<Record<string, Tensor>> {
  const s = await InferenceSession.create(model.toBytes(), options);
  return s.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new Tensor('float32', t.data as Float32Array, t.shape)])));
}

function opTypes(model: ModelBuilder): string[] {
  return runBasicPasses(model.toModel().graph).nodes.map((n) => `${n.domain ? n.domain + '.' : ''}${n.opType}`);
}

describe('fuse-integer-to-float', () => {
  it('fuses three projections sharing one DynamicQuantizeLinear, the quantizer going inside', () => {
    expect(opTypes(qkvModel([2, 5], 24, 16))).toEqual(['tinfer.MatMulIntegerToFloat', 'tinfer.MatMulIntegerToFloat', 'tinfer.MatMulIntegerToFloat']);
  });
  it('fuses a ConvInteger chain with a [1, M, 1, 1] bias', () => {
    expect(opTypes(convModel([1, 3, 9, 9], { C: 3, M: 8, k: 3, bias: true, attrs: { pads: [1, 1, 1, 1] } }))).toEqual(['tinfer.ConvIntegerToFloat']);
  });
  it('folds a following Relu or Clip into the fused node', () => {
    expect(opTypes(convModel([1, 3, 9, 9], { C: 3, M: 8, k: 3, bias: true }, 'clip'))).toEqual(['tinfer.ConvIntegerToFloat']);
    expect(opTypes(matmulReluModel([3], 8, 8))).toEqual(['tinfer.MatMulIntegerToFloat']);
  });
  it('keeps the DynamicQuantizeLinear when another node reads its output', () => {
    const m = qkvModel([3], 8, 8);
    m.output('x_q');
    expect(opTypes(m)).toContain('DynamicQuantizeLinear');
  });
  it('leaves a chain whose Cast is not to float alone', () => {
    const m = new ModelBuilder({ opset: 13 });
    m.input('x', 'float32', [2, 4]);
    const q = addDynamicQuantize(m, 'x', 'x');
    const { acc } = addDynamicMatMul(m, q, { K: 4, N: 8 }, 1, 'p');
    m.output(acc);
    expect(opTypes(m)).toContain('MatMulInteger');
  });

  for (const backend of ['js', 'wasm'] as const) {
    it(`gives the unfused float outputs bit for bit (${backend})`, async () => {
      const cases: [ModelBuilder, TensorData][] = [
        [qkvModel([2, 5], 24, 16), floats([2, 5, 24], 7, 2)],
        [qkvModel([1], 13, 8), floats([1, 13], 8, 3, 1)],
        [convModel([2, 13, 7, 5], { C: 13, M: 9, k: 3, bias: true, perChannel: true, attrs: { pads: [1, 1, 1, 1] } }), floats([2, 13, 7, 5], 9)],
        [convModel([1, 4, 12, 12], { C: 4, M: 4, k: 3, bias: true, attrs: { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] } }), floats([1, 4, 12, 12], 10)],
        [convModel([1, 5, 10, 10], { C: 5, M: 11, k: 1, bias: true }, 'clip'), floats([1, 5, 10, 10], 11, 4)],
        [convModel([1, 5, 10, 10], { C: 5, M: 9, k: 3, attrs: { pads: [1, 1, 1, 1] } }, 'relu'), floats([1, 5, 10, 10], 12, 4)],
        [matmulReluModel([2, 3], 19, 12), floats([2, 3, 19], 13, 2)],
      ];
      for (const [model, x] of cases) {
        const unfused = await run(model, { x }, { backend: 'js', optimize: false });
        const fused = await run(model, { x }, { backend });
        for (const [name, want] of Object.entries(unfused)) {
          const got = fused[name]!;
          expect(got.dims).toEqual(want.dims);
          expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want.data as Float32Array));
        }
      }
    });
  }
});

function mmCase(name: string, xShape: number[], K: number, N: number, seed: number): VariantCase {
  return { name, model: qkvModel(xShape, K, N), feeds: { x: floats([...xShape, K], seed, 2) }, expectVariant: '_matmulintegertofloat__wasmsimd', ...EXACT };
}

checkVariants('MatMulIntegerToFloat', [
  mmCase('M=1, K=13, N=8 and 11', [1], 13, 8, 1),
  mmCase('7x5 by 5x9', [7], 5, 9, 2),
  mmCase('batch 2, K=31, N=3 (padded)', [2, 6], 31, 3, 3),
  mmCase('K=100, N=24', [4, 4], 100, 24, 4),
]);

function cvCase(name: string, x: number[], spec: Parameters<typeof addDynamicConv>[2], seed: number): VariantCase {
  return { name, model: convModel(x, spec), feeds: { x: floats(x, seed, 1) }, expectVariant: '_convintegertofloat__wasmsimd', ...EXACT };
}

checkVariants('ConvIntegerToFloat', [
  cvCase('13 ch 7x5 3x3, per-channel, bias', [1, 13, 7, 5], { C: 13, M: 6, k: 3, perChannel: true, bias: true, attrs: { pads: [1, 1, 1, 1] } }, 1),
  cvCase('batch 2, 1x1, int8 weights, no bias', [2, 8, 4, 4], { C: 8, M: 13, k: 1, wType: 'int8' }, 2),
  cvCase('depthwise 3x3 s2', [1, 8, 16, 16], { C: 8, M: 8, k: 3, bias: true, attrs: { group: 8, strides: [2, 2], pads: [1, 1, 1, 1] } }, 3),
  cvCase('depthwise 3x3 s1 13 ch, 9x11, per-channel (float depthwise store)', [2, 13, 9, 11], { C: 13, M: 13, k: 3, perChannel: true, bias: true, attrs: { group: 13, pads: [1, 1, 1, 1] } }, 5),
  cvCase('depthwise 3x3 s1 on 7x7, batch 2 (rows under 8: tile)', [2, 13, 7, 7], { C: 13, M: 13, k: 3, bias: true, attrs: { group: 13, pads: [1, 1, 1, 1] } }, 8),
  cvCase('depthwise 3x3 s2 on 13x5 (3 outputs per row)', [1, 4, 13, 5], { C: 4, M: 4, k: 3, perChannel: true, attrs: { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] } }, 9),
  cvCase('depthwise 3x3 on 1x1', [1, 3, 1, 1], { C: 3, M: 3, k: 3, bias: true, attrs: { group: 3, pads: [1, 1, 1, 1] } }, 10),
  cvCase('depthwise 5x5 s2, 20x20', [1, 6, 20, 20], { C: 6, M: 6, k: 5, bias: true, attrs: { group: 6, strides: [2, 2], pads: [2, 2, 2, 2] } }, 6),
  { ...cvCase('depthwise 3x3 s1 + Clip(0, 6)', [1, 5, 10, 10], { C: 5, M: 5, k: 3, bias: true, attrs: { group: 5, pads: [1, 1, 1, 1] } }, 7), model: convModel([1, 5, 10, 10], { C: 5, M: 5, k: 3, bias: true, attrs: { group: 5, pads: [1, 1, 1, 1] } }, 'clip') },
  { ...cvCase('1x1 + Clip(0, 6)', [1, 5, 10, 10], { C: 5, M: 11, k: 1, bias: true }, 4), model: convModel([1, 5, 10, 10], { C: 5, M: 11, k: 1, bias: true }, 'clip') },
  // Under 8 output positions (squeeze-excitation 1×1 convolutions after a global pool): the GEMV.
  { ...cvCase('1x1 on 1x1, 13 ch -> 24, per-channel, bias', [1, 13, 1, 1], { C: 13, M: 24, k: 1, perChannel: true, bias: true }, 11), expectVariant: '_convintegertofloat_gemv__wasmsimd' },
  { ...cvCase('1x1 on 1x1, batch 2, int8 weights, + Relu', [2, 24, 1, 1], { C: 24, M: 13, k: 1, wType: 'int8', bias: true }, 12), model: convModel([2, 24, 1, 1], { C: 24, M: 13, k: 1, wType: 'int8', bias: true }, 'relu'), expectVariant: '_convintegertofloat_gemv__wasmsimd' },
  { ...cvCase('3x3 pads 1 on 7x1 (7 outputs) + Clip(0, 6)', [1, 5, 7, 1], { C: 5, M: 7, k: 3, bias: true, attrs: { pads: [1, 1, 1, 1] } }, 13), model: convModel([1, 5, 7, 1], { C: 5, M: 7, k: 3, bias: true, attrs: { pads: [1, 1, 1, 1] } }, 'clip'), expectVariant: '_convintegertofloat_gemv__wasmsimd' },
]);
