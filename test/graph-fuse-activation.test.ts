import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import { FUSED_ACTIVATION_ATTR, FUSED_ACTIVATION_PARAMS_ATTR, fuseActivation } from '../src/graph/passes/fuse-activation.js';
import type { Graph } from '../src/loader/model.js';
import { ModelBuilder, F } from './onnx-builder.js';
import { expectClose, randomTensor } from './harness.js';

type Producer = 'Conv' | 'Gemm' | 'MatMul' | 'MatMulAdd';

/** Appends the activation `kind` after `y` and returns its output. */
function addActivation(b: ModelBuilder, kind: string, y: string): string {
  switch (kind) {
    case 'Relu':
    case 'Sigmoid':
    case 'HardSwish':
      return b.node(kind, [y])[0]!;
    case 'LeakyRelu':
      return b.node('LeakyRelu', [y], { alpha: new F(0.2) })[0]!;
    case 'Relu6': {
      const lo = b.initializer('lo', { dtype: 'float32', shape: [], data: Float32Array.of(0) });
      const hi = b.initializer('hi', { dtype: 'float32', shape: [], data: Float32Array.of(6) });
      return b.node('Clip', [y, lo, hi])[0]!;
    }
    case 'ClipMinOnly': {
      const lo = b.initializer('lo', { dtype: 'float32', shape: [], data: Float32Array.of(-0.25) });
      return b.node('Clip', [y, lo])[0]!;
    }
    case 'SiLU': {
      const [s] = b.node('Sigmoid', [y]);
      return b.node('Mul', [s!, y])[0]!;
    }
    default:
      throw new Error(kind);
  }
}

/** x -> producer (constant weights, scaled so outputs cross the activations' knees) -> activation -> output. */
function model(producer: Producer, kind: string, opts: { exposeProducer?: boolean } = {}): { bytes: Uint8Array; x: TensorData } {
  const b = new ModelBuilder({ opset: 17 });
  let x: TensorData;
  let y: string;
  if (producer === 'Conv') {
    x = randomTensor([1, 13, 7, 9], 1, -3, 3);
    const xin = b.input('x', 'float32', x.shape);
    const w = b.initializer('w', randomTensor([8, 13, 3, 3], 2, -0.5, 0.5));
    const bias = b.initializer('b', randomTensor([8], 3));
    [y] = b.node('Conv', [xin, w, bias], { pads: [1, 1, 1, 1] }) as [string];
  } else if (producer === 'MatMulAdd') {
    // A 3-D Linear (MatMul + bias Add): fuse-matmul-add makes it tinfer.MatMulAdd before this pass runs.
    x = randomTensor([2, 5, 13], 1, -3, 3);
    const xin = b.input('x', 'float32', x.shape);
    const w = b.initializer('w', randomTensor([13, 11], 2));
    const c = b.initializer('c', randomTensor([11], 3));
    const [mm] = b.node('MatMul', [xin, w]);
    [y] = b.node('Add', [mm!, c]) as [string];
  } else {
    x = randomTensor([5, 13], 1, -3, 3);
    const xin = b.input('x', 'float32', x.shape);
    const w = b.initializer('w', randomTensor([13, 11], 2));
    if (producer === 'Gemm') {
      const c = b.initializer('c', randomTensor([11], 3));
      [y] = b.node('Gemm', [xin, w, c], { alpha: new F(1.5) }) as [string];
    } else {
      [y] = b.node('MatMul', [xin, w]) as [string];
    }
  }
  const z = addActivation(b, kind, y);
  b.output(z);
  if (opts.exposeProducer) b.output(y);
  return { bytes: b.toBytes(), x };
}

function run(bytes: Uint8Array, x: TensorData, optimize: boolean): TensorData {
  const s = InferenceSession.createSync(bytes, { optimize });
  const out = s.runSync({ x: new Tensor('float32', x.data as Float32Array, x.shape) })[s.outputNames[0]!]!;
  return { dtype: 'float32', shape: [...out.dims], data: out.data as Float32Array };
}

