import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import { fuseLayerNorm } from '../src/graph/passes/fuse-layernorm.js';
import { ModelBuilder } from './onnx-builder.js';
import { expectClose, rng, tensor } from './harness.js';

/** Output of the model through optimize:false and optimize:true sessions, plus the optimised node ops. */
function runBoth(b: ModelBuilder, x: TensorData): { plain: TensorData; fused: TensorData; ops: string[] } {
  const bytes = b.toBytes();
  const feeds = { x: new Tensor(x.dtype as 'float32', x.data as Float32Array, x.shape) };
  const get = (s: InferenceSession): TensorData => {
    const out = s.runSync(feeds)[s.outputNames[0]!]!;
    return { dtype: out.type as TensorData['dtype'], shape: [...out.dims], data: out.data as Float32Array };
  };
  const plain = get(InferenceSession.createSync(bytes, { optimize: false }));
  const fused = get(InferenceSession.createSync(bytes));
  return { plain, fused, ops: runBasicPasses(b.toModel().graph).nodes.map((n) => n.opType) };
}

function randomTensor(shape: number[], seed: number, scale = 2): TensorData {
  const r = rng(seed);
  const n = shape.reduce((a, d) => a * d, 1);
  return tensor('float32', shape, Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale + 0.3));
}

/** Naive layer norm over the last `k` axes (population variance), in float64. */
function layerNorm(x: TensorData, k: number, eps: number, gamma?: Float32Array, beta?: Float32Array): TensorData {
  const size = x.shape.slice(-k).reduce((a, d) => a * d, 1);
  const xv = x.data as Float32Array;
  const y = new Float32Array(xv.length);
  for (let r = 0; r < xv.length / size; r++) {
    const row = Array.from(xv.subarray(r * size, (r + 1) * size));
    const mean = row.reduce((a, v) => a + v, 0) / size;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / size;
    row.forEach((v, i) => {
      y[r * size + i] = ((v - mean) / Math.sqrt(variance + eps)) * (gamma ? gamma[i % gamma.length]! : 1) + (beta ? beta[i % beta.length]! : 0);
    });
  }
  return { dtype: 'float32', shape: [...x.shape], data: y };
}

interface Variant {
  opset?: number;
  /** Axes reduced by both ReduceMeans. */
  axes?: number[];
  axesAsInput?: boolean;
  constantsAsNodes?: boolean;
  exponent?: number;
  squareByMul?: boolean;
  reciprocal?: boolean;
  epsFirst?: boolean;
  eps?: TensorData;
  gamma?: TensorData | null;
  beta?: TensorData | null;
  gammaFirst?: boolean;
  /** Extra consumer of the Sub output (d). */
  shareD?: boolean;
}

/** The decomposed LayerNorm as PyTorch exports it, with the variations of `v`. */
function decomposed(xShape: (number | string)[], v: Variant): ModelBuilder {
  const opset = v.opset ?? 13;
  const b = new ModelBuilder({ opset });
  const x = b.input('x', 'float32', xShape);
  const constant = (name: string, t: TensorData): string => (v.constantsAsNodes ? b.node('Constant', [], { value: t })[0]! : b.initializer(name, t));
  const axes = v.axes ?? [-1];
  const reduceMean = (input: string): string => {
    if (v.axesAsInput) return b.node('ReduceMean', [input, constant(`axes_${input}`, tensor('int64', [axes.length], axes.map(BigInt)))])[0]!;
    return b.node('ReduceMean', [input], { axes })[0]!;
  };
  const [mean] = [reduceMean(x)];
  const [d] = b.node('Sub', [x, mean]);
  const sq = v.squareByMul ? b.node('Mul', [d!, d!])[0]! : b.node('Pow', [d!, constant('two', tensor('float32', [], [v.exponent ?? 2]))])[0]!;
  const variance = reduceMean(sq);
  const eps = constant('eps', v.eps ?? tensor('float32', [], [1e-5]));
  const [ve] = b.node('Add', v.epsFirst ? [eps, variance] : [variance, eps]);
  const [s] = b.node('Sqrt', [ve!]);
  let n: string;
  if (v.reciprocal) {
    const [r] = b.node('Reciprocal', [s!]);
    n = b.node('Mul', [r!, d!])[0]!;
  } else {
    n = b.node('Div', [d!, s!])[0]!;
  }
  let y = n;
  if (v.gamma) {
    const g = constant('gamma', v.gamma);
    y = b.node('Mul', v.gammaFirst ? [g, y] : [y, g])[0]!;
  }
  if (v.beta) y = b.node('Add', [y, constant('beta', v.beta)])[0]!;
  if (v.shareD) {
    const [r] = b.node('Relu', [d!]);
    y = b.node('Add', [y, r!])[0]!;
  }
  b.output(y);
  return b;
}

const N = 8;
const gammaT = randomTensor([N], 11, 1);
const betaT = randomTensor([N], 12, 1);

