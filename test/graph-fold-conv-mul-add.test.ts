import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import { foldConvMulAdd } from '../src/graph/passes/fold-conv-mul-add.js';
import type { Graph } from '../src/loader/model.js';
import { ModelBuilder } from './onnx-builder.js';
import { expectClose, randomTensor } from './harness.js';

const M = 4;

/** x [1,3,5,6] -> Conv(3->M, 3x3, pad 1, bias?) -> each (op, constant) in turn -> y. */
function model(steps: [string, TensorData, boolean?][], opts: { bias?: boolean; exposeConv?: boolean } = {}): Uint8Array {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [1, 3, 5, 6]);
  const w = b.initializer('w', randomTensor([M, 3, 3, 3], 2));
  const inputs = opts.bias === false ? [x, w] : [x, w, b.initializer('b', randomTensor([M], 3))];
  let [y] = b.node('Conv', inputs, { pads: [1, 1, 1, 1] }) as [string];
  const conv = y;
  steps.forEach(([op, c, constFirst], i) => {
    const cName = b.initializer(`c${i}`, c);
    [y] = b.node(op, constFirst ? [cName, y] : [y, cName]) as [string];
  });
  b.output(y);
  if (opts.exposeConv) b.output(conv);
  return b.toBytes();
}

const x = randomTensor([1, 3, 5, 6], 1);
function run(bytes: Uint8Array, optimize: boolean): TensorData {
  const s = InferenceSession.createSync(bytes, { optimize });
  const out = s.runSync({ x: new Tensor('float32', x.data as Float32Array, x.shape) })[s.outputNames[0]!]!;
  return { dtype: 'float32', shape: [...out.dims], data: out.data as Float32Array };
}
const graphOf = (bytes: Uint8Array): Graph => InferenceSession.createSync(bytes, { optimize: false }).model.graph;
const ops = (g: Graph): string[] => g.nodes.map((n) => n.opType);
const perChannel = (shape: number[], seed: number, lo = 0.5, hi = 2): TensorData => randomTensor(shape, seed, lo, hi);

describe('foldConvMulAdd', () => {
  const cases: [string, [string, TensorData, boolean?][], { bias?: boolean }?][] = [
    ['Mul by [M,1,1]', [['Mul', perChannel([M, 1, 1], 5)]]],
    ['Mul by [1,M,1,1] with the constant first', [['Mul', perChannel([1, M, 1, 1], 5), true]]],
    ['Add [M,1,1] to a Conv without bias', [['Add', perChannel([M, 1, 1], 6, -1, 1)]], { bias: false }],
    ['Sub [1,M,1,1]', [['Sub', perChannel([1, M, 1, 1], 6, -1, 1)]]],
    ['Div by a scalar', [['Div', perChannel([], 7)]]],
    ['Mul then Add (two rounds)', [['Mul', perChannel([M, 1, 1], 5)], ['Add', perChannel([M, 1, 1], 6, -1, 1)]]],
  ];
  for (const [name, steps, opts] of cases) {
    it(`${name}: folds into the Conv, outputs unchanged`, () => {
      const bytes = model(steps, opts);
      expect(ops(runBasicPasses(graphOf(bytes)))).toEqual(['Conv']);
      // Folding rounds W·s once instead of (W·x)·s, so outputs near zero (sums of O(1) terms cancelling) may differ
      // by a few float32 ulps of the terms: atol 1e-5 on unit-scale inputs.
      expectClose(run(bytes, true), run(bytes, false), 1e-5, 1e-5);
    });
  }

  it('writes W·s and B·s for Mul (hand-checked on one channel)', () => {
    const g = foldConvMulAdd(graphOf(model([['Mul', { dtype: 'float32', shape: [M, 1, 1], data: Float32Array.of(2, 3, 4, 5) }]])));
    const conv = g.nodes[0]!;
    const w0 = randomTensor([M, 3, 3, 3], 2).data;
    const b0 = randomTensor([M], 3).data;
    const w1 = g.initializers.get(conv.inputs[1]!)!.data;
    const b1 = g.initializers.get(conv.inputs[2]!)!.data;
    expect(w1[27 * 2]).toBeCloseTo(Number(w0[27 * 2]) * 4, 6);
    expect(b1[3]).toBeCloseTo(Number(b0[3]) * 5, 6);
  });

  it('leaves a constant that varies along a spatial axis', () => {
    const bytes = model([['Mul', perChannel([M, 5, 1], 5)]]);
    expect(ops(foldConvMulAdd(graphOf(bytes)))).toEqual(['Conv', 'Mul']);
  });

  it('leaves a constant that would broadcast the output to a higher rank', () => {
    const bytes = model([['Add', perChannel([1, 1, M, 1, 1], 5)]]);
    expect(ops(foldConvMulAdd(graphOf(bytes)))).toEqual(['Conv', 'Add']);
  });

  it('leaves the Conv alone when its output is also read elsewhere', () => {
    const bytes = model([['Mul', perChannel([M, 1, 1], 5)]], { exposeConv: true });
    expect(ops(foldConvMulAdd(graphOf(bytes)))).toEqual(['Conv', 'Mul']);
  });

  it('does not fold Sub with the constant on the left (c − y is not affine per weight)', () => {
    const bytes = model([['Sub', perChannel([M, 1, 1], 5), true]]);
    expect(ops(foldConvMulAdd(graphOf(bytes)))).toEqual(['Conv', 'Sub']);
    expectClose(run(bytes, true), run(bytes, false), 1e-5, 1e-6);
  });
});
