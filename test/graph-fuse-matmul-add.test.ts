import { describe, expect, it } from 'vitest';
import type { DType, TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { GraphError } from '../src/errors.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import { fuseMatMulAdd } from '../src/graph/passes/fuse-matmul-add.js';
import type { Dim } from '../src/loader/model.js';
import { ModelBuilder } from './onnx-builder.js';
import { expectClose, rng, runKernel, tensor } from './harness.js';

function random(dtype: 'float32' | 'float64', shape: number[], seed: number): TensorData {
  const r = rng(seed);
  const n = shape.reduce((a, d) => a * d, 1);
  const values = Array.from({ length: n }, () => r() * 2 - 1);
  return tensor(dtype, shape, dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values));
}

/** Naive A [..., K] · W [K, N] + b [N] in float64. */
function linear(a: TensorData, w: TensorData, b: TensorData): TensorData {
  const K = w.shape[0]!;
  const N = w.shape[1]!;
  const rows = a.data.length / K;
  const y = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < N; j++) {
      let s = Number(b.data[j]);
      for (let k = 0; k < K; k++) s += Number(a.data[r * K + k]) * Number(w.data[k * N + j]);
      y[r * N + j] = s;
    }
  }
  return { dtype: 'float64', shape: [...a.shape.slice(0, -1), N], data: y };
}

interface Case {
  dtype?: 'float32' | 'float64';
  aShape: number[];
  declared?: Dim[] | null;
  biasFirst?: boolean;
  bias?: TensorData;
  weightAsInput?: boolean;
  shareProduct?: boolean;
}

function linearModel(c: Case, w: TensorData, bias: TensorData): ModelBuilder {
  const b = new ModelBuilder({ opset: 13 });
  const a = b.input('a', c.dtype ?? 'float32', c.declared === undefined ? c.aShape : c.declared);
  const wName = c.weightAsInput ? b.input('w', w.dtype, w.shape) : b.initializer('w', w);
  const bName = b.initializer('bias', bias);
  const [p] = b.node('MatMul', [a, wName]);
  let [y] = b.node('Add', c.biasFirst ? [bName, p!] : [p!, bName]);
  if (c.shareProduct) y = b.node('Sub', [y!, p!])[0]!;
  b.output(y!);
  return b;
}

function runBoth(c: Case): { plain: TensorData; fused: TensorData; ops: string[]; reference: TensorData; graphOps: string[] } {
  const dtype = c.dtype ?? 'float32';
  const K = c.aShape[c.aShape.length - 1]!;
  const w = random(dtype, [K, 6], 2);
  const bias = c.bias ?? random(dtype, [6], 3);
  const a = random(dtype, c.aShape, 1);
  const model = linearModel(c, w, bias);
  const bytes = model.toBytes();
  const feeds: Record<string, Tensor> = { a: new Tensor(dtype, a.data as Float32Array, a.shape) };
  if (c.weightAsInput) feeds.w = new Tensor(dtype, w.data as Float32Array, w.shape);
  const get = (s: InferenceSession): TensorData => {
    const out = s.runSync(feeds)[s.outputNames[0]!]!;
    return { dtype: out.type as DType, shape: [...out.dims], data: out.data as Float32Array };
  };
  const graph = runBasicPasses(model.toModel().graph);
  return {
    plain: get(InferenceSession.createSync(bytes, { optimize: false })),
    fused: get(InferenceSession.createSync(bytes)),
    ops: graph.nodes.map((n) => `${n.domain ? `${n.domain}.` : ''}${n.opType}`),
    reference: linear(a, w, bias),
    graphOps: graph.nodes.map((n) => n.opType),
  };
}

