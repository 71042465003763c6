/**
 * float16 graphs compute in float32 (src/graph/passes/float16-compute-f32.ts): each network is built three ways,
 * as onnxconverter-common writes float16 models (float16 interface; keep_io_types with Cast at the inputs and
 * outputs) and as the float32 original with the same (float16-valued) weights, and the float16 models must give
 * the float32 model's numbers.
 */
import { describe, expect, it } from 'vitest';
import type { DType, TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import { computeFloat16InFloat32, emptyFloat16Report } from '../src/graph/passes/float16-compute-f32.js';
import { float16BitsToFloat32, float32ToFloat16Bits, roundToFloat16 } from '../src/loader/float16.js';
import { decodeTensor, encodeTensor } from '../src/loader/index.js';
import { F, ModelBuilder } from './onnx-builder.js';
import { expectClose, rng, tensor } from './harness.js';

/** 'f16': float16 inputs/outputs; 'keep-io': float32 inputs/outputs with Cast to/from float16; 'f32': the original. */
type Mode = 'f16' | 'keep-io' | 'f32';

interface Ctx {
  b: ModelBuilder;
  /** The float type of weights and intermediates. */
  T: DType;
  /** A weight of this shape (values in ±scale, rounded to float16 in every mode). */
  w: (shape: number[], scale?: number) => string;
  /** A scalar Constant node. */
  c: (value: number) => string;
  /** ONNX code of T, for Cast(to=T). */
  code: number;
}

interface Net {
  inputShape: number[];
  /** Weights as Constant nodes instead of initializers. */
  constantWeights?: boolean;
  build(ctx: Ctx, x: string): string;
}

function buildModel(net: Net, mode: Mode): ModelBuilder {
  const b = new ModelBuilder({ opset: 17 });
  const T: DType = mode === 'f32' ? 'float32' : 'float16';
  const io: DType = mode === 'f16' ? 'float16' : 'float32';
  const r = rng(11);
  const w = (shape: number[], scale = 0.5): string => {
    const n = shape.reduce((a, d) => a * d, 1);
    const t = tensor(T, shape, Array.from({ length: n }, () => roundToFloat16((r() * 2 - 1) * scale)));
    if (net.constantWeights) return b.node('Constant', [], { value: t })[0]!;
    return b.initializer(`w${b.toGraph().initializers.size}`, t);
  };
  const c = (v: number): string => b.node('Constant', [], { value: tensor(T, [], [roundToFloat16(v)]) })[0]!;
  let x = b.input('x', io, net.inputShape);
  if (mode === 'keep-io') x = b.node('Cast', [x], { to: 10 })[0]!;
  let y = net.build({ b, T, w, c, code: T === 'float16' ? 10 : 1 }, x);
  if (mode === 'keep-io') y = b.node('Cast', [y], { to: 1 })[0]!;
  b.output(y, { dtype: io, shape: null });
  return b;
}

function inputValues(shape: number[]): Float32Array {
  const r = rng(3);
  return Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => roundToFloat16(r() * 4 - 2));
}

function run(net: Net, mode: Mode, options: { float16?: 'compute-f32' | 'exact'; profile?: boolean } = {}): { out: TensorData; session: InferenceSession } {
  const session = InferenceSession.createSync(buildModel(net, mode).toBytes(), options);
  const x = inputValues(net.inputShape);
  const feed =
    mode === 'f16'
      ? new Tensor('float16', Uint16Array.from(x, (v) => float32ToFloat16Bits(v)), net.inputShape)
      : new Tensor('float32', x, net.inputShape);
  const out = session.runSync({ x: feed })[session.outputNames[0]!]!;
  const data = out.type === 'float16' ? Float32Array.from(out.data as Uint16Array, float16BitsToFloat32) : (out.data as Float32Array);
  return { out: { dtype: 'float32', shape: [...out.dims], data }, session };
}

