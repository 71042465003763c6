/**
 * QDQ fusion (src/graph/passes/fuse-qdq.ts): DequantizeLinear → op → QuantizeLinear groups become integer nodes.
 * Each model is run twice through InferenceSession, as written (optimize: false, every op in float) and fused;
 * the 8-bit outputs must agree within one quantization step everywhere and exactly almost everywhere (they
 * differ only where the float result lands within rounding error of a .5 step).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import { fuseQdq } from '../src/graph/passes/fuse-qdq.js';
import { decodeModel } from '../src/loader/onnx.js';
import type { Graph } from '../src/loader/model.js';
import { ModelBuilder } from './onnx-builder.js';
import { F, randomTensor, rng, tensor } from './harness.js';
import { MODEL_ZOO, sharedAvailable } from './shared.js';

const MS = 'com.microsoft';
const f = Math.fround;

/** A small QDQ graph under construction: quantize / dequantize helpers with initializer parameters. */
class Qdq {
  readonly b = new ModelBuilder({ opset: { '': 13, [MS]: 1 } });
  private n = 0;

  param(t: TensorData): string {
    return this.b.initializer(`p${this.n++}`, t);
  }

  q(x: string, scale: number, zp: number, dtype: 'uint8' | 'int8' = 'uint8'): string {
    return this.b.node('QuantizeLinear', [x, this.param(tensor('float32', [], [scale])), this.param(tensor(dtype, [], [zp]))])[0]!;
  }

  dq(x: string, scale: number, zp: number, dtype: 'uint8' | 'int8' = 'uint8'): string {
    return this.b.node('DequantizeLinear', [x, this.param(tensor('float32', [], [scale])), this.param(tensor(dtype, [], [zp]))])[0]!;
  }

  /** DQ of a constant int8 weight, per tensor (one scale) or per axis. */
  weight(shape: number[], scales: number[], axis: number, seed: number): string {
    const r = rng(seed);
    const n = shape.reduce((a, d) => a * d, 1);
    const w = this.param(tensor('int8', shape, Array.from({ length: n }, () => Math.round((r() - 0.5) * 250))));
    const sShape = scales.length === 1 ? [] : [scales.length];
    const s = this.param(tensor('float32', sShape, scales));
    const z = this.param(tensor('int8', sShape, new Array<number>(scales.length).fill(0)));
    return this.b.node('DequantizeLinear', [w, s, z], scales.length === 1 ? {} : { axis })[0]!;
  }

  /** DQ of an int32 bias with scale x_scale·w_scale (as quantizers write it). */
  bias(values: number[], xScale: number, wScales: number[]): string {
    const scales = values.map((_, m) => f(xScale * wScales[wScales.length === 1 ? 0 : m]!));
    const b = this.param(tensor('int32', [values.length], values));
    const s = this.param(tensor('float32', [values.length], scales));
    const z = this.param(tensor('int32', [values.length], new Array<number>(values.length).fill(0)));
    return this.b.node('DequantizeLinear', [b, s, z], { axis: 0 })[0]!;
  }
}

interface Built {
  bytes: Uint8Array;
  graph: Graph;
  feeds: Record<string, { shape: number[] }>;
}

function build(q: Qdq, feeds: Record<string, number[]>): Built {
  const model = q.b.toModel();
  return { bytes: q.b.toBytes(), graph: model.graph, feeds: Object.fromEntries(Object.entries(feeds).map(([k, shape]) => [k, { shape }])) };
}

function opsAfterPasses(graph: Graph): string[] {
  return runBasicPasses(graph).nodes.map((n) => (n.domain ? `${n.domain}.${n.opType}` : n.opType));
}

/** Runs the model unfused and fused on random inputs; returns every output of both runs as numbers. */
async function runBoth(built: Built, seed = 1): Promise<{ plain: number[][]; fused: number[][] }> {
  const plain = await InferenceSession.create(built.bytes, { optimize: false });
  const fused = await InferenceSession.create(built.bytes);
  const feeds = Object.fromEntries(
    Object.entries(built.feeds).map(([name, { shape }], i) => [name, new Tensor('float32', randomTensor(shape, seed + i, -2, 2).data as Float32Array, shape)]),
  );
  const grab = (s: InferenceSession) => {
    const out = s.runSync(feeds);
    return s.outputNames.map((n) => Array.from(out[n]!.data as ArrayLike<number>, Number));
  };
  return { plain: grab(plain), fused: grab(fused) };
}

