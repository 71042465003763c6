import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor, InputError, TinferError, GraphError, UnsupportedError } from '../src/index.js';
import { ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';

/** y = Relu(x + b) with x [batch, 4] (symbolic batch) and a constant b. */
function reluAddModel(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', ['batch', 4]);
  const bias = b.initializer('b', tensor('float32', [4], [1, -1, 2, -2]));
  const [s] = b.node('Add', [x, bias]);
  const [y] = b.node('Relu', [s!]);
  b.output(y!, { dtype: 'float32', shape: ['batch', 4] });
  return b.toBytes();
}

function naiveReluAdd(x: number[]): number[] {
  const bias = [1, -1, 2, -2];
  return x.map((v, i) => Math.max(0, v + bias[i % 4]!));
}

describe('InferenceSession', () => {
  it('exposes input and output names and metadata like onnxruntime', async () => {
    const s = await InferenceSession.create(reluAddModel());
    expect(s.inputNames).toEqual(['x']);
    expect(s.outputNames.length).toBe(1);
    expect(s.inputMetadata[0]).toEqual({ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 4], dims: ['batch', 4] });
  });

  it('runs async and sync with the same result, matching a naive reference', async () => {
    const s = await InferenceSession.create(reluAddModel());
    const x = [0.5, 0.5, -3, 3, -1, 2, 0, 0];
    const feeds = { x: new Tensor('float32', Float32Array.from(x), [2, 4]) };
    const out = (await s.run(feeds))[s.outputNames[0]!]!;
    const outSync = s.runSync(feeds)[s.outputNames[0]!]!;
    expect(out.dims).toEqual([2, 4]);
    expect(Array.from(out.data as Float32Array)).toEqual(naiveReluAdd(x));
    expect(Array.from(outSync.data as Float32Array)).toEqual(naiveReluAdd(x));
  });

  it('plans per input-shape signature, so symbolic batch sizes work in one session', () => {
    const s = InferenceSession.createSync(reluAddModel(), { maxCachedPlans: 2 });
    for (const batch of [1, 3, 7, 1, 3]) {
      const x = Array.from({ length: batch * 4 }, (_, i) => Math.sin(i) * 3);
      const out = s.runSync({ x: new Tensor('float32', x, [batch, 4]) });
      expect(Array.from(out[s.outputNames[0]!]!.data as Float32Array)).toEqual(naiveReluAdd(x.map(Math.fround)).map(Math.fround));
    }
    expect(s.planKind).toBe('static');
  });

  it('returns outputs that later runs do not overwrite (outputs are copies, not arena views)', () => {
    const s = InferenceSession.createSync(reluAddModel());
    const a = s.runSync({ x: new Tensor('float32', [1, 1, 1, 1], [1, 4]) })[s.outputNames[0]!]!;
    s.runSync({ x: new Tensor('float32', [5, 5, 5, 5], [1, 4]) });
    expect(Array.from(a.data as Float32Array)).toEqual([2, 0, 3, 0]);
  });

  it('rejects unknown, missing, mistyped and misshaped feeds with an InputError naming the input', () => {
    const s = InferenceSession.createSync(reluAddModel());
    const good = new Tensor('float32', new Float32Array(4), [1, 4]);
    expect(() => s.runSync({ y: good })).toThrow(/unknown input 'y'/);
    expect(() => s.runSync({})).toThrow(/missing input 'x'/);
    expect(() => s.runSync({ x: new Tensor('int32', new Int32Array(4), [1, 4]) })).toThrow(/input 'x': expected type float32, got int32/);
    expect(() => s.runSync({ x: new Tensor('float32', new Float32Array(4), [4]) })).toThrow(/input 'x': expected rank 2/);
    expect(() => s.runSync({ x: new Tensor('float32', new Float32Array(5), [1, 5]) })).toThrow(/dim 1 should be 4/);
    expect(() => s.runSync({ x: good }, ['nope'])).toThrow(InputError);
  });

  it('reports arena, lower bound, naive sum and weight bytes', () => {
    const s = InferenceSession.createSync(reluAddModel());
    s.runSync({ x: new Tensor('float32', new Float32Array(8), [2, 4]) });
    const m = s.memory();
    expect(m.weightBytes).toBe(16);
    expect(m.lowerBound).toBeGreaterThan(0);
    expect(m.arenaBytes).toBeGreaterThanOrEqual(m.lowerBound);
    expect(m.arenaBytes).toBeLessThanOrEqual(m.naiveBytes);
  });

  it('reports the arena planned at load before the first run (fixed input dims), and the wasm memory', () => {
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [3, 4]);
    const [r] = b.node('Relu', [x]);
    b.output(b.node('Neg', [r!])[0]!);
    for (const backend of ['js', 'wasm'] as const) {
      const s = InferenceSession.createSync(b.toBytes(), { backend });
      const m = s.memory();
      expect(m.plans).toBe(1);
      expect(m.arenaBytes).toBeGreaterThanOrEqual(m.lowerBound);
      expect(m.lowerBound).toBeGreaterThanOrEqual(2 * 3 * 4 * 4 - 3 * 4 * 4);
      expect(m.wasmMemoryBytes > 0).toBe(s.backend === 'wasm');
      // The planned peak is stated before the first run: weights plus the wasm memory (or the arena on js).
      if (s.backend === 'wasm') {
        expect(m.wasmInUseBytes).toBeGreaterThanOrEqual(m.arenaBytes);
        expect(m.wasmInUseBytes).toBeLessThanOrEqual(m.wasmMemoryBytes);
        expect(m.peakBytes).toBe(m.weightBytes + m.wasmMemoryBytes);
      } else {
        expect(m.wasmInUseBytes).toBe(0);
        expect(m.peakBytes).toBe(m.weightBytes + m.arenaBytes);
      }
    }
  });

  it('gives typed errors for garbage bytes and for unsupported operators', () => {
    expect(() => InferenceSession.createSync(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(TinferError);
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [1]);
    const [y] = b.node('NoSuchOp', [x]);
    b.output(y!);
    expect(() => InferenceSession.createSync(b.toBytes()).runSync({ x: new Tensor('float32', [1], [1]) })).toThrow(UnsupportedError);
  });

  it('rejects graphs whose nodes read values nothing produces', () => {
    const b = new ModelBuilder({ opset: 13 });
    b.input('x', 'float32', [1]);
    const [y] = b.node('Relu', ['ghost']);
    b.output(y!);
    expect(() => InferenceSession.createSync(b.toBytes())).toThrow(GraphError);
  });

  it('accepts int64 feeds given as Int32Array or number[] and returns BigInt64Array', () => {
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'int64', [3]);
    const [y] = b.node('Neg', [x]);
    b.output(y!);
    const s = InferenceSession.createSync(b.toBytes());
    const out = s.runSync({ x: new Tensor('int64', [1, -2, 3], [3]) })[s.outputNames[0]!]!;
    expect(out.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(out.data as BigInt64Array)).toEqual([-1n, 2n, -3n]);
  });

  it('evaluates shape subgraphs at plan time (Shape -> Gather -> Unsqueeze -> Concat -> Reshape)', () => {
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', ['n', 2, 3]);
    const [shape] = b.node('Shape', [x]);
    const zero = b.initializer('zero', tensor('int64', [], [0]));
    const [n] = b.node('Gather', [shape!, zero], { axis: 0 });
    const axes = b.initializer('axes', tensor('int64', [1], [0]));
    const [n1] = b.node('Unsqueeze', [n!, axes]);
    const minus1 = b.initializer('m1', tensor('int64', [1], [-1]));
    const [target] = b.node('Concat', [n1!, minus1], { axis: 0 });
    const [y] = b.node('Reshape', [x, target!]);
    const [z] = b.node('Relu', [y!]);
    b.output(z!);
    const s = InferenceSession.createSync(b.toBytes());
    const out = s.runSync({ x: new Tensor('float32', Float32Array.from({ length: 12 }, (_, i) => i - 6), [2, 2, 3]) })[s.outputNames[0]!]!;
    expect(out.dims).toEqual([2, 6]);
    expect(Array.from(out.data as Float32Array)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]);
    expect(s.planKind).toBe('static');
  });

  it('falls back to eager execution when a shape depends on values (NonZero)', () => {
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [4]);
    const [nz] = b.node('NonZero', [x]);
    b.output(nz!);
    const s = InferenceSession.createSync(b.toBytes());
    const out = s.runSync({ x: new Tensor('float32', [0, 3, 0, 5], [4]) })[s.outputNames[0]!]!;
    expect(out.dims).toEqual([1, 2]);
    expect(Array.from(out.data as BigInt64Array)).toEqual([1n, 3n]);
    expect(s.planKind).toBe('eager');
  });

  it('runs the same on the js and wasm backends, and rebinds arena views after the wasm memory grows', () => {
    const js = InferenceSession.createSync(reluAddModel(), { backend: 'js' });
    const auto = InferenceSession.createSync(reluAddModel(), { backend: 'auto' });
    expect(js.backend).toBe('js');
    const small = Array.from({ length: 8 }, (_, i) => i - 4);
    const big = Array.from({ length: 4 * 300_000 }, (_, i) => Math.cos(i));
    for (const x of [small, big, small]) {
      const feeds = { x: new Tensor('float32', x, [x.length / 4, 4]) };
      const expected = naiveReluAdd(x.map(Math.fround)).map(Math.fround);
      expect(Array.from(auto.runSync(feeds)[auto.outputNames[0]!]!.data as Float32Array)).toEqual(expected);
      expect(Array.from(js.runSync(feeds)[js.outputNames[0]!]!.data as Float32Array)).toEqual(expected);
    }
  });
});