function graphOf(bytes: Uint8Array): Graph {
  return InferenceSession.createSync(bytes, { optimize: false }).model.graph;
}

const ACTIVATIONS: [string, string][] = [
  ['Relu', 'relu'], ['Relu6', 'clip'], ['ClipMinOnly', 'clip'], ['LeakyRelu', 'leakyrelu'],
  ['HardSwish', 'hardswish'], ['Sigmoid', 'sigmoid'], ['SiLU', 'silu'],
];

describe('fuseActivation', () => {
  for (const producer of ['Conv', 'Gemm', 'MatMul', 'MatMulAdd'] as Producer[]) {
    for (const [kind, fused] of ACTIVATIONS) {
      it(`${producer} + ${kind} becomes one ${producer} with activation '${fused}', outputs unchanged`, () => {
        const { bytes, x } = model(producer, kind);
        const optimised = runBasicPasses(graphOf(bytes));
        expect(optimised.nodes.map((n) => n.opType)).toEqual([producer]);
        const attr = optimised.nodes[0]!.attributes.get(FUSED_ACTIVATION_ATTR);
        expect(attr).toEqual({ type: 'string', value: fused });
        expectClose(run(bytes, x, true), run(bytes, x, false), 1e-5, 1e-6);
      });
    }
  }

  it('float64 tinfer.MatMulAdd + LeakyRelu fuses and matches the unfused graph', () => {
    const b = new ModelBuilder({ opset: 17 });
    const r = randomTensor([3, 4, 6], 5, -3, 3);
    const x: TensorData = { dtype: 'float64', shape: r.shape, data: Float64Array.from(r.data as Float32Array) };
    const xin = b.input('x', 'float64', x.shape);
    const w = randomTensor([6, 7], 6);
    const c = randomTensor([7], 7);
    const [mm] = b.node('MatMul', [xin, b.initializer('w', { ...w, dtype: 'float64', data: Float64Array.from(w.data as Float32Array) })]);
    const [y] = b.node('Add', [mm!, b.initializer('c', { ...c, dtype: 'float64', data: Float64Array.from(c.data as Float32Array) })]);
    const [z] = b.node('LeakyRelu', [y!], { alpha: new F(0.2) });
    b.output(z!);
    const bytes = b.toBytes();
    const optimised = runBasicPasses(graphOf(bytes));
    expect(optimised.nodes.map((n) => `${n.domain}:${n.opType}`)).toEqual(['tinfer:MatMulAdd']);
    const runF64 = (optimize: boolean): TensorData => {
      const s = InferenceSession.createSync(bytes, { optimize });
      const out = s.runSync({ x: new Tensor('float64', x.data as Float64Array, x.shape) })[s.outputNames[0]!]!;
      return { dtype: 'float64', shape: [...out.dims], data: out.data as Float64Array };
    };
    const want = runF64(false);
    expect((want.data as Float64Array).some((v) => v < 0)).toBe(true);
    expectClose(runF64(true), want, 1e-12, 1e-12);
  });

  it('stores the parameters: Relu6 bounds, LeakyRelu alpha, an omitted Clip max as +Infinity', () => {
    const params = (kind: string) => fuseActivation(graphOf(model('Conv', kind).bytes)).nodes[0]!.attributes.get(FUSED_ACTIVATION_PARAMS_ATTR);
    expect(params('Relu6')).toEqual({ type: 'floats', value: [0, 6] });
    expect(params('ClipMinOnly')).toEqual({ type: 'floats', value: [-0.25, Infinity] });
    const alpha = params('LeakyRelu');
    expect(alpha?.type === 'floats' && Math.abs(alpha.value[0]! - 0.2) < 1e-7).toBe(true);
  });

  it('leaves the pair alone when the producer output is also a graph output', () => {
    const { bytes, x } = model('Conv', 'Relu', { exposeProducer: true });
    expect(fuseActivation(graphOf(bytes)).nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu']);
    expectClose(run(bytes, x, true), run(bytes, x, false), 0, 0);
  });

  it('leaves Clip alone when a bound is a runtime value', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [1, 2, 3, 3]);
    const lo = b.input('lo', 'float32', []);
    const w = b.initializer('w', randomTensor([2, 2, 1, 1], 2));
    const [y] = b.node('Conv', [x, w]);
    const [z] = b.node('Clip', [y!, lo]);
    b.output(z!);
    expect(fuseActivation(graphOf(b.toBytes())).nodes.map((n) => n.opType)).toEqual(['Conv', 'Clip']);
  });

  it('does not fuse an integer MatMul (no float operand known)', () => {
    const b = new ModelBuilder({ opset: 17 });
    const a = b.input('a', 'int32', [2, 2]);
    const c = b.input('c', 'int32', [2, 2]);
    const [y] = b.node('MatMul', [a, c]);
    const [z] = b.node('Relu', [y!]);
    b.output(z!);
    expect(fuseActivation(graphOf(b.toBytes())).nodes.map((n) => n.opType)).toEqual(['MatMul', 'Relu']);
  });

  it('fuses SiLU only when the Sigmoid output feeds nothing else', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [1, 2, 3, 3]);
    const w = b.initializer('w', randomTensor([2, 2, 1, 1], 2));
    const [y] = b.node('Conv', [x, w]);
    const [s] = b.node('Sigmoid', [y!]);
    const [z] = b.node('Mul', [y!, s!]);
    b.output(z!);
    b.output(s!);
    expect(fuseActivation(graphOf(b.toBytes())).nodes.map((n) => n.opType)).toEqual(['Conv', 'Sigmoid', 'Mul']);
  });
});