/** Conv → Add → Mul → Sigmoid, times the Mul (a SiLU): the convolutional shape of a float16 CNN. */
const convNet: Net = {
  inputShape: [1, 3, 8, 8],
  build({ b, w }, x) {
    const [y] = b.node('Conv', [x, w([4, 3, 3, 3]), w([4])], { pads: [1, 1, 1, 1] });
    const [z] = b.node('Add', [y!, w([4, 1, 1])]);
    const [m] = b.node('Mul', [z!, w([4, 1, 1])]);
    const [s] = b.node('Sigmoid', [m!]);
    return b.node('Mul', [m!, s!])[0]!;
  },
};

/** MatMul + bias → GELU (Erf form) → MatMul + bias → residual → LayerNorm written out (ReduceMean … Sqrt, Div). */
function transformerNet(constantWeights = false): Net {
  return {
    inputShape: [2, 5, 16],
    constantWeights,
    build({ b, w, c }, x) {
      const [h] = b.node('Add', [b.node('MatMul', [x, w([16, 32])])[0]!, w([32], 0.1)]);
      const [u] = b.node('Div', [h!, c(Math.SQRT2)]);
      const [e] = b.node('Erf', [u!]);
      const [one] = b.node('Add', [e!, c(1)]);
      const [hx] = b.node('Mul', [h!, one!]);
      const [gelu] = b.node('Mul', [hx!, c(0.5)]);
      const [o] = b.node('Add', [b.node('MatMul', [gelu!, w([32, 16])])[0]!, w([16], 0.1)]);
      const [res] = b.node('Add', [o!, x]);
      const [mean] = b.node('ReduceMean', [res!], { axes: [-1] });
      const [d] = b.node('Sub', [res!, mean!]);
      const [sq] = b.node('Pow', [d!, c(2)]);
      const [v] = b.node('ReduceMean', [sq!], { axes: [-1] });
      const [ve] = b.node('Add', [v!, c(1e-5)]);
      const [sd] = b.node('Sqrt', [ve!]);
      const [n] = b.node('Div', [d!, sd!]);
      const [g] = b.node('Mul', [n!, w([16], 1)]);
      return b.node('Add', [g!, w([16], 0.1)])[0]!;
    },
  };
}

/**
 * What a converter writes around blocked ops and shape arithmetic: Cast(to=float) → Softmax → Cast(to=float16),
 * a Shape → Gather → Cast(int64 → float16) divisor, and ConstantOfShape with a float16 value.
 */
const castNet: Net = {
  inputShape: [2, 3, 6],
  build({ b, w, code }, x) {
    const [m] = b.node('Mul', [x, w([6])]);
    const [up] = b.node('Cast', [m!], { to: 1 });
    const [sm] = b.node('Softmax', [up!], { axis: -1 });
    const [down] = b.node('Cast', [sm!], { to: code });
    const [shape] = b.node('Shape', [x]);
    const [last] = b.node('Gather', [shape!, b.initializer('minus1', tensor('int64', [], [-1]))]);
    const [lastF] = b.node('Cast', [last!], { to: code });
    const [scaled] = b.node('Mul', [down!, lastF!]);
    const half = tensor(code === 10 ? 'float16' : 'float32', [1], [0.5]);
    const [halves] = b.node('ConstantOfShape', [shape!], { value: half });
    return b.node('Add', [scaled!, halves!])[0]!;
  },
};

const cases: [string, Net][] = [
  ['Conv + Add + Mul + Sigmoid', convNet],
  ['MatMul + GELU (Erf) + LayerNorm (decomposed)', transformerNet()],
  ['Cast pairs, int64 → float16 Cast, ConstantOfShape', castNet],
  ['Constant-node weights', transformerNet(true)],
];