describe('fuseMatMulAdd', () => {
  it('fuses a 3-D Linear (bias first, as PyTorch exports it) into tinfer.MatMulAdd', () => {
    const r = runBoth({ aShape: [2, 5, 8], biasFirst: true });
    expect(r.ops).toEqual(['tinfer.MatMulAdd']);
    expectClose(r.fused, r.plain, 1e-5, 1e-6);
    expectClose(r.fused, r.reference, 1e-5, 1e-6);
  });

  it('fuses a declared 2-D input into Gemm', () => {
    const r = runBoth({ aShape: [5, 8] });
    expect(r.ops).toEqual(['Gemm']);
    expectClose(r.fused, r.plain, 1e-5, 1e-6);
    expectClose(r.fused, r.reference, 1e-5, 1e-6);
  });

  it('uses MatMulAdd for 1-D, 4-D and undeclared-rank inputs, and for float64', () => {
    for (const c of [
      { aShape: [8] },
      { aShape: [2, 3, 4, 8] },
      { aShape: [7, 8], declared: null },
      { aShape: [3, 8], declared: ['batch', 8] as Dim[], dtype: 'float64' as const },
      { aShape: [2, 3, 8], dtype: 'float64' as const },
    ]) {
      const r = runBoth(c);
      const label = JSON.stringify(c);
      expect(r.ops, label).toEqual(c.declared && c.declared.length === 2 ? ['Gemm'] : ['tinfer.MatMulAdd']);
      expect(r.fused.shape, label).toEqual(r.plain.shape);
      expectClose(r.fused, r.plain, 1e-5, 1e-6);
      expectClose(r.fused, r.reference, 1e-5, 1e-6);
    }
  });

  it('does not fuse a shared product, a runtime weight, or a bias that is not a matching 1-D constant', () => {
    const shared = runBoth({ aShape: [2, 5, 8], shareProduct: true });
    expect(shared.graphOps).toEqual(['MatMul', 'Add', 'Sub']);
    expectClose(shared.fused, shared.plain, 0, 0);
    const runtimeW = runBoth({ aShape: [2, 5, 8], weightAsInput: true });
    expect(runtimeW.graphOps).toEqual(['MatMul', 'Add']);
    for (const bias of [random('float32', [1, 6], 4), random('float32', [1], 5)]) {
      const r = runBoth({ aShape: [2, 5, 8], bias });
      expect(r.graphOps, `bias [${bias.shape}]`).toEqual(['MatMul', 'Add']);
      expectClose(r.fused, r.plain, 0, 0);
    }
    const w = random('float32', [8, 6], 2);
    const g = linearModel({ aShape: [4, 8] }, w, random('float64', [6], 3)).toModel().graph;
    expect(fuseMatMulAdd(g)).toBe(g);
  });
});

describe('tinfer.MatMulAdd kernel', () => {
  it('matches the naive product plus bias (packed weights with bias, packed with runtime bias, plain GEMM)', () => {
    // [2, 3, 37] x [37, 19]: sizes that are not multiples of the packed tile.
    const a = random('float32', [2, 3, 37], 7);
    const w = random('float32', [37, 19], 8);
    const b = random('float32', [19], 9);
    for (const constant of [[1, 2], [1], []]) {
      const [y] = runKernel('MatMulAdd', [a, w, b], {}, { domain: 'tinfer', constant });
      expectClose(y!, linear(a, w, b), 1e-5, 1e-6);
    }
  });

  it('applies a fused Relu (tinfer.activation) on both the packed and the plain path', () => {
    const a = random('float32', [4, 9], 10);
    const w = random('float32', [9, 5], 11);
    const b = random('float32', [5], 12);
    const ref = linear(a, w, b);
    const relu = { ...ref, data: (ref.data as Float64Array).map((v) => Math.max(0, v)) };
    for (const constant of [[1, 2], []]) {
      const [y] = runKernel('MatMulAdd', [a, w, b], { 'tinfer.activation': 'relu' }, { domain: 'tinfer', constant });
      expectClose(y!, relu, 1e-5, 1e-6);
    }
  });

  it('rejects mismatched inner dims, a bias of the wrong length and mixed dtypes', () => {
    const a = random('float32', [3, 5], 7);
    expect(() => runKernel('MatMulAdd', [a, random('float32', [4, 4], 8), random('float32', [4], 9)], {}, { domain: 'tinfer' })).toThrow(GraphError);
    expect(() => runKernel('MatMulAdd', [a, random('float32', [5, 4], 8), random('float32', [3], 9)], {}, { domain: 'tinfer' })).toThrow(GraphError);
    expect(() => runKernel('MatMulAdd', [a, random('float64', [5, 4], 8), random('float32', [4], 9)], {}, { domain: 'tinfer' })).toThrow(GraphError);
  });
});