describe('fuseActivation into a float Add (the residual sum)', () => {
  /** x -> Conv -> Add(conv, x) -> activation: a ResNet block's tail. */
  function residual(kind: string): { bytes: Uint8Array; x: TensorData } {
    const b = new ModelBuilder({ opset: 17 });
    const x = randomTensor([1, 6, 9, 11], 11, -3, 3);
    const xin = b.input('x', 'float32', x.shape);
    const w = b.initializer('w', randomTensor([6, 6, 3, 3], 12, -0.4, 0.4));
    const [y] = b.node('Conv', [xin, w], { pads: [1, 1, 1, 1] });
    const [s] = b.node('Add', [y!, xin]);
    b.output(addActivation(b, kind, s!));
    return { bytes: b.toBytes(), x };
  }

  function runOn(bytes: Uint8Array, x: TensorData, optimize: boolean, backend: 'js' | 'auto'): TensorData {
    const s = InferenceSession.createSync(bytes, { optimize, backend });
    const out = s.runSync({ x: new Tensor('float32', x.data as Float32Array, x.shape) })[s.outputNames[0]!]!;
    return { dtype: 'float32', shape: [...out.dims], data: out.data as Float32Array };
  }

  for (const [kind, fused] of ACTIVATIONS) {
    it(`Conv -> Add -> ${kind}: the Add carries '${fused}', outputs unchanged on both backends`, () => {
      const { bytes, x } = residual(kind);
      const optimised = runBasicPasses(graphOf(bytes));
      expect(optimised.nodes.map((n) => n.opType)).toEqual(['Conv', 'Add']);
      expect(optimised.nodes[1]!.attributes.get(FUSED_ACTIVATION_ATTR)).toEqual({ type: 'string', value: fused });
      for (const backend of ['js', 'auto'] as const) {
        const want = runOn(bytes, x, false, backend);
        expect((want.data as Float32Array).some((v) => v <= 0) || kind === 'Sigmoid').toBe(true);
        expectClose(runOn(bytes, x, true, backend), want, 1e-5, 1e-6);
      }
    });
  }

  it('does not fuse an Add with no float evidence (integer inputs)', () => {
    const b = new ModelBuilder({ opset: 17 });
    const a = b.input('a', 'int32', [2, 2]);
    const c = b.input('c', 'int32', [2, 2]);
    const [y] = b.node('Add', [a, c]);
    const [z] = b.node('Relu', [y!]);
    b.output(z!);
    expect(fuseActivation(graphOf(b.toBytes())).nodes.map((n) => n.opType)).toEqual(['Add', 'Relu']);
  });
});