/** All outputs within one step, and at least `exactShare` of the elements equal. */
function expectWithinOneStep(r: { plain: number[][]; fused: number[][] }, exactShare = 0.97): void {
  let equal = 0;
  let total = 0;
  r.plain.forEach((p, k) => {
    const q = r.fused[k]!;
    expect(q.length).toBe(p.length);
    p.forEach((v, i) => {
      expect(Math.abs(v - q[i]!)).toBeLessThanOrEqual(1);
      if (v === q[i]) equal++;
      total++;
    });
    expect(new Set(p).size).toBeGreaterThan(2); // the test would be weak on a constant output
  });
  expect(equal / total).toBeGreaterThanOrEqual(exactShare);
}

function convModel(opts: { dtype?: 'uint8' | 'int8'; act?: 'relu' | 'clip'; floatBias?: boolean; group?: number; shareConv?: boolean; yScaleInput?: boolean } = {}): Built {
  const t = new Qdq();
  const dt = opts.dtype ?? 'uint8';
  const z0 = dt === 'uint8' ? 128 : -3;
  const group = opts.group ?? 1;
  const x = t.b.input('x', 'float32', [1, 6, 9, 9]);
  const xq = t.dq(t.q(x, 0.02, z0, dt), 0.02, z0, dt);
  const wScales = [0.004, 0.006, 0.005, 0.003, 0.002, 0.007].map(f);
  const w = t.weight([6, 6 / group, 3, 3], wScales, 0, 3);
  const biasValues = [100, -2000, 0, 3000, 50, -70];
  const bias = opts.floatBias
    ? t.param(tensor('float32', [6], biasValues.map((v) => v * 1e-4)))
    : t.bias(biasValues, 0.02, wScales);
  let [y] = t.b.node('Conv', [xq, w, bias], { pads: [1, 1, 1, 1], group });
  const conv = y!;
  if (opts.act === 'relu') [y] = t.b.node('Relu', [y!]);
  if (opts.act === 'clip') [y] = t.b.node('Clip', [y!, t.param(tensor('float32', [], [-0.5])), t.param(tensor('float32', [], [1.5]))]);
  const yz = dt === 'uint8' ? 40 : -20;
  let out: string;
  if (opts.yScaleInput) {
    const ys = t.b.input('ys', 'float32', []);
    out = t.b.node('QuantizeLinear', [y!, ys, t.param(tensor(dt, [], [yz]))])[0]!;
  } else out = t.q(y!, 0.03, yz, dt);
  t.b.output(out);
  if (opts.shareConv) t.b.output(conv);
  return build(t, { x: [1, 6, 9, 9], ...(opts.yScaleInput ? { ys: [] } : {}) });
}

describe('fuseQdq: Conv', () => {
  it('DQ → Conv (per-channel int8 W, int32 bias) → Q becomes QLinearConv and agrees within one step', async () => {
    const m = convModel();
    expect(opsAfterPasses(m.graph)).toEqual(['QuantizeLinear', 'QLinearConv']);
    expectWithinOneStep(await runBoth(m));
  });

  it('a Relu before the Q becomes a clamp at the output zero point (tinfer.QLinearConv)', async () => {
    const m = convModel({ act: 'relu' });
    const fused = runBasicPasses(m.graph).nodes.find((n) => n.opType === 'QLinearConv')!;
    expect(fused.domain).toBe('tinfer');
    expect(fused.attributes.get('output_min')).toEqual({ type: 'int', value: 40 });
    expectWithinOneStep(await runBoth(m));
  });

  it('int8 activations, a float bias and a Clip (bounds quantized with the output parameters)', async () => {
    const m = convModel({ dtype: 'int8', act: 'clip', floatBias: true });
    const fused = runBasicPasses(m.graph).nodes.find((n) => n.opType === 'QLinearConv')!;
    // Clip [-0.5, 1.5] at scale 0.03, zero point -20: round(-16.67) - 20 = -37, round(50) - 20 = 30.
    expect(fused.attributes.get('output_min')).toEqual({ type: 'int', value: -37 });
    expect(fused.attributes.get('output_max')).toEqual({ type: 'int', value: 30 });
    expectWithinOneStep(await runBoth(m));
  });

  it('grouped and depthwise convolutions', async () => {
    expectWithinOneStep(await runBoth(convModel({ group: 2, act: 'relu' })));
    expectWithinOneStep(await runBoth(convModel({ group: 6 })), 0.95);
  });

  it('is not applied when the Conv output has another reader or the output scale is not a constant', async () => {
    const shared = convModel({ shareConv: true });
    expect(opsAfterPasses(shared.graph)).toContain('Conv');
    expect(opsAfterPasses(shared.graph)).not.toContain('QLinearConv');
    const computed = convModel({ yScaleInput: true });
    expect(fuseQdq(computed.graph)).toBe(computed.graph);
  });
});

