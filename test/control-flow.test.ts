import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { GraphBuilder, ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';

/**
 * Silero-style: state in, state out, and an If on the sample rate whose branches read outer values.
 * then (sr == 16000): y = x * 2 + state; else: y = x * 3 + state. stateN = y.
 */
function statefulIfModel(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', [1, 4]);
  const state = b.input('state', 'float32', [1, 4]);
  const sr = b.input('sr', 'int64', []);
  const k16 = b.initializer('k16', tensor('int64', [], [16000]));
  const [is16k] = b.node('Equal', [sr, k16]);
  const branch = (factor: number): GraphBuilder => {
    const g = b.subgraph();
    const f = g.initializer(`f${factor}`, tensor('float32', [], [factor]));
    const [scaled] = g.node('Mul', [x, f]);
    const [sum] = g.node('Add', [scaled!, state]);
    g.output(sum!, { dtype: 'float32', shape: [1, 4] });
    return g;
  };
  const [y] = b.node('If', [is16k!], { then_branch: branch(2), else_branch: branch(3) });
  const [stateN] = b.node('Identity', [y!]);
  b.output(y!, { dtype: 'float32', shape: [1, 4] });
  b.output(stateN!, { dtype: 'float32', shape: [1, 4] });
  return b.toBytes();
}

describe('If', () => {
  it('plans a data-dependent If statically when both branches agree on types, and carries state chunk by chunk', () => {
    const s = InferenceSession.createSync(statefulIfModel());
    let state = new Float32Array(4);
    const expected = new Float32Array(4);
    for (let chunk = 0; chunk < 5; chunk++) {
      const sr = chunk % 2 === 0 ? 16000 : 8000;
      const x = Float32Array.from([1, 2, 3, 4].map((v) => v + chunk));
      const out = s.runSync({
        x: new Tensor('float32', x, [1, 4]),
        state: new Tensor('float32', state, [1, 4]),
        sr: new Tensor('int64', [sr], []),
      });
      for (let i = 0; i < 4; i++) expected[i] = Math.fround(x[i]! * (sr === 16000 ? 2 : 3) + expected[i]!);
      expect(Array.from(out[s.outputNames[0]!]!.data as Float32Array)).toEqual(Array.from(expected));
      state = out[s.outputNames[1]!]!.data as Float32Array;
    }
    expect(s.planKind).toBe('static');
  });
});

describe('If with branches that only plan for some shapes', () => {
  /** then: Reshape x [1,4] -> [2,2]; else: Reshape x -> [3,3], impossible for 4 elements. */
  function model(): Uint8Array {
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [1, 4]);
    const flag = b.input('flag', 'bool', []);
    const branch = (dims: number[]): GraphBuilder => {
      const g = b.subgraph();
      const shape = g.initializer(`s${dims[0]}`, tensor('int64', [2], dims));
      const [y] = g.node('Reshape', [x, shape]);
      g.output(y!, { dtype: 'float32', shape: null });
      return g;
    };
    const [y] = b.node('If', [flag], { then_branch: branch([2, 2]), else_branch: branch([3, 3]) });
    b.output(y!);
    return b.toBytes();
  }

  it('plans the valid branch statically and reports the invalid one only when it is taken', () => {
    const s = InferenceSession.createSync(model());
    const x = new Tensor('float32', [1, 2, 3, 4], [1, 4]);
    const out = s.runSync({ x, flag: new Tensor('bool', [1], []) })[s.outputNames[0]!]!;
    expect(out.dims).toEqual([2, 2]);
    expect(Array.from(out.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(s.planKind).toBe('static');
    expect(() => s.runSync({ x, flag: new Tensor('bool', [0], []) })).toThrow(/Reshape/);
  });
});

describe('Loop', () => {
  it('runs a counted loop with a carried value and a scan output (sum of 0..n-1)', () => {
    const b = new ModelBuilder({ opset: 13 });
    const n = b.input('n', 'int64', []);
    const init = b.initializer('init', tensor('float32', [1], [0]));
    const body = b.subgraph();
    const iter = body.input('iter', 'int64', []);
    const cond = body.input('cond', 'bool', []);
    const acc = body.input('acc', 'float32', [1]);
    const [iterF] = body.node('Cast', [iter], { to: 1 });
    const [next] = body.node('Add', [acc, iterF!]);
    const [condOut] = body.node('Identity', [cond]);
    const [scan] = body.node('Identity', [next!]);
    body.output(condOut!, { dtype: 'bool', shape: [] });
    body.output(next!, { dtype: 'float32', shape: [1] });
    body.output(scan!, { dtype: 'float32', shape: [1] });
    const [final, scans] = b.node('Loop', [n, '', init], { body }, { outputs: 2 });
    b.output(final!);
    b.output(scans!);
    const s = InferenceSession.createSync(b.toBytes());
    const out = s.runSync({ n: new Tensor('int64', [5], []) });
    expect(Array.from(out[s.outputNames[0]!]!.data as Float32Array)).toEqual([10]);
    expect(out[s.outputNames[1]!]!.dims).toEqual([5, 1]);
    expect(Array.from(out[s.outputNames[1]!]!.data as Float32Array)).toEqual([0, 1, 3, 6, 10]);
  });
});
