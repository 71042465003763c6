import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import { ModelBuilder } from './onnx-builder.js';
import { F, expectClose, randomTensor, tensor } from './harness.js';

// Decomposed hard-swish / hard-sigmoid as exporters write them become HardSwish / HardSigmoid (and fuse into a
// Conv before them); the fused graph computes what the unfused one does, checked against a formula too.

const X_SHAPE = [1, 4, 5, 3];
const x = randomTensor(X_SHAPE, 9, -5, 5);
const scalar = (v: number): TensorData => tensor('float32', [], [v]);

function run(b: ModelBuilder, optimize: boolean): TensorData {
  const s = InferenceSession.createSync(b.toBytes(), { optimize });
  const out = s.runSync({ x: new Tensor('float32', x.data as Float32Array, X_SHAPE) })[s.outputNames[0]!]!;
  return { dtype: 'float32', shape: [...out.dims], data: out.data as Float32Array };
}
const ops = (b: ModelBuilder): string[] => runBasicPasses(b.toModel().graph).nodes.map((n) => n.opType);
const formula = (f: (v: number) => number): TensorData => tensor('float32', X_SHAPE, Float32Array.from(x.data as Float32Array, f));
const hardSwish = (v: number): number => v * Math.min(Math.max(v / 6 + 0.5, 0), 1);

interface Form {
  /** Clip with attributes (opset 9) or constant inputs (opset 11+). */
  clipAttrs?: boolean;
  /** Divide by 6, or multiply by 1/6 (constant on either side). */
  scale?: 'div' | 'mul' | 'mulLeft';
  /** Scale the clip before multiplying by x: x * (clip(x+3,0,6)/6). */
  scaleFirst?: boolean;
  /** Constant-node operands instead of initializers. */
  constantNodes?: boolean;
}

function hardSwishModel(f: Form): ModelBuilder {
  const b = new ModelBuilder({ opset: f.clipAttrs ? 9 : 13 });
  b.input('x', 'float32', X_SHAPE);
  const k = (name: string, v: number): string =>
    f.constantNodes ? b.node('Constant', [], { value: scalar(v) }, { outputs: [name] })[0]! : b.initializer(name, scalar(v));
  const [t] = b.node('Add', ['x', k('three', 3)]);
  const [c] = f.clipAttrs ? b.node('Clip', [t!], { min: new F(0), max: new F(6) }) : b.node('Clip', [t!, k('zero', 0), k('six', 6)]);
  const scaleOf = (v: string): string => {
    if (f.scale === 'mul') return b.node('Mul', [v, k('sixth', 1 / 6)])[0]!;
    if (f.scale === 'mulLeft') return b.node('Mul', [k('sixth', 1 / 6), v])[0]!;
    return b.node('Div', [v, k('six2', 6)])[0]!;
  };
  const y = f.scaleFirst ? b.node('Mul', ['x', scaleOf(c!)])[0]! : scaleOf(b.node('Mul', [c!, 'x'])[0]!);
  b.output(y);
  return b;
}

