import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../src/loader/index.js';
import { InferenceSession } from '../src/session/session.js';
import { activationParams, generateFeeds, quantizeModel, writeMixedQdq, type QuantParams } from '../src/quantize/index.js';
import { collectRanges } from '../src/quantize/calibrate.js';
import { cosineSimilarity } from '../src/quantize/compare.js';
import { planQuantization } from '../src/quantize/plan.js';
import type { Model } from '../src/loader/model.js';
import { F, ModelBuilder } from './onnx-builder.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s / 4294967296) * 2 - 1;
  };
}

const floats = (rand: () => number, shape: number[], scale: number) => ({
  dtype: 'float32' as const,
  shape,
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * scale),
});

/** x [1,3,8,8] -> Conv 3x3 -> Relu -> Conv 1x1 -> Clip(0, 6) -> Flatten -> Gemm -> [1,10]: both activations foldable. */
function foldableModel(): Uint8Array {
  const rand = lcg(5);
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', [1, 3, 8, 8]);
  const [c1] = b.node('Conv', [x, b.initializer('w1', floats(rand, [4, 3, 3, 3], 0.6)), b.initializer('b1', floats(rand, [4], 0.3))], { pads: [1, 1, 1, 1] });
  const [r1] = b.node('Relu', [c1!]);
  const [c2] = b.node('Conv', [r1!, b.initializer('w2', floats(rand, [4, 4, 1, 1], 1.5)), b.initializer('b2', floats(rand, [4], 0.3))]);
  const [r2] = b.node('Clip', [c2!, b.initializer('lo', { dtype: 'float32', shape: [], data: new Float32Array([0]) }), b.initializer('hi', { dtype: 'float32', shape: [], data: new Float32Array([6]) })]);
  const [flat] = b.node('Flatten', [r2!]);
  const [y] = b.node('Gemm', [flat!, b.initializer('wg', floats(rand, [10, 256], 0.1)), b.initializer('bg', floats(rand, [10], 0.1))], { transB: 1, alpha: new F(1) });
  b.output(y!, { dtype: 'float32', shape: [1, 10] });
  return b.toBytes();
}

/**
 * x [1,16] -> Add(+c) -> t -> Add(-c) -> u -> Gemm -> [1,8], with c = 1000 on one element: t's uint8 step is ~4,
 * so quantizing t erases x; every other value quantizes finely. t is by far the most sensitive activation.
 */
function fragileModel(): Uint8Array {
  const rand = lcg(9);
  const c = new Float32Array(16);
  c[3] = 1000;
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', [1, 16]);
  const [t] = b.node('Add', [x, b.initializer('c', { dtype: 'float32', shape: [16], data: c })], {}, { name: 'shift' });
  const [u] = b.node('Add', [t!, b.initializer('minus_c', { dtype: 'float32', shape: [16], data: c.map((v) => -v) })], {}, { name: 'unshift' });
  const [y] = b.node('Gemm', [u!, b.initializer('wg', floats(rand, [8, 16], 0.5)), b.initializer('bg', floats(rand, [8], 0.1))], { transB: 1 });
  b.output(y!, { dtype: 'float32', shape: [1, 8] });
  return b.toBytes();
}

function calibrated(model: Model, feeds: ReturnType<typeof generateFeeds>): Map<string, QuantParams> {
  const plan = planQuantization(model.graph, 'uint8');
  const { ranges } = collectRanges(model, plan.activations, feeds, { method: 'minmax' });
  return new Map([...ranges].map(([name, r]) => [name, activationParams(r, 'uint8')]));
}

function outputsOf(bytes: Uint8Array, feeds: ReturnType<typeof generateFeeds>): Float32Array[] {
  const s = InferenceSession.createSync(bytes);
  return feeds.map((f) => Float32Array.from(s.runSync(f)[s.outputNames[0]!]!.data as Float32Array));
}