describe('fuseLayerNorm', () => {
  it('fuses the PyTorch export (opset 13, axes attribute, initializers) into one LayerNormalization', () => {
    const x = randomTensor([2, 5, N], 1);
    const r = runBoth(decomposed([2, 5, N], { gamma: gammaT, beta: betaT }), x);
    expect(r.ops).toEqual(['LayerNormalization']);
    expectClose(r.fused, r.plain, 1e-5, 1e-6);
    expectClose(r.fused, layerNorm(x, 1, 1e-5, gammaT.data as Float32Array, betaT.data as Float32Array), 1e-5, 1e-6);
  });

  it('fuses opset 18 (axes as input) with eps, gamma and beta from Constant nodes; gamma first in its Mul', () => {
    const x = randomTensor([3, N], 2);
    const eps = tensor('float32', [1], [1e-3]);
    const r = runBoth(decomposed(['batch', N], { opset: 18, axesAsInput: true, constantsAsNodes: true, eps, gamma: gammaT, beta: betaT, gammaFirst: true }), x);
    // gamma and beta stay as the Constant nodes feeding the fused node; eps and axes became attributes.
    expect(r.ops).toEqual(['Constant', 'Constant', 'LayerNormalization']);
    expectClose(r.fused, r.plain, 1e-5, 1e-6);
    expectClose(r.fused, layerNorm(x, 1, 1e-3, gammaT.data as Float32Array, betaT.data as Float32Array), 1e-5, 1e-6);
  });

  it('fuses without the affine Mul/Add, with Mul(d, d), Reciprocal and eps as the first Add operand', () => {
    const x = randomTensor([4, N], 3);
    const r = runBoth(decomposed([4, N], { squareByMul: true, reciprocal: true, epsFirst: true }), x);
    expect(r.ops).toEqual(['LayerNormalization']);
    expectClose(r.fused, r.plain, 1e-5, 1e-6);
    expectClose(r.fused, layerNorm(x, 1, 1e-5), 1e-5, 1e-6);
  });

  it('fuses a reduction over the two trailing axes (positive axes with a declared rank) with a [4, N] gamma', () => {
    const x = randomTensor([2, 4, N], 4);
    const gamma2 = randomTensor([4, N], 13, 1);
    const r = runBoth(decomposed([2, 4, N], { axes: [1, 2], gamma: gamma2, beta: betaT }), x);
    expect(r.ops).toEqual(['LayerNormalization']);
    const ln = runBasicPasses(decomposed([2, 4, N], { axes: [1, 2], gamma: gamma2, beta: betaT }).toModel().graph).nodes[0]!;
    expect(ln.attributes.get('axis')).toEqual({ type: 'int', value: -2 });
    expectClose(r.fused, r.plain, 1e-5, 1e-6);
    expectClose(r.fused, layerNorm(x, 2, 1e-5, gamma2.data as Float32Array, betaT.data as Float32Array), 1e-5, 1e-6);
  });

  it('keeps a gamma of higher rank than the normalised axes outside the fused node', () => {
    const x = randomTensor([2, 5, N], 5);
    const perPosition = randomTensor([5, N], 14, 1);
    const r = runBoth(decomposed([2, 5, N], { gamma: perPosition, beta: betaT }), x);
    expect(r.ops).toEqual(['LayerNormalization', 'Mul', 'Add']);
    expectClose(r.fused, r.plain, 1e-5, 1e-6);
  });

  it('does not fuse when an intermediate has a second consumer', () => {
    const x = randomTensor([2, N], 6);
    const r = runBoth(decomposed([2, N], { gamma: gammaT, beta: betaT, shareD: true }), x);
    expect(r.ops).not.toContain('LayerNormalization');
    expect(r.ops.filter((o) => o === 'ReduceMean')).toHaveLength(2);
    expectClose(r.fused, r.plain, 0, 0);
  });

  it('does not fuse a wrong exponent, a non-scalar eps, a non-trailing or keepdims=0 reduction', () => {
    const cases: [string, ModelBuilder][] = [
      ['exponent 2.0001', decomposed([2, N], { exponent: 2.0001 })],
      ['exponent 3', decomposed([2, N], { exponent: 3 })],
      ['eps of shape [N]', decomposed([2, N], { eps: randomTensor([N], 7, 0.01) })],
      ['axes [0]', decomposed([2, N], { axes: [0] })],
      ['axes [-2] only', decomposed([2, 3, N], { axes: [-2] })],
    ];
    for (const [label, b] of cases) {
      const graph = b.toModel().graph;
      expect(fuseLayerNorm(graph), label).toBe(graph);
    }
    const b = decomposed([2, N], {});
    const graph = b.toModel().graph;
    graph.nodes[0]!.attributes.set('keepdims', { type: 'int', value: 0 });
    expect(fuseLayerNorm(graph)).toBe(graph);
  });

  it('keeps the graph output name when the normalised value is itself an output', () => {
    const b = decomposed([2, N], {});
    const graph = b.toModel().graph;
    const out = graph.outputs[0]!.name;
    const fused = fuseLayerNorm(graph);
    expect(fused.nodes.at(-1)!.opType).toBe('LayerNormalization');
    expect(fused.nodes.at(-1)!.outputs).toEqual([out]);
  });
});