describe('fuse-hardswish', () => {
  const forms: [string, Form][] = [
    ['x*clip(x+3,0,6)/6 (paddle2onnx, opset 13)', { scale: 'div' }],
    ['x*clip(x+3,0,6)*(1/6)', { scale: 'mul' }],
    ['(1/6)*(clip(x+3,0,6)*x), Constant nodes', { scale: 'mulLeft', constantNodes: true }],
    ['Clip with attributes (opset 9)', { clipAttrs: true }],
    ['x*(clip(x+3,0,6)/6): hard-sigmoid first', { scaleFirst: true }],
  ];
  for (const [name, form] of forms) {
    it(`${name} becomes one HardSwish`, () => {
      const b = hardSwishModel(form);
      expect(ops(b)).toEqual(['HardSwish']);
      const fused = run(b, true);
      expectClose(fused, run(b, false), 1e-5, 1e-6);
      expectClose(fused, formula(hardSwish), 1e-5, 1e-6);
    });
  }

  it('relu6(x+3)/6 alone becomes HardSigmoid(1/6, 1/2); Keras clip(0.2x+0.5,0,1) becomes HardSigmoid(0.2, 0.5)', () => {
    const b = new ModelBuilder({ opset: 13 });
    b.input('x', 'float32', X_SHAPE);
    const [t] = b.node('Add', ['x', b.initializer('three', scalar(3))]);
    // relu6 written as Relu then Clip (torch's F.relu6 in some exports)
    const [r] = b.node('Relu', [t!]);
    const [c] = b.node('Clip', [r!, b.initializer('zero', scalar(0)), b.initializer('six', scalar(6))]);
    const [g1] = b.node('Div', [c!, b.initializer('six2', scalar(6))]);
    const [m] = b.node('Mul', ['x', b.initializer('fifth', scalar(0.2))]);
    const [a] = b.node('Add', [m!, b.initializer('half', scalar(0.5))]);
    const [g2] = b.node('Clip', [a!, b.initializer('zero2', scalar(0)), b.initializer('one', scalar(1))]);
    b.output(b.node('Add', [g1!, g2!])[0]!);
    expect(ops(b).sort()).toEqual(['Add', 'HardSigmoid', 'HardSigmoid']);
    const hs = (alpha: number, beta: number) => (v: number) => Math.min(Math.max(alpha * v + beta, 0), 1);
    expectClose(run(b, true), formula((v) => hs(1 / 6, 0.5)(v) + hs(0.2, 0.5)(v)), 1e-5, 1e-6);
  });

  it('keeps the pattern when an intermediate has another reader, and rejects other constants', () => {
    const shared = hardSwishModel({ scale: 'div' });
    // Re-read the Clip output: the chain must stay.
    const b = new ModelBuilder({ opset: 13 });
    b.input('x', 'float32', X_SHAPE);
    const [t] = b.node('Add', ['x', b.initializer('three', scalar(3))]);
    const [c] = b.node('Clip', [t!, b.initializer('zero', scalar(0)), b.initializer('six', scalar(6))]);
    const [m] = b.node('Mul', ['x', c!]);
    const [y] = b.node('Div', [m!, b.initializer('six2', scalar(6))]);
    b.output(y!);
    b.output(c!);
    expect(ops(b)).not.toContain('HardSwish');
    expectClose(run(b, true), run(b, false), 0, 0);
    // x * clip(x + 2, 0, 6) / 6 is not hard-swish.
    const other = new ModelBuilder({ opset: 13 });
    other.input('x', 'float32', X_SHAPE);
    const [t2] = other.node('Add', ['x', other.initializer('two', scalar(2))]);
    const [c2] = other.node('Clip', [t2!, other.initializer('zero', scalar(0)), other.initializer('six', scalar(6))]);
    const [m2] = other.node('Mul', ['x', c2!]);
    other.output(other.node('Div', [m2!, other.initializer('six2', scalar(6))])[0]!);
    expect(ops(other)).not.toContain('HardSwish');
    expectClose(run(other, true), run(other, false), 1e-6, 1e-7);
    void shared;
  });

  it('a decomposed hard-swish after a Conv fuses into the Conv', () => {
    const b = new ModelBuilder({ opset: 13 });
    b.input('x', 'float32', X_SHAPE);
    const [conv] = b.node('Conv', ['x', b.initializer('w', randomTensor([6, 4, 3, 3], 2)), b.initializer('bias', randomTensor([6], 3))], { pads: [1, 1, 1, 1] });
    const [t] = b.node('Add', [conv!, b.initializer('three', scalar(3))]);
    const [c] = b.node('Clip', [t!, b.initializer('zero', scalar(0)), b.initializer('six', scalar(6))]);
    const [m] = b.node('Mul', [conv!, c!]);
    b.output(b.node('Div', [m!, b.initializer('six2', scalar(6))])[0]!);
    expect(ops(b)).toEqual(['Conv']);
    expectClose(run(b, true), run(b, false), 1e-5, 1e-5);
  });
});