describe('mixed precision: the QDQ writer with values kept in float', () => {
  const bytes = foldableModel();
  const model = decodeModel(bytes);
  const feeds = generateFeeds(model, { count: 4, seed: 3 });
  const params = calibrated(model, feeds);
  const base = { model, activationType: 'uint8' as const, params, settings: { perChannel: true, opset: 13 } };
  const weights = new Set(['w1', 'w2', 'wg']);

  it('everything in float reproduces the float model (folded Relu and Clip are put back)', () => {
    const mixed = writeMixedQdq(base, { floatActivations: new Set(params.keys()), floatWeights: weights });
    const ops = mixed.model.graph.nodes.map((n) => n.opType);
    expect(ops).not.toContain('QuantizeLinear');
    expect(ops).not.toContain('DequantizeLinear');
    expect(ops).toContain('Relu');
    expect(ops).toContain('Clip');
    const want = outputsOf(bytes, feeds);
    const got = outputsOf(encodeModel(mixed.model), feeds);
    got.forEach((g, i) => g.forEach((v, k) => expect(v).toBeCloseTo(want[i]![k]!, 5)));
  });

  it('one folded activation in float: its Relu returns, the other stays folded, one QDQ pair fewer', () => {
    const all = writeMixedQdq(base, { floatActivations: new Set(), floatWeights: new Set() });
    const reluOut = model.graph.nodes.find((n) => n.opType === 'Relu')!.outputs[0]!;
    const one = writeMixedQdq(base, { floatActivations: new Set([reluOut]), floatWeights: new Set(['w2']) });
    const count = (m: Model, op: string) => m.graph.nodes.filter((n) => n.opType === op).length;
    expect(count(all.model, 'Relu') + count(all.model, 'Clip')).toBe(0);
    expect(count(one.model, 'Relu')).toBe(1);
    expect(count(one.model, 'Clip')).toBe(0);
    expect(count(one.model, 'QuantizeLinear')).toBe(count(all.model, 'QuantizeLinear') - 1);
    // w2 stays float32 (with its bias); w1 and wg are int8.
    const inits = one.model.graph.initializers;
    expect(inits.get('w2')?.dtype).toBe('float32');
    expect([...inits.values()].filter((t) => t.dtype === 'int8' && t.shape.length > 1)).toHaveLength(2);
    const want = outputsOf(bytes, feeds);
    outputsOf(encodeModel(one.model), feeds).forEach((g, i) => expect(cosineSimilarity(want[i]!, g)).toBeGreaterThan(0.99));
  });
});

describe('mixed precision: sensitivity-driven choice', () => {
  const bytes = fragileModel();
  const model = decodeModel(bytes);
  const calibration = generateFeeds(model, { count: 8, seed: 1 });
  const evaluation = generateFeeds(model, { count: 4, seed: 2 });
  const shifted = model.graph.nodes.find((n) => n.name === 'shift')!.outputs[0]!;

  it('all-int8 is poor on the fragile model (the premise of the next test)', () => {
    const { report } = quantizeModel(bytes, calibration, { perChannel: true, evaluation });
    expect(report.meanCosine!).toBeLessThan(0.9);
  });

  it('keeps exactly the fragile activation in float and reaches the target', () => {
    const { bytes: q, report } = quantizeModel(bytes, calibration, { perChannel: true, evaluation, mixedPrecision: { targetCosine: 0.999 } });
    expect(report.keptFloat?.map((k) => [k.kind, k.name])).toEqual([['activation', shifted]]);
    expect(report.keptFloat![0]!.sensitivity).toBeGreaterThan(0.1);
    expect(report.probeCosine!.before).toBeLessThan(0.9);
    expect(report.probeCosine!.after).toBeGreaterThanOrEqual(0.999);
    expect(report.meanCosine!).toBeGreaterThanOrEqual(0.999);
    const quantizers = decodeModel(q).graph.nodes.filter((n) => n.opType === 'QuantizeLinear').map((n) => n.inputs[0]);
    expect(quantizers).not.toContain(shifted);
    expect(quantizers.length).toBeGreaterThan(0);
    expect([...decodeModel(q).graph.initializers.values()].filter((t) => t.dtype === 'int8' && t.shape.length > 1)).toHaveLength(1);
  });

  it('keeps nothing when the target is already met, and stops at maxKept', () => {
    // The well-behaved model is above 0.99 fully quantized.
    const wellBehaved = foldableModel();
    const easy = quantizeModel(wellBehaved, generateFeeds(decodeModel(wellBehaved), { count: 4, seed: 1 }), { perChannel: true, mixedPrecision: { targetCosine: 0.99 } });
    expect(easy.report.keptFloat).toEqual([]);
    expect(easy.report.probeCosine!.before).toBeGreaterThanOrEqual(0.99);
    const capped = quantizeModel(bytes, calibration, { perChannel: true, mixedPrecision: { targetCosine: 1.5, maxKept: 2 } });
    expect(capped.report.keptFloat).toHaveLength(2);
    expect(capped.report.warnings.join()).toMatch(/below the target/);
  });

  it('combines with GPTQ and empirical bias correction (float-kept layers are skipped by both)', () => {
    const wellBehaved = foldableModel();
    const feeds = generateFeeds(decodeModel(wellBehaved), { count: 4, seed: 1 });
    const { report } = quantizeModel(wellBehaved, feeds, {
      perChannel: true, gptq: true, empiricalBiasCorrection: true, evaluation: feeds, mixedPrecision: { targetCosine: 1.5, maxKept: 3 },
    });
    expect(report.keptFloat).toHaveLength(3);
    expect(report.meanCosine!).toBeGreaterThanOrEqual(0.99);
  });

  it('refuses the qoperator format', () => {
    expect(() => quantizeModel(bytes, calibration, { format: 'qoperator', mixedPrecision: { targetCosine: 0.99 } })).toThrow(/qdq/);
  });
});
