import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import { fuseGelu } from '../src/graph/passes/fuse-gelu.js';
import { ModelBuilder } from './onnx-builder.js';
import { expectClose, rng, tensor } from './harness.js';

/** Output of the model through optimize:false and optimize:true sessions, plus the optimised node ops. */
function runBoth(b: ModelBuilder, x: TensorData): { plain: TensorData; fused: TensorData; ops: string[] } {
  const bytes = b.toBytes();
  const feeds = { x: new Tensor('float32', x.data as Float32Array, x.shape) };
  const get = (s: InferenceSession): TensorData => {
    const out = s.runSync(feeds)[s.outputNames[0]!]!;
    return { dtype: 'float32', shape: [...out.dims], data: out.data as Float32Array };
  };
  return {
    plain: get(InferenceSession.createSync(bytes, { optimize: false })),
    fused: get(InferenceSession.createSync(bytes)),
    ops: runBasicPasses(b.toModel().graph).nodes.map((n) => n.opType),
  };
}

const X_SHAPE = [3, 16];
const x = ((): TensorData => {
  const r = rng(5);
  return tensor('float32', X_SHAPE, Float32Array.from({ length: 48 }, () => r() * 6 - 3));
})();

/** erf by its Taylor series, accurate to float64 rounding for the |v| <= 3/√2 used here. */
function erf(v: number): number {
  let term = v;
  let sum = v;
  for (let n = 1; n < 80; n++) {
    term *= (-v * v) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const geluExact = (v: number): number => 0.5 * v * (1 + erf(v / Math.SQRT2));
const geluTanh = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const reference = (f: (v: number) => number): TensorData => tensor('float32', X_SHAPE, Float32Array.from(x.data as Float32Array, f));

const scalar = (v: number): TensorData => tensor('float32', [], [v]);

interface ErfVariant {
  /** 'div' = x / 1.4142, 'mul' = x * 0.7071 (constant first). */
  scaleBy?: 'div' | 'mul';
  sqrt2?: number;
  half?: number;
  /** Where the 0.5 goes: after (x·a)·0.5, before (x·0.5)·a, or on a: (0.5·a)·x. */
  halfAt?: 'after' | 'before' | 'onA';
  /** An extra consumer of the Erf output. */
  shareErf?: boolean;
}

function erfGelu(v: ErfVariant): ModelBuilder {
  const b = new ModelBuilder({ opset: 13 });
  const xi = b.input('x', 'float32', X_SHAPE);
  const c = (name: string, value: number): string => b.node('Constant', [], { value: scalar(value) }, { outputs: [name] })[0]!;
  const u = v.scaleBy === 'mul' ? b.node('Mul', [c('inv_sqrt2', Math.SQRT1_2), xi])[0]! : b.node('Div', [xi, c('sqrt2', v.sqrt2 ?? 1.4142135381698608)])[0]!;
  const [e] = b.node('Erf', [u]);
  const [a] = b.node('Add', [c('one', 1), e!]);
  const half = c('half', v.half ?? 0.5);
  let y: string;
  if ((v.halfAt ?? 'after') === 'after') y = b.node('Mul', [b.node('Mul', [xi, a!])[0]!, half])[0]!;
  else if (v.halfAt === 'before') y = b.node('Mul', [a!, b.node('Mul', [half, xi])[0]!])[0]!;
  else y = b.node('Mul', [xi, b.node('Mul', [a!, half])[0]!])[0]!;
  if (v.shareErf) y = b.node('Add', [y, e!])[0]!;
  b.output(y);
  return b;
}

function tanhGelu(cube: 'pow' | 'mul'): ModelBuilder {
  const b = new ModelBuilder({ opset: 13 });
  const xi = b.input('x', 'float32', X_SHAPE);
  const c = (value: number): string => b.initializer(`c${value}`, scalar(value));
  // As torch.onnx exports gelu(approximate='tanh'): 0.5 * (x * (1 + tanh(beta * (x + kappa * x^3)))).
  const x3 = cube === 'pow' ? b.node('Pow', [xi, c(3)])[0]! : b.node('Mul', [xi, b.node('Mul', [xi, xi])[0]!])[0]!;
  const [k] = b.node('Mul', [c(0.044715), x3]);
  const [inner] = b.node('Add', [xi, k!]);
  const [scaled] = b.node('Mul', [inner!, c(0.7978845834732056)]);
  const [t] = b.node('Tanh', [scaled!]);
  const [a] = b.node('Add', [t!, c(1)]);
  const [xa] = b.node('Mul', [xi, a!]);
  const [y] = b.node('Mul', [c(0.5), xa!]);
  b.output(y!);
  return b;
}

describe('fuseGelu', () => {
  it('fuses the PyTorch Erf export (x / √2, 0.5 applied last) into Gelu', () => {
    const r = runBoth(erfGelu({}), x);
    expect(r.ops).toEqual(['Gelu']);
    expectClose(r.fused, r.plain, 1e-5, 1e-6);
    expectClose(r.fused, reference(geluExact), 1e-5, 1e-6);
  });

  it('fuses x · 0.7071 with the 0.5 on x first, and with the 0.5 on (1 + erf) first', () => {
    for (const halfAt of ['before', 'onA'] as const) {
      const r = runBoth(erfGelu({ scaleBy: 'mul', halfAt }), x);
      expect(r.ops, halfAt).toEqual(['Gelu']);
      expectClose(r.fused, r.plain, 1e-5, 1e-6);
      expectClose(r.fused, reference(geluExact), 1e-5, 1e-6);
    }
  });

  it('accepts √2 written with 5 digits (within 1e-4 relative)', () => {
    const r = runBoth(erfGelu({ sqrt2: 1.4142 }), x);
    expect(r.ops).toEqual(['Gelu']);
    expectClose(r.fused, r.plain, 1e-4, 1e-6);
  });

  it('fuses the tanh approximation with Pow(x, 3) or x · (x · x) into Gelu(approximate=tanh)', () => {
    for (const cube of ['pow', 'mul'] as const) {
      const b = tanhGelu(cube);
      const r = runBoth(b, x);
      expect(r.ops, cube).toEqual(['Gelu']);
      expect(runBasicPasses(b.toModel().graph).nodes[0]!.attributes.get('approximate')).toEqual({ type: 'string', value: 'tanh' });
      expectClose(r.fused, r.plain, 1e-5, 1e-6);
      expectClose(r.fused, reference(geluTanh), 1e-5, 1e-6);
    }
  });

  it('does not fuse wrong constants or an intermediate with a second consumer', () => {
    for (const [label, b] of [
      ['1.5 instead of √2', erfGelu({ sqrt2: 1.5 })],
      ['0.6 instead of 0.5', erfGelu({ half: 0.6 })],
      ['√2 off by 2e-4', erfGelu({ sqrt2: Math.SQRT2 * (1 + 2e-4) })],
    ] as const) {
      const graph = b.toModel().graph;
      expect(fuseGelu(graph), label).toBe(graph);
    }
    const shared = erfGelu({ shareErf: true });
    const r = runBoth(shared, x);
    expect(r.ops).not.toContain('Gelu');
    expectClose(r.fused, r.plain, 0, 0);
  });
});
