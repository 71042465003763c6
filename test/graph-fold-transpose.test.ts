import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import { foldTranspose } from '../src/graph/passes/fold-transpose.js';
import type { Graph } from '../src/loader/model.js';
import { ModelBuilder } from './onnx-builder.js';
import { expectClose, randomTensor } from './harness.js';

const x = randomTensor([2, 3, 4, 5], 1);

/** x -> Transpose(perm_1) -> ... -> Transpose(perm_k) -> Relu -> y (perm undefined: the attribute is omitted). */
function model(perms: (number[] | undefined)[], opts: { exposeInner?: boolean; declareRank?: boolean } = {}): Uint8Array {
  const b = new ModelBuilder({ opset: 17 });
  let y = b.input('x', 'float32', opts.declareRank === false ? null : x.shape);
  const outs: string[] = [];
  for (const perm of perms) {
    [y] = b.node('Transpose', [y], perm === undefined ? {} : { perm }) as [string];
    outs.push(y);
  }
  const [z] = b.node('Relu', [y]);
  b.output(z!);
  if (opts.exposeInner) b.output(outs[0]!);
  return b.toBytes();
}

function run(bytes: Uint8Array, optimize: boolean): TensorData {
  const s = InferenceSession.createSync(bytes, { optimize });
  const out = s.runSync({ x: new Tensor('float32', x.data as Float32Array, x.shape) })[s.outputNames[0]!]!;
  return { dtype: 'float32', shape: [...out.dims], data: out.data as Float32Array };
}
const graphOf = (bytes: Uint8Array): Graph => InferenceSession.createSync(bytes, { optimize: false }).model.graph;
const ops = (g: Graph): string[] => g.nodes.map((n) => n.opType);

describe('foldTranspose', () => {
  it('removes an NCHW -> NHWC -> NCHW pair', () => {
    const bytes = model([[0, 2, 3, 1], [0, 3, 1, 2]]);
    expect(ops(runBasicPasses(graphOf(bytes)))).toEqual(['Relu']);
    expectClose(run(bytes, true), run(bytes, false), 0, 0);
  });

  it('merges two transposes into one with the composed perm q[i] = p1[p2[i]]', () => {
    const bytes = model([[0, 2, 3, 1], [1, 0, 3, 2]]);
    const g = runBasicPasses(graphOf(bytes));
    expect(ops(g)).toEqual(['Transpose', 'Relu']);
    // p1 = [0,2,3,1], p2 = [1,0,3,2] -> q = [2,0,1,3]
    expect(g.nodes[0]!.attributes.get('perm')).toEqual({ type: 'ints', value: [2, 0, 1, 3] });
    expectClose(run(bytes, true), run(bytes, false), 0, 0);
  });

  it('folds a chain of three in one sweep', () => {
    const bytes = model([[1, 0, 2, 3], [0, 1, 3, 2], [1, 0, 3, 2]]);
    expect(ops(runBasicPasses(graphOf(bytes)))).toEqual(['Relu']);
    expectClose(run(bytes, true), run(bytes, false), 0, 0);
  });

  it('treats a missing perm as reversed axes (two reversals cancel; the rank comes from the other perm or the input)', () => {
    expect(ops(runBasicPasses(graphOf(model([undefined, undefined]))))).toEqual(['Relu']);
    const mixed = model([undefined, [3, 2, 1, 0]]);
    expect(ops(runBasicPasses(graphOf(mixed)))).toEqual(['Relu']);
    expectClose(run(mixed, true), run(mixed, false), 0, 0);
  });

  it('leaves two perm-less transposes alone when no rank is known', () => {
    expect(ops(foldTranspose(graphOf(model([undefined, undefined], { declareRank: false }))))).toEqual(['Transpose', 'Transpose', 'Relu']);
  });

  it('keeps the inner transpose when it is read elsewhere', () => {
    const bytes = model([[0, 2, 3, 1], [0, 3, 1, 2]], { exposeInner: true });
    expect(ops(runBasicPasses(graphOf(bytes)))).toEqual(['Transpose', 'Relu']);
    expectClose(run(bytes, true), run(bytes, false), 0, 0);
  });
});