describe('float16 models compute in float32', () => {
  for (const [name, net] of cases) {
    it(`${name}: float16 inputs/outputs give the float32 model's numbers`, () => {
      const ref = run(net, 'f32').out;
      expectClose(run(net, 'f16').out, ref, 1e-3, 1e-4);
    });
    it(`${name}: keep_io_types (float32 inputs/outputs) gives the float32 model's numbers`, () => {
      const ref = run(net, 'f32').out;
      expectClose(run(net, 'keep-io').out, ref, 1e-3, 1e-4);
    });
    it(`${name}: no float16 node runs, apart from the output's conversion`, () => {
      const { session } = run(net, 'f16', { profile: true });
      const f16 = session.profile().filter((p) => p.variant.startsWith('f16_'));
      expect(f16.map((p) => p.node)).toEqual([session.outputNames[0] + '_to_float16']);
      const { session: keep } = run(net, 'keep-io', { profile: true });
      expect(keep.profile().filter((p) => p.variant.startsWith('f16_') || p.opType === 'Cast')).toEqual([]);
    });
  }

  it('the GELU and LayerNorm patterns fuse after the pass', () => {
    for (const mode of ['f16', 'keep-io'] as const) {
      const ops = runBasicPasses(buildModel(transformerNet(), mode).toModel().graph).nodes.map((n) => n.opType);
      expect(ops).toContain('Gelu');
      expect(ops).toContain('LayerNormalization');
      expect(ops).not.toContain('Erf');
      expect(ops).not.toContain('ReduceMean');
      expect(ops.filter((o) => o === 'Cast')).toHaveLength(mode === 'f16' ? 2 : 0);
    }
  });

  it('the Conv takes the Add and Mul into its weights and the activation into its epilogue', () => {
    const ops = runBasicPasses(buildModel(convNet, 'keep-io').toModel().graph).nodes.map((n) => n.opType);
    expect(ops).not.toContain('Add');
    expect(ops).not.toContain('Cast');
  });

  it('rewrites types, constants and casts, and says so', () => {
    const graph = buildModel(castNet, 'f16').toModel().graph;
    const report = emptyFloat16Report();
    const out = computeFloat16InFloat32(graph, report);
    expect(report).toEqual({ initializers: 1, constants: 1, castsRemoved: 2, retargeted: 2, valueTypes: 0, boundaryInputs: 1, boundaryOutputs: 1 });
    expect([...out.initializers.values()].every((t) => t.dtype !== 'float16')).toBe(true);
    // The int64 → float16 Cast now casts to float32; the Softmax pair became Identity.
    const producer = (name: string): string => out.nodes.find((n) => n.outputs.includes(name))?.opType ?? name;
    const casts = out.nodes.filter((n) => n.opType === 'Cast').map((n) => `${producer(n.inputs[0]!)}→${n.attributes.get('to')?.value}`);
    expect(casts).toEqual(['x→1', 'Gather→1', 'Add→10']);
    expect(out.nodes.filter((n) => n.opType === 'Identity')).toHaveLength(2);
    expect(out.inputs[0]!.type).toEqual({ kind: 'tensor', dtype: 'float16', shape: [2, 3, 6] });
  });

  it('retargets dtype attributes that name float16 (EyeLike, RandomUniform) and runs them in float32', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float16', [3, 3]);
    const [eye] = b.node('EyeLike', [x], { dtype: 10 });
    const [noise] = b.node('RandomUniform', [], { dtype: 10, shape: [3, 3], low: new F(0), high: new F(0) });
    const [y] = b.node('Add', [b.node('Mul', [x, eye!])[0]!, noise!]);
    b.output(y!, { dtype: 'float16', shape: [3, 3] });
    const report = emptyFloat16Report();
    const out = computeFloat16InFloat32(b.toModel().graph, report);
    expect(report.retargeted).toBe(2);
    expect(out.nodes.filter((n) => n.attributes.has('dtype')).map((n) => n.attributes.get('dtype')!.value)).toEqual([1, 1]);
    const session = InferenceSession.createSync(b.toBytes(), { profile: true });
    const bits = Uint16Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9], (v) => float32ToFloat16Bits(v));
    const got = session.runSync({ x: new Tensor('float16', bits, [3, 3]) })[y!]!;
    expect(Array.from(got.data as Uint16Array, float16BitsToFloat32)).toEqual([1, 0, 0, 0, 5, 0, 0, 0, 9]);
    expect(session.profile().filter((p) => p.variant.startsWith('f16_')).map((p) => p.opType)).toEqual(['Cast']);
  });

  it('leaves float32 graphs alone (same object)', () => {
    const graph = buildModel(castNet, 'f32').toModel().graph;
    expect(computeFloat16InFloat32(graph)).toBe(graph);
  });

  it('relabels value_info and subgraph types', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float16', [3]);
    b.input('cond', 'bool', []);
    const then = b.subgraph('then');
    then.node('Mul', [x, x], {}, { outputs: ['sq'] });
    then.output('sq', { dtype: 'float16', shape: [3] });
    const other = b.subgraph('else');
    other.node('Neg', [x], {}, { outputs: ['neg'] });
    other.output('neg', { dtype: 'float16', shape: [3] });
    const [y] = b.node('If', ['cond'], { then_branch: then, else_branch: other });
    b.info(y!, { dtype: 'float16', shape: [3] });
    const [z] = b.node('Add', [y!, y!]);
    b.output(z!, { dtype: 'float16', shape: [3] });
    const session = InferenceSession.createSync(b.toBytes());
    const bits = Uint16Array.from([1, -2, 3], (v) => float32ToFloat16Bits(v));
    const run1 = (c: boolean): number[] =>
      Array.from(session.runSync({ x: new Tensor('float16', bits, [3]), cond: new Tensor('bool', [c ? 1 : 0], []) })[z!]!.data as Uint16Array, float16BitsToFloat32);
    expect(run1(true)).toEqual([2, 8, 18]);
    expect(run1(false)).toEqual([-2, 4, -6]);
    const report = emptyFloat16Report();
    const out = computeFloat16InFloat32(b.toModel().graph, report);
    expect(report.valueTypes).toBe(3);
    const body = out.nodes.find((n) => n.opType === 'If')!.attributes.get('then_branch')!;
    expect(body.type === 'graph' && body.value.nodes[0]!.inputs).toEqual(['x_float32', 'x_float32']);
  });

  it("float16: 'exact' keeps every intermediate in float16, and the session reports the pass", () => {
    const exact = run(convNet, 'f16', { float16: 'exact', profile: true }).session;
    expect(exact.passNotes).toEqual([]);
    expect(exact.profile().some((p) => p.variant.startsWith('f16_') && p.opType === 'Sigmoid')).toBe(true);
    const fast = run(convNet, 'f16').session;
    expect(fast.passNotes[0]).toMatch(/^float16 computed in float32: 4 initializers/);
  });

  it('also runs with optimize: false', () => {
    const ref = run(castNet, 'f32', { }).out;
    const session = InferenceSession.createSync(buildModel(castNet, 'f16').toBytes(), { optimize: false, profile: true });
    expect(session.passNotes).toHaveLength(1);
    const x = inputValues(castNet.inputShape);
    const out = session.runSync({ x: new Tensor('float16', Uint16Array.from(x, (v) => float32ToFloat16Bits(v)), castNet.inputShape) })[session.outputNames[0]!]!;
    expectClose({ dtype: 'float32', shape: [...out.dims], data: Float32Array.from(out.data as Uint16Array, float16BitsToFloat32) }, ref, 1e-3, 1e-4);
  });
});

describe('float16 weights load fast and exactly', () => {
  it('the loader widens every float16 bit pattern to the value float16BitsToFloat32 gives (signed zeros, subnormals, Inf, NaN)', () => {
    const values = Float32Array.from({ length: 65536 }, (_, b) => float16BitsToFloat32(b));
    const back = decodeTensor(encodeTensor({ dtype: 'float16', shape: [65536], data: values })).data as Float32Array;
    for (let b = 0; b < 65536; b++) {
      if (!Object.is(back[b], values[b]) && !(Number.isNaN(back[b]) && Number.isNaN(values[b]))) {
        throw new Error(`bits 0x${b.toString(16)}: got ${back[b]}, expected ${values[b]}`);
      }
    }
  });
});