describe('fuseActivation into BatchNormalization (pre-activation blocks)', () => {
  const PARAMS = { s: [0.5, 2, 1], bb: [-1, 1, 2], m: [-0.5, 0.5, 3], v: [0.2, 2, 4] } as const;
  const param = (name: keyof typeof PARAMS) => randomTensor([5], PARAMS[name][2], PARAMS[name][0], PARAMS[name][1]).data as Float32Array;

  /** x -> BatchNormalization (constant stats) -> activation, as DenseNet's Concat -> BN -> Relu. */
  function bnModel(kind: string, trainingMode = false): { bytes: Uint8Array; x: TensorData } {
    const b = new ModelBuilder({ opset: trainingMode ? 15 : 13 });
    const x = randomTensor([2, 5, 7, 9], 21, -3, 3);
    const xin = b.input('x', 'float32', x.shape);
    const p = (name: keyof typeof PARAMS) => b.initializer(name, { dtype: 'float32', shape: [5], data: param(name) });
    const [y] = b.node('BatchNormalization', [xin, p('s'), p('bb'), p('m'), p('v')], trainingMode ? { training_mode: 1 } : {});
    b.output(addActivation(b, kind, y!));
    return { bytes: b.toBytes(), x };
  }

  /** BatchNormalization (ε = 1e-5) then the activation, in float64. */
  function naiveBn(x: TensorData, act: (v: number) => number): TensorData {
    const [s, bb, m, v] = [param('s'), param('bb'), param('m'), param('v')];
    const out = Float32Array.from(x.data as Float32Array, (xv, i) => {
      const c = Math.floor(i / 63) % 5;
      return act((s[c]! * (xv - m[c]!)) / Math.sqrt(v[c]! + 1e-5) + bb[c]!);
    });
    return { dtype: 'float32', shape: x.shape, data: out };
  }

  const ACTS = {
    Relu: (v: number) => Math.max(0, v),
    Relu6: (v: number) => Math.min(6, Math.max(0, v)),
    SiLU: (v: number) => v / (1 + Math.exp(-v)),
  };
  for (const [kind, fused] of [['Relu', 'relu'], ['Relu6', 'clip'], ['SiLU', 'silu']] as const) {
    it(`BatchNormalization -> ${kind} fuses and matches a float64 reference on both backends, fused or not`, () => {
      const { bytes, x } = bnModel(kind);
      const optimised = runBasicPasses(graphOf(bytes));
      expect(optimised.nodes.map((n) => n.opType)).toEqual(['BatchNormalization']);
      expect(optimised.nodes[0]!.attributes.get(FUSED_ACTIVATION_ATTR)).toEqual({ type: 'string', value: fused });
      const want = naiveBn(x, ACTS[kind]);
      expect((want.data as Float32Array).some((v) => v === 0) || kind === 'SiLU').toBe(true);
      for (const backend of ['js', 'auto'] as const) {
        for (const optimize of [true, false]) {
          const s = InferenceSession.createSync(bytes, { optimize, backend });
          const out = s.runSync({ x: new Tensor('float32', x.data as Float32Array, x.shape) })[s.outputNames[0]!]!;
          expectClose({ dtype: 'float32', shape: [...out.dims], data: out.data as Float32Array }, want, 1e-5, 1e-6);
        }
      }
    });
  }

  it('leaves a training-mode BatchNormalization alone', () => {
    expect(fuseActivation(graphOf(bnModel('Relu', true).bytes)).nodes.map((n) => n.opType)).toEqual(['BatchNormalization', 'Relu']);
  });
});