function linearModel(kind: 'gemm' | 'matmul', opts: { alpha?: number; perColumn?: boolean } = {}): Built {
  const t = new Qdq();
  const x = t.b.input('x', 'float32', [5, 24]);
  const a = t.dq(t.q(x, 0.015, 120), 0.015, 120);
  const scales = opts.perColumn ? Array.from({ length: 7 }, (_, j) => f(0.002 + 0.0005 * j)) : [f(0.004)];
  let y: string;
  if (kind === 'gemm') {
    const w = t.weight([7, 24], scales, 0, 5);
    const bias = t.bias([10, -20, 30, -40, 50, -60, 70], 0.015, scales);
    const attrs: Record<string, unknown> = { transB: 1 };
    if (opts.alpha !== undefined) attrs.alpha = new F(opts.alpha);
    [y] = t.b.node('Gemm', [a, w, bias], attrs as never);
  } else {
    const w = t.weight([24, 7], scales, 1, 5);
    [y] = t.b.node('MatMul', [a, w]);
  }
  [y] = t.b.node('Relu', [y!]);
  t.b.output(t.q(y!, 0.02, 100));
  return build(t, { x: [5, 24] });
}

describe('fuseQdq: Gemm and MatMul', () => {
  it('Gemm (transB, int32 bias) → Relu → Q becomes a clamped QGemm', async () => {
    const m = linearModel('gemm', { perColumn: true });
    expect(opsAfterPasses(m.graph)).toEqual(['QuantizeLinear', 'tinfer.QGemm']);
    expectWithinOneStep(await runBoth(m));
  });

  it('MatMul with per-column weights becomes QLinearMatMul', async () => {
    const m = linearModel('matmul', { perColumn: true });
    expect(opsAfterPasses(m.graph)).toEqual(['QuantizeLinear', 'tinfer.QLinearMatMul']);
    expectWithinOneStep(await runBoth(m));
    expectWithinOneStep(await runBoth(linearModel('matmul')));
  });

  it('a Gemm whose float output is not quantized again becomes QGemm with a float output', async () => {
    const t = new Qdq();
    const x = t.b.input('x', 'float32', [3, 24]);
    const a = t.dq(t.q(x, 0.015, 120), 0.015, 120);
    const scales = Array.from({ length: 7 }, (_, j) => f(0.002 + 0.0005 * j));
    const [y] = t.b.node('Gemm', [a, t.weight([7, 24], scales, 0, 5), t.bias([10, -20, 30, -40, 50, -60, 70], 0.015, scales)], { transB: 1 });
    t.b.output(y!);
    const m = build(t, { x: [3, 24] });
    const fused = runBasicPasses(m.graph).nodes.find((n) => n.opType === 'QGemm')!;
    expect(fused.domain).toBe(MS);
    expect(fused.inputs).toHaveLength(7); // no y_scale / y_zero_point: float output
    const r = await runBoth(m);
    // Same real-valued sum; only float32 rounding differs (the integer path is exact before one scaling).
    r.plain[0]!.forEach((v, i) => expect(Math.abs(v - r.fused[0]![i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v))));
    expect(new Set(r.plain[0]!).size).toBeGreaterThan(10);
  });

  it('Gemm with alpha != 1 stays in float', () => {
    expect(opsAfterPasses(linearModel('gemm', { alpha: 2 }).graph)).toContain('Gemm');
  });
});

