import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import { SOFTMAX_SCALE_ATTR, fuseSoftmaxScale } from '../src/graph/passes/fuse-softmax-scale.js';
import { ModelBuilder } from './onnx-builder.js';
import { expectClose, randomTensor, tensor } from './harness.js';

const BACKENDS = ['wasm', 'js'] as const;
const SHAPE = [2, 3, 7];
const x = randomTensor(SHAPE, 3, -4, 4);
const kT = randomTensor([2, 7, 7], 4, -2, 2);

/** The first output through an optimize:false and an optimize:true session on `backend`, and the optimised ops. */
function runBoth(b: ModelBuilder, backend: 'wasm' | 'js', feeds: Record<string, TensorData>): { plain: TensorData; fused: TensorData; ops: string[] } {
  const bytes = b.toBytes();
  const tensors = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new Tensor('float32', t.data as Float32Array, t.shape)]));
  const get = (s: InferenceSession): TensorData => {
    const out = s.runSync(tensors)[s.outputNames[0]!]!;
    return { dtype: 'float32', shape: [...out.dims], data: out.data as Float32Array };
  };
  return {
    plain: get(InferenceSession.createSync(bytes, { optimize: false, backend })),
    fused: get(InferenceSession.createSync(bytes, { backend })),
    ops: runBasicPasses(b.toModel().graph).nodes.map((n) => n.opType),
  };
}

const filled = (v: number, shape: number[] = []): TensorData => tensor('float32', shape, new Array<number>(shape.reduce((a, d) => a * d, 1)).fill(v));

interface Variant {
  op: 'Mul' | 'Div';
  constantFirst?: boolean;
  value?: number;
  constantShape?: number[];
  axis?: number;
  opset?: number;
  /** Scores from MatMul(x, kT) as attention writes them. */
  matmul?: boolean;
  /** A second reader of the scaled scores. */
  shared?: boolean;
}

function scaledSoftmax(v: Variant): ModelBuilder {
  const b = new ModelBuilder({ opset: v.opset ?? 13 });
  let s = b.input('x', 'float32', SHAPE);
  if (v.matmul) s = b.node('MatMul', [s, b.input('k', 'float32', [2, 7, 7])])[0]!;
  const c = b.initializer('c', filled(v.value ?? 0.125, v.constantShape));
  const [scaled] = b.node(v.op, v.constantFirst ? [c, s] : [s, c]);
  let [y] = b.node('Softmax', [scaled!], v.axis === undefined ? {} : { axis: v.axis });
  if (v.shared) y = b.node('Add', [y!, scaled!])[0]!;
  b.output(y!);
  return b;
}

describe('fuseSoftmaxScale', () => {
  for (const backend of BACKENDS) {
    it(`folds x · c and c · x into Softmax and matches the unfused graph (${backend})`, () => {
      for (const constantFirst of [false, true]) {
        const b = scaledSoftmax({ op: 'Mul', constantFirst, value: 0.35355339 });
        const r = runBoth(b, backend, { x });
        expect(r.ops).toEqual(['Softmax']);
        expect(runBasicPasses(b.toModel().graph).nodes[0]!.attributes.get(SOFTMAX_SCALE_ATTR)).toEqual({ type: 'float', value: Math.fround(0.35355339) });
        expectClose(r.fused, r.plain, 1e-5, 1e-7);
      }
    });

    it(`folds x / c as scale 1/c, after a MatMul as attention exports write it (${backend})`, () => {
      const b = scaledSoftmax({ op: 'Div', value: 8, matmul: true });
      const r = runBoth(b, backend, { x, k: kT });
      expect(r.ops).toEqual(['MatMul', 'Softmax']);
      expectClose(r.fused, r.plain, 1e-5, 1e-7);
    });

    it(`applies the scale on a non-last axis, with a [1] constant, and for opset 11's coerced 2-D softmax (${backend})`, () => {
      for (const v of [
        { op: 'Mul', axis: 1, value: -1.5 },
        { op: 'Mul', constantShape: [1], value: 3 },
        { op: 'Div', opset: 11, axis: 1, value: 0.5 },
      ] as Variant[]) {
        const r = runBoth(scaledSoftmax(v), backend, { x });
        expect(r.ops, JSON.stringify(v)).toEqual(['Softmax']);
        expectClose(r.fused, r.plain, 1e-5, 1e-7);
      }
    });
  }

  it('leaves a scaled value with a second reader, a non-scalar or zero constant, and c / x alone', () => {
    for (const v of [
      { op: 'Mul', shared: true },
      { op: 'Mul', constantShape: [1, 1, 7] },
      { op: 'Div', value: 0 },
      { op: 'Div', constantFirst: true },
    ] as Variant[]) {
      const graph = scaledSoftmax(v).toModel().graph;
      expect(fuseSoftmaxScale(graph), JSON.stringify(v)).toBe(graph);
    }
  });
});
