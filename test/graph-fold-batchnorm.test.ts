import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { foldBatchNorm } from '../src/graph/passes/fold-batchnorm.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import type { Attribute, Graph, Node } from '../src/loader/model.js';

/** Deterministic values in [-1, 1) (a small LCG; this test needs no kernels). */
function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 2 ** 32;
  });
}
const t = (shape: number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });
const tensorType = { kind: 'tensor', dtype: 'float32', shape: null } as const;
function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, Attribute> = {}): Node {
  return { name: `${opType}_${outputs[0]}`, opType, domain: '', inputs, outputs, attributes: new Map(Object.entries(attrs)) };
}
function graph(nodes: Node[], outputs: string[], inits: Record<string, TensorData>): Graph {
  return {
    name: 'g',
    nodes,
    inputs: [{ name: 'x', type: tensorType }],
    outputs: outputs.map((name) => ({ name, type: tensorType })),
    initializers: new Map(Object.entries(inits)),
    valueInfo: [],
  };
}

/** Naive 2-D convolution, NCHW, stride 1, no padding, groups: X [1,C,H,W], W [M,C/g,kh,kw] -> [M,H-kh+1,W-kw+1]. */
function conv2d(x: TensorData, w: TensorData, b: Float32Array | undefined, group: number): Float64Array {
  const [, c, h, wd] = x.shape as [number, number, number, number];
  const [m, cg, kh, kw] = w.shape as [number, number, number, number];
  const oh = h - kh + 1;
  const ow = wd - kw + 1;
  const out = new Float64Array(m * oh * ow);
  const mPerGroup = m / group;
  for (let oc = 0; oc < m; oc++) {
    const g = Math.floor(oc / mPerGroup);
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let acc = b ? b[oc]! : 0;
        for (let ic = 0; ic < cg; ic++) {
          for (let u = 0; u < kh; u++) {
            for (let v = 0; v < kw; v++) {
              acc += x.data[((g * cg + ic) * h + i + u) * wd + j + v] as number * (w.data[((oc * cg + ic) * kh + u) * kw + v] as number);
            }
          }
        }
        out[(oc * oh + i) * ow + j] = acc;
      }
    }
  }
  expect(c).toBe(cg * group);
  return out;
}

/** ONNX BatchNormalization in inference, per channel of a [M, spatial] tensor. */
function batchNorm(y: Float64Array, m: number, p: { scale: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array }, eps: number): Float64Array {
  const per = y.length / m;
  return y.map((v, k) => {
    const c = Math.floor(k / per);
    return ((v - p.mean[c]!) / Math.sqrt(p.variance[c]! + eps)) * p.scale[c]! + p.beta[c]!;
  });
}

function convBnCase(opts: { bias: boolean; group: number; eps?: number }) {
  const m = 6;
  const c = 4;
  const x = t([1, c, 5, 6], values(c * 30, 1));
  const w = t([m, c / opts.group, 3, 2], values((m * c * 6) / opts.group, 2));
  const b = values(m, 3);
  const bn = { scale: values(m, 4, 0.5, 2), beta: values(m, 5), mean: values(m, 6), variance: values(m, 7, 0.1, 3) };
  const inits: Record<string, TensorData> = {
    W: w,
    scale: t([m], bn.scale),
    beta: t([m], bn.beta),
    mean: t([m], bn.mean),
    var: t([m], bn.variance),
  };
  if (opts.bias) inits.B = t([m], b);
  const attrs: Record<string, Attribute> = opts.eps === undefined ? {} : { epsilon: { type: 'float', value: opts.eps } };
  const g = graph(
    [
      node('Conv', ['x', 'W', ...(opts.bias ? ['B'] : [])], ['c'], { group: { type: 'int', value: opts.group } }),
      node('BatchNormalization', ['c', 'scale', 'beta', 'mean', 'var'], ['y'], attrs),
    ],
    ['y'],
    inits,
  );
  const reference = batchNorm(conv2d(x, w, opts.bias ? b : undefined, opts.group), m, bn, opts.eps ?? 1e-5);
  return { g, x, reference };
}

