import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { GraphBuilder, ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';
import { TinferError } from '../src/errors.js';

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

describe('If branches reading outer initializers (weights across the boundary, as Silero VAD does)', () => {
  /** then: x · W (W an initializer of the MAIN graph); else: x · W · 2. */
  function outerWeightModel(): Uint8Array {
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [2, 3]);
    const flag = b.input('flag', 'bool', []);
    const w = b.initializer('W', tensor('float32', [3, 2], [1, 2, 3, 4, 5, 6]));
    const branch = (factor: number): GraphBuilder => {
      const g = b.subgraph();
      const [p] = g.node('MatMul', [x, w]);
      const f = g.initializer(`k${factor}`, tensor('float32', [], [factor]));
      g.output(g.node('Mul', [p!, f])[0]!, { dtype: 'float32', shape: [2, 2] });
      return g;
    };
    b.output(b.node('If', [flag], { then_branch: branch(1), else_branch: branch(2) })[0]!, { dtype: 'float32', shape: [2, 2] });
    return b.toBytes();
  }

  it('plans the outer weight as a constant of the branch (packed once), with the right outputs on both backends', () => {
    for (const backend of ['js', 'auto'] as const) {
      const s = InferenceSession.createSync(outerWeightModel(), { backend });
      const feeds = (flag: boolean) => ({ x: new Tensor('float32', Float32Array.from([1, 0, 2, -1, 3, 1]), [2, 3]), flag: new Tensor('bool', Uint8Array.of(flag ? 1 : 0), []) });
      // x · W = [[1·1 + 2·5, 1·2 + 2·6], [−1 + 9 + 5, −2 + 12 + 6]] = [[11, 14], [13, 16]]
      expect(Array.from(s.runSync(feeds(true))[s.outputNames[0]!]!.data as Float32Array)).toEqual([11, 14, 13, 16]);
      expect(Array.from(s.runSync(feeds(false))[s.outputNames[0]!]!.data as Float32Array)).toEqual([22, 28, 26, 32]);
      expect(s.planKind).toBe('static');
      // Planned as a constant, W was packed at prepare: changing the initializer's storage afterwards no longer
      // reaches the branch (fed as a value, it would be copied in on every run).
      (s.model.graph.initializers.get('W')!.data as Float32Array).fill(0);
      expect(Array.from(s.runSync(feeds(true))[s.outputNames[0]!]!.data as Float32Array)).toEqual([11, 14, 13, 16]);
    }
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

describe('Scan opset 8 (batched, sequence_lens first)', () => {
  const B = 2;
  const T = 3;
  const D = 2;

  /** Body: s' = s + x_t · w_t, scan output y_t = s'. x is read forwards, w backwards (directions [0, 1]). */
  function model(withLengths: boolean): Uint8Array {
    const b = new ModelBuilder({ opset: 8 });
    const lens = withLengths ? b.input('lens', 'int64', [B]) : '';
    const s0 = b.input('s0', 'float32', [B, D]);
    const x = b.input('x', 'float32', [B, T, D]);
    const w = b.input('w', 'float32', [B, T, D]);
    const body = b.subgraph();
    const s = body.input('s', 'float32', [D]);
    const xt = body.input('xt', 'float32', [D]);
    const wt = body.input('wt', 'float32', [D]);
    const [prod] = body.node('Mul', [xt, wt]);
    const [next] = body.node('Add', [s, prod!]);
    const [y] = body.node('Identity', [next!]);
    body.output(next!, { dtype: 'float32', shape: [D] });
    body.output(y!, { dtype: 'float32', shape: [D] });
    const [final, ys] = b.node('Scan', [lens, s0, x, w], { body, num_scan_inputs: 2, directions: [0, 1] }, { outputs: 2 });
    b.output(final!);
    b.output(ys!);
    return b.toBytes();
  }

  /** The Changelog's Scan-8 semantics written out: per batch row, `len` steps, w reversed over them, zeros after. */
  function reference(s0: number[], x: number[], w: number[], lens: number[]): { final: number[]; ys: number[] } {
    const final = new Array<number>(B * D).fill(0);
    const ys = new Array<number>(B * T * D).fill(0);
    for (let b = 0; b < B; b++) {
      const s = s0.slice(b * D, b * D + D);
      for (let t = 0; t < lens[b]!; t++) {
        const tw = lens[b]! - 1 - t;
        for (let d = 0; d < D; d++) {
          s[d] = Math.fround(s[d]! + Math.fround(x[(b * T + t) * D + d]! * w[(b * T + tw) * D + d]!));
          ys[(b * T + t) * D + d] = s[d]!;
        }
      }
      s.forEach((v, d) => (final[b * D + d] = v));
    }
    return { final, ys };
  }

  const s0 = [1, -1, 0.5, 2];
  const x = [1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6];
  const w = [0.5, 1, 1.5, 2, 2.5, 3, 3, 2, 1, 0.5, 0.25, 0.125];
  const feeds = (): Record<string, Tensor> => ({
    s0: new Tensor('float32', Float32Array.from(s0), [B, D]),
    x: new Tensor('float32', Float32Array.from(x), [B, T, D]),
    w: new Tensor('float32', Float32Array.from(w), [B, T, D]),
  });

  for (const backend of ['wasm', 'js'] as const) {
    it(`runs every batch row over the whole sequence when sequence_lens is absent (${backend})`, () => {
      const s = InferenceSession.createSync(model(false), { backend });
      const out = s.runSync(feeds());
      const ref = reference(s0, x, w, [T, T]);
      expect(out[s.outputNames[0]!]!.dims).toEqual([B, D]);
      expect(out[s.outputNames[1]!]!.dims).toEqual([B, T, D]);
      expect(Array.from(out[s.outputNames[0]!]!.data as Float32Array)).toEqual(ref.final);
      expect(Array.from(out[s.outputNames[1]!]!.data as Float32Array)).toEqual(ref.ys);
    });

    it(`stops each row at its sequence length, reverses over that length and zero-fills the rest (${backend})`, () => {
      const s = InferenceSession.createSync(model(true), { backend });
      const lens = [2, 1];
      const out = s.runSync({ ...feeds(), lens: new Tensor('int64', lens, [B]) });
      const ref = reference(s0, x, w, lens);
      expect(Array.from(out[s.outputNames[0]!]!.data as Float32Array)).toEqual(ref.final);
      expect(Array.from(out[s.outputNames[1]!]!.data as Float32Array)).toEqual(ref.ys);
      expect(ref.ys.slice(2 * D, 3 * D)).toEqual([0, 0]);
    });
  }

  it('keeps the initial states and zero scan outputs (shape from the body) when every sequence length is 0', () => {
    const s = InferenceSession.createSync(model(true), { backend: 'js' });
    const out = s.runSync({ ...feeds(), lens: new Tensor('int64', [0, 0], [B]) });
    expect(Array.from(out[s.outputNames[0]!]!.data as Float32Array)).toEqual(s0);
    expect(out[s.outputNames[1]!]!.dims).toEqual([B, T, D]);
    expect(Array.from(out[s.outputNames[1]!]!.data as Float32Array)).toEqual(new Array<number>(B * T * D).fill(0));
  });

  it('rejects a sequence length longer than the scan inputs with a TinferError', () => {
    const s = InferenceSession.createSync(model(true), { backend: 'js' });
    expect(() => s.runSync({ ...feeds(), lens: new Tensor('int64', [4, 1], [B]) })).toThrow(TinferError);
  });
});