describe('fuseQdq: operators that run on the 8-bit tensor', () => {
  function chain(op: 'MaxPool' | 'Reshape' | 'Transpose' | 'Flatten', sameParams: boolean): Built {
    const t = new Qdq();
    const x = t.b.input('x', 'float32', [1, 4, 6, 6]);
    const q = t.q(x, 0.02, 128);
    const d = t.dq(q, 0.02, 128);
    const attrs: Record<string, unknown> = op === 'MaxPool' ? { kernel_shape: [2, 2], strides: [2, 2] } : op === 'Transpose' ? { perm: [0, 2, 3, 1] } : {};
    const inputs = op === 'Reshape' ? [d, t.param(tensor('int64', [2], [4, 36]))] : [d];
    const [y] = t.b.node(op, inputs, attrs as never);
    t.b.output(t.q(y!, sameParams ? 0.02 : 0.025, 128));
    return build(t, { x: [1, 4, 6, 6] });
  }

  for (const op of ['MaxPool', 'Reshape', 'Transpose', 'Flatten'] as const) {
    it(`${op} with equal parameters on both sides runs on uint8, bit-exactly`, async () => {
      const m = chain(op, true);
      expect(opsAfterPasses(m.graph)).toEqual(['QuantizeLinear', op]);
      expectWithinOneStep(await runBoth(m), 1);
    });
  }

  it('is not applied when the parameters differ', () => {
    expect(opsAfterPasses(chain('MaxPool', false).graph)).toContain('DequantizeLinear');
  });

  it('Add, GlobalAveragePool, Concat and a lone Relu become the com.microsoft QLinear operators', async () => {
    const t = new Qdq();
    const x = t.b.input('x', 'float32', [1, 3, 5, 5]);
    const y = t.b.input('y', 'float32', [1, 3, 5, 5]);
    const xq = t.q(x, 0.02, 128);
    const yq = t.q(y, 0.03, 100);
    const [sum] = t.b.node('Add', [t.dq(xq, 0.02, 128), t.dq(yq, 0.03, 100)]);
    const sq = t.q(sum!, 0.04, 120);
    const [relu] = t.b.node('Relu', [t.dq(sq, 0.04, 120)]);
    const rq = t.q(relu!, 0.04, 120);
    const [cat] = t.b.node('Concat', [t.dq(rq, 0.04, 120), t.dq(xq, 0.02, 128)], { axis: 1 });
    const cq = t.q(cat!, 0.035, 110);
    const [gap] = t.b.node('GlobalAveragePool', [t.dq(cq, 0.035, 110)]);
    t.b.output(cq);
    t.b.output(t.q(gap!, 0.01, 128));
    const m = build(t, { x: [1, 3, 5, 5], y: [1, 3, 5, 5] });
    expect(opsAfterPasses(m.graph).sort()).toEqual(
      ['QuantizeLinear', 'QuantizeLinear', `${MS}.QLinearAdd`, `${MS}.QLinearLeakyRelu`, `${MS}.QLinearConcat`, `${MS}.QLinearGlobalAveragePool`].sort(),
    );
    for (const seed of [1, 7]) expectWithinOneStep(await runBoth(m, seed), 0.95);
  });
});