function checkFolded(folded: Graph, x: TensorData, reference: Float64Array, group: number): void {
  expect(folded.nodes.map((n) => n.opType)).toEqual(['Conv']);
  const conv = folded.nodes[0]!;
  expect(conv.outputs).toEqual(['y']);
  expect(conv.attributes.get('group')).toEqual({ type: 'int', value: group });
  const w2 = folded.initializers.get(conv.inputs[1]!)!;
  const b2 = folded.initializers.get(conv.inputs[2]!)!;
  expect(w2.dtype).toBe('float32');
  const got = conv2d(x, w2, b2.data as Float32Array, group);
  let maxErr = 0;
  got.forEach((v, k) => (maxErr = Math.max(maxErr, Math.abs(v - reference[k]!) / (1 + Math.abs(reference[k]!)))));
  expect(maxErr).toBeLessThan(1e-5); // float32 weights: a few ulps of relative error
}

describe('foldBatchNorm', () => {
  it('folds BN into a Conv with bias (numerically equal to Conv then BN)', () => {
    const { g, x, reference } = convBnCase({ bias: true, group: 1 });
    checkFolded(foldBatchNorm(g), x, reference, 1);
  });

  it('folds BN into a Conv without bias, with a custom epsilon', () => {
    const { g, x, reference } = convBnCase({ bias: false, group: 1, eps: 0.05 });
    checkFolded(foldBatchNorm(g), x, reference, 1);
  });

  it('folds BN into a grouped Conv', () => {
    const { g, x, reference } = convBnCase({ bias: true, group: 2 });
    checkFolded(foldBatchNorm(g), x, reference, 2);
  });

  it('does not modify the original weights (they may be shared)', () => {
    const { g } = convBnCase({ bias: true, group: 1 });
    const before = Array.from(g.initializers.get('W')!.data as Float32Array);
    foldBatchNorm(g);
    expect(Array.from(g.initializers.get('W')!.data as Float32Array)).toEqual(before);
    expect(g.nodes).toHaveLength(2);
  });

  it('removes the unfolded weights afterwards when run with the other passes', () => {
    const { g, x, reference } = convBnCase({ bias: true, group: 1 });
    const out = runBasicPasses(g);
    checkFolded(out, x, reference, 1);
    expect([...out.initializers.keys()].sort()).toEqual(out.nodes[0]!.inputs.slice(1).sort());
  });

  it('does not fold when the Conv output has another consumer or is a graph output', () => {
    const { g } = convBnCase({ bias: true, group: 1 });
    const shared = { ...g, nodes: [...g.nodes, node('Relu', ['c'], ['r'])], outputs: [...g.outputs, { name: 'r', type: tensorType }] };
    expect(foldBatchNorm(shared).nodes.map((n) => n.opType)).toEqual(['Conv', 'BatchNormalization', 'Relu']);
    const exposed = { ...g, outputs: [...g.outputs, { name: 'c', type: tensorType }] };
    expect(foldBatchNorm(exposed).nodes).toHaveLength(2);
  });

  it('does not fold when a BN parameter is not an initializer, or in training mode', () => {
    const { g } = convBnCase({ bias: true, group: 1 });
    const runtimeMean = { ...g, initializers: new Map([...g.initializers].filter(([n]) => n !== 'mean')), inputs: [...g.inputs, { name: 'mean', type: tensorType }] };
    expect(foldBatchNorm(runtimeMean).nodes).toHaveLength(2);
    const training = { ...g, nodes: [g.nodes[0]!, { ...g.nodes[1]!, attributes: new Map<string, Attribute>([['training_mode', { type: 'int', value: 1 }]]) }] };
    expect(foldBatchNorm(training).nodes).toHaveLength(2);
    const withMeanOut = { ...g, nodes: [g.nodes[0]!, { ...g.nodes[1]!, outputs: ['y', 'running_mean'] }] };
    expect(foldBatchNorm(withMeanOut).nodes).toHaveLength(2);
  });

  it('folds through an Identity between Conv and BN when run with the other passes', () => {
    const { g, x, reference } = convBnCase({ bias: false, group: 1 });
    const withIdentity = {
      ...g,
      nodes: [g.nodes[0]!, node('Identity', ['c'], ['ci']), { ...g.nodes[1]!, inputs: ['ci', ...g.nodes[1]!.inputs.slice(1)] }],
    };
    checkFolded(runBasicPasses(withIdentity), x, reference, 1);
  });
});