describe('fuseQdq: elementwise chains from one 8-bit tensor become a 256-entry table (tinfer.QLinearLookup)', () => {
  /** x → Q → S, then `chain(t, S)` → the 8-bit output (also dequantized, so float consumers see it too). */
  function chainModel(shape: number[], dt: 'uint8' | 'int8', chain: (t: Qdq, s: string, z: number) => string, extraOutput?: (t: Qdq) => string | undefined): Built {
    const t = new Qdq();
    const x = t.b.input('x', 'float32', shape);
    const z = dt === 'uint8' ? 128 : 0;
    const s = t.q(x, 0.05, z, dt);
    t.b.output(chain(t, s, z));
    const extra = extraOutput?.(t);
    if (extra !== undefined) t.b.output(extra);
    return build(t, { x: shape });
  }

  /** EfficientNet's QDQ SiLU: Mul(DQ(S), DQ(Q(Sigmoid(DQ(S))))) → Q. */
  const silu = (dt: 'uint8' | 'int8') => (t: Qdq, s: string, z: number) => {
    const sig = t.b.node('Sigmoid', [t.dq(s, 0.05, z, dt)])[0]!;
    const sigQ = t.dq(t.q(sig, 1 / 256, dt === 'uint8' ? 0 : -128, dt), 1 / 256, dt === 'uint8' ? 0 : -128, dt);
    const mul = t.b.node('Mul', [t.dq(s, 0.05, z, dt), sigQ])[0]!;
    return t.q(mul, 0.04, dt === 'uint8' ? 20 : -100, dt);
  };

  /** x·clip(x + 3, 0, 6)/6 in float between a DQ and a Q (MobileNetV3's hard-swish as exporters decompose it). */
  const hardSwish = (dt: 'uint8' | 'int8') => (t: Qdq, s: string, z: number) => {
    const x = t.dq(s, 0.05, z, dt);
    const add = t.b.node('Add', [x, t.param(tensor('float32', [], [3]))])[0]!;
    const clip = t.b.node('Clip', [add, t.param(tensor('float32', [], [0])), t.param(tensor('float32', [], [6]))])[0]!;
    const mul = t.b.node('Mul', [x, clip])[0]!;
    const div = t.b.node('Div', [mul, t.param(tensor('float32', [], [6]))])[0]!;
    return t.q(div, 0.03, dt === 'uint8' ? 10 : -120, dt);
  };

  /** Feeds that quantize to every byte: x = (b − z)·0.05 for b over the type's range. */
  function everyByte(dt: 'uint8' | 'int8'): Tensor {
    const z = dt === 'uint8' ? 128 : 0;
    const lo = dt === 'uint8' ? 0 : -128;
    return new Tensor('float32', Float32Array.from({ length: 256 }, (_, i) => (lo + i - z) * 0.05), [1, 256]);
  }

  for (const dt of ['uint8', 'int8'] as const) {
    for (const [name, chain] of [['SiLU with an inner Q/DQ pair', silu], ['decomposed hard-swish', hardSwish]] as const) {
      it(`${dt} ${name}: one lookup, equal to the float chain on every byte and on random tensors`, async () => {
        const m = chainModel([2, 13, 7, 5], dt, chain(dt));
        expect(opsAfterPasses(m.graph)).toEqual(['QuantizeLinear', 'tinfer.QLinearLookup']);
        expectWithinOneStep(await runBoth(m), 0.99);
        // Every byte through the float ops one by one (the js reference kernels) and through the table.
        const sweep = chainModel([1, 256], dt, chain(dt));
        const plain = await InferenceSession.create(sweep.bytes, { optimize: false, backend: 'js' });
        const fused = await InferenceSession.create(sweep.bytes, { profile: true });
        const a = Array.from(plain.runSync({ x: everyByte(dt) })[plain.outputNames[0]!]!.data as Int8Array);
        const b = Array.from(fused.runSync({ x: everyByte(dt) })[fused.outputNames[0]!]!.data as Int8Array);
        expect(new Set(a).size).toBeGreaterThan(20);
        expect(b).toEqual(a);
        const profile = fused.profile();
        expect(profile.find((p) => p.opType === 'QLinearLookup')?.variant).toMatch(/_qlinearlookup__(wasm|ref)$/);
      });
    }
  }

  it('a squeeze-excitation product DQ(x)·DQ(s) → Q becomes com.microsoft QLinearMul, bit for bit the float nodes', async () => {
    for (const [xShape, sShape] of [[[2, 13, 7, 5], [2, 13, 1, 1]], [[1, 24, 3, 3], [1, 24, 1, 1]]] as const) {
      const t = new Qdq();
      const x = t.q(t.b.input('x', 'float32', [...xShape]), 0.05, 128);
      const sc = t.q(t.b.node('Sigmoid', [t.b.input('s', 'float32', [...sShape])])[0]!, 1 / 256, 0);
      t.b.output(t.q(t.b.node('Mul', [t.dq(x, 0.05, 128), t.dq(sc, 1 / 256, 0)])[0]!, 0.03, 100));
      const m = build(t, { x: [...xShape], s: [...sShape] });
      expect(opsAfterPasses(m.graph)).toContain(`${MS}.QLinearMul`);
      const r = await runBoth(m, 3);
      expect(r.fused).toEqual(r.plain);
      expect(new Set(r.plain[0]).size).toBeGreaterThan(20);
    }
  });

  it('two different 8-bit sources (DQ(A)·DQ(B)) are not a lookup', () => {
    const t = new Qdq();
    const a = t.q(t.b.input('a', 'float32', [3, 4]), 0.05, 128);
    const b = t.q(t.b.input('b', 'float32', [3, 4]), 0.02, 100);
    t.b.output(t.q(t.b.node('Mul', [t.dq(a, 0.05, 128), t.dq(b, 0.02, 100)])[0]!, 0.04, 20));
    expect(opsAfterPasses(build(t, { a: [3, 4], b: [3, 4] }).graph)).not.toContain('tinfer.QLinearLookup');
  });

  it('a scalar operand of higher rank broadcasts the output to its rank (min_rank), as the float chain does', async () => {
    const m = chainModel([5], 'uint8', (t, s, z) => {
      const add = t.b.node('Add', [t.dq(s, 0.05, z), t.param(tensor('float32', [1, 1, 1], [0.5]))])[0]!;
      return t.q(t.b.node('Sigmoid', [add])[0]!, 1 / 256, 0);
    });
    expect(opsAfterPasses(m.graph)).toEqual(['QuantizeLinear', 'tinfer.QLinearLookup']);
    const r = await runBoth(m);
    expect(r.fused).toEqual(r.plain);
    const fused = await InferenceSession.create(m.bytes);
    const out = fused.runSync({ x: new Tensor('float32', new Float32Array([-1, 0, 1, 2, 3]), [5]) });
    expect(out[fused.outputNames[0]!]!.dims).toEqual([1, 1, 5]);
  });

  it('an intermediate value read elsewhere (a graph output) keeps its producer', async () => {
    let sigmoid = '';
    const m = chainModel([2, 6, 4], 'uint8', (t, s, z) => {
      sigmoid = t.b.node('Sigmoid', [t.dq(s, 0.05, z)])[0]!;
      return t.q(t.b.node('Mul', [t.dq(s, 0.05, z), sigmoid])[0]!, 0.04, 20);
    }, () => sigmoid);
    const ops = opsAfterPasses(m.graph);
    expect(ops).toContain('tinfer.QLinearLookup');
    expect(ops).toContain('Sigmoid');
    const r = await runBoth(m);
    expect(r.fused[1]).toEqual(r.plain[1]);
    expectWithinOneStep({ plain: [r.plain[0]!], fused: [r.fused[0]!] }, 0.99);
  });
});

const MNIST_INT8 = join(MODEL_ZOO, 'mnist_cnn_int8');

describe.skipIf(!sharedAvailable(MNIST_INT8, 'fuseQdq on mnist_cnn_int8'))('fuseQdq on mnist_cnn_int8 (PyTorch qnnpack QDQ export)', () => {
  const dir = MNIST_INT8;
  it('runs both Conv and both Gemm in integer form and agrees with the float QDQ run within one output step', async () => {
    const bytes = new Uint8Array(readFileSync(join(dir, 'model.onnx')));
    const ops = opsAfterPasses(decodeModel(bytes).graph);
    expect(ops.filter((o) => o === 'QLinearConv')).toHaveLength(2);
    expect(ops.filter((o) => o.endsWith('QGemm'))).toHaveLength(2);
    expect(ops).not.toContain('Conv');
    expect(ops).not.toContain('Gemm');
    const plain = await InferenceSession.create(bytes, { optimize: false });
    const fused = await InferenceSession.create(bytes);
    for (const seed of [1, 2, 3]) {
      const x = new Tensor('float32', randomTensor([1, 1, 28, 28], seed, 0, 1).data as Float32Array, [1, 1, 28, 28]);
      const a = plain.runSync({ input: x }).output!.data as Float32Array;
      const b = fused.runSync({ input: x }).output!.data as Float32Array;
      // Softmax of logits quantized with scale 0.002275: one step in a logit moves a probability by at most that.
      a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(0.0023));
    }
  });
});


