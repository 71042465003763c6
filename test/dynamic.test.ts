/**
 * Dynamic sequence length: models with a symbolic time axis run at T = 1, 7, 32 and 512 in one session
 * (one plan per shape, bounded by maxCachedPlans), checked against naive references.
 */
import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import { decodeModel } from '../src/loader/index.js';
import { ModelBuilder } from './onnx-builder.js';
import { expectClose, randomTensor, rng, tensor } from './harness.js';
import { WasmContext } from '../src/wasm/context.js';

const LENGTHS = [1, 7, 32, 512];

function randomValues(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

const D = 16;
const W = randomValues(D * D, 1, 0.5);
const BIAS = randomValues(D, 2);
const GAMMA = randomValues(D, 3);
const BETA = randomValues(D, 4);

/**
 * x [1, T, 16] -> MatMul(W) + b -> LayerNorm (decomposed as PyTorch exports it, so the fusions run) -> Softmax.
 */
function linearNormSoftmax(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', [1, 'T', D]);
  const [p] = b.node('MatMul', [x, b.initializer('W', tensor('float32', [D, D], W))]);
  const [h] = b.node('Add', [b.initializer('bias', tensor('float32', [D], BIAS)), p!]);
  const [mean] = b.node('ReduceMean', [h!], { axes: [-1] });
  const [d] = b.node('Sub', [h!, mean!]);
  const [sq] = b.node('Pow', [d!, b.initializer('two', tensor('float32', [], [2]))]);
  const [variance] = b.node('ReduceMean', [sq!], { axes: [-1] });
  const [ve] = b.node('Add', [variance!, b.initializer('eps', tensor('float32', [], [1e-5]))]);
  const [s] = b.node('Sqrt', [ve!]);
  const [n] = b.node('Div', [d!, s!]);
  const [g] = b.node('Mul', [n!, b.initializer('gamma', tensor('float32', [D], GAMMA))]);
  const [ln] = b.node('Add', [g!, b.initializer('beta', tensor('float32', [D], BETA))]);
  const [y] = b.node('Softmax', [ln!], { axis: -1 });
  b.output(y!, { dtype: 'float32', shape: [1, 'T', D] });
  return b.toBytes();
}

/** The same computation row by row in float64. */
function linearNormSoftmaxReference(x: Float32Array, T: number): TensorData {
  const out = new Float32Array(T * D);
  for (let t = 0; t < T; t++) {
    const h = Array.from({ length: D }, (_, j) => {
      let v = BIAS[j]!;
      for (let k = 0; k < D; k++) v += x[t * D + k]! * W[k * D + j]!;
      return v;
    });
    const mean = h.reduce((a, v) => a + v, 0) / D;
    const variance = h.reduce((a, v) => a + (v - mean) ** 2, 0) / D;
    const ln = h.map((v, j) => ((v - mean) / Math.sqrt(variance + 1e-5)) * GAMMA[j]! + BETA[j]!);
    const max = Math.max(...ln);
    const e = ln.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, v) => a + v, 0);
    e.forEach((v, j) => (out[t * D + j] = v / sum));
  }
  return { dtype: 'float32', shape: [1, T, D], data: out };
}

const I = 8;
const H = 4;
const LSTM_W = randomValues(4 * H * I, 5, 0.6);
const LSTM_R = randomValues(4 * H * H, 6, 0.6);
const LSTM_B = randomValues(8 * H, 7, 0.3);

/** LSTM over x ['T', 1, 8] with hidden size 4: Y ['T', 1, 1, 4] and Y_h [1, 1, 4]. */
function lstmModel(): Uint8Array {
  const b = new ModelBuilder({ opset: 14 });
  const x = b.input('x', 'float32', ['T', 1, I]);
  const [y, yh] = b.node(
    'LSTM',
    [x, b.initializer('W', tensor('float32', [1, 4 * H, I], LSTM_W)), b.initializer('R', tensor('float32', [1, 4 * H, H], LSTM_R)), b.initializer('B', tensor('float32', [1, 8 * H], LSTM_B))],
    { hidden_size: H },
    { outputs: ['y', 'y_h'] },
  );
  b.output(y!);
  b.output(yh!);
  return b.toBytes();
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** ONNX LSTM (gates i, o, f, c; default activations; no peepholes), straight from the spec's equations. */
function lstmReference(x: Float32Array, T: number): { y: TensorData; yh: TensorData } {
  let h = new Array<number>(H).fill(0);
  let c = new Array<number>(H).fill(0);
  const y = new Float32Array(T * H);
  for (let t = 0; t < T; t++) {
    const gate = (g: number, j: number): number => {
      const row = g * H + j;
      let v = LSTM_B[row]! + LSTM_B[4 * H + row]!;
      for (let k = 0; k < I; k++) v += LSTM_W[row * I + k]! * x[t * I + k]!;
      for (let k = 0; k < H; k++) v += LSTM_R[row * H + k]! * h[k]!;
      return v;
    };
    const i = h.map((_, j) => sigmoid(gate(0, j)));
    const o = h.map((_, j) => sigmoid(gate(1, j)));
    const f = h.map((_, j) => sigmoid(gate(2, j)));
    const cand = h.map((_, j) => Math.tanh(gate(3, j)));
    c = c.map((cj, j) => f[j]! * cj + i[j]! * cand[j]!);
    h = c.map((cj, j) => o[j]! * Math.tanh(cj));
    h.forEach((v, j) => (y[t * H + j] = v));
  }
  return {
    y: { dtype: 'float32', shape: [T, 1, 1, H], data: y },
    yh: { dtype: 'float32', shape: [1, 1, H], data: Float32Array.from(h) },
  };
}

const asData = (t: Tensor): TensorData => ({ dtype: 'float32', shape: [...t.dims], data: t.data as Float32Array });

describe('dynamic sequence length', () => {
  it('runs x [1, T, 16] -> Linear -> LayerNorm -> Softmax at T = 1, 7, 32, 512 in one session, with and without fusions', () => {
    const bytes = linearNormSoftmax();
    const fused = runBasicPasses(decodeModel(bytes).graph).nodes.map((n) => n.opType);
    expect(fused).toEqual(['MatMulAdd', 'LayerNormalization', 'Softmax']);
    for (const optimize of [true, false]) {
      const s = InferenceSession.createSync(bytes, { optimize });
      for (const T of LENGTHS) {
        const x = randomValues(T * D, 100 + T, 2);
        const y = s.runSync({ x: new Tensor('float32', x, [1, T, D]) })[s.outputNames[0]!]!;
        expectClose(asData(y), linearNormSoftmaxReference(x, T), 1e-4, 1e-6);
      }
      expect(s.planKind).toBe('static');
    }
  });

  it('runs an LSTM over x [T, 1, 8] at T = 1, 7, 32, 512 in one session', () => {
    const s = InferenceSession.createSync(lstmModel());
    for (const T of LENGTHS) {
      const x = randomValues(T * I, 200 + T);
      const out = s.runSync({ x: new Tensor('float32', x, [T, 1, I]) });
      const ref = lstmReference(x, T);
      expectClose(asData(out.y!), ref.y, 1e-4, 1e-5);
      expectClose(asData(out.y_h!), ref.yh, 1e-4, 1e-5);
    }
  });

  it('keeps at most maxCachedPlans plans and still answers correctly for evicted lengths', () => {
    const s = InferenceSession.createSync(linearNormSoftmax(), { maxCachedPlans: 2 });
    const seen: number[] = [];
    for (const T of [...LENGTHS, 1, 7, 7]) {
      const x = randomValues(T * D, 300 + T, 2);
      const y = s.runSync({ x: new Tensor('float32', x, [1, T, D]) })[s.outputNames[0]!]!;
      expectClose(asData(y), linearNormSoftmaxReference(x, T), 1e-4, 1e-6);
      seen.push(s.memory().plans);
    }
    // One new plan per distinct length until the bound; evicted lengths are re-planned, never above 2.
    expect(seen).toEqual([1, 2, 2, 2, 2, 2, 2]);
    const unbounded = InferenceSession.createSync(linearNormSoftmax(), { maxCachedPlans: 8 });
    for (const T of LENGTHS) unbounded.runSync({ x: new Tensor('float32', new Float32Array(T * D), [1, T, D]) });
    expect(unbounded.memory().plans).toBe(LENGTHS.length);
  });

  it('by default keeps a plan per length while the arenas are small, and at most 4 once they pass 64 MiB', () => {
    const lengths = Array.from({ length: 12 }, (_, i) => i + 1);
    const s = InferenceSession.createSync(linearNormSoftmax());
    for (const T of lengths) s.runSync({ x: new Tensor('float32', new Float32Array(T * D), [1, T, D]) });
    expect(s.memory().plans).toBe(lengths.length);
    // x [1, T, D] with T·D·4 bytes ≈ 24 MiB per value: a few values per arena, each plan's arena over 40 MiB.
    const big = Array.from({ length: 6 }, (_, i) => (6 << 20) / D + i);
    const plans: number[] = [];
    for (const T of big) {
      const x = new Float32Array(T * D);
      const last = randomValues(D, 400 + T, 2);
      x.set(last, (T - 1) * D);
      const y = s.runSync({ x: new Tensor('float32', x, [1, T, D]) })[s.outputNames[0]!]!;
      const want = linearNormSoftmaxReference(last, 1);
      expectClose({ dtype: 'float32', shape: want.shape, data: (y.data as Float32Array).slice((T - 1) * D) }, want, 1e-4, 1e-6);
      expect(s.memory().arenaBytes).toBeGreaterThan(40 << 20);
      plans.push(s.memory().plans);
    }
    expect(Math.max(...plans.slice(1))).toBeLessThanOrEqual(4);
  });
});

describe('eager (data-dependent) graphs on the wasm backend', () => {
  it('run their wasm kernels on values staged in wasm memory, with the same outputs as the js backend', () => {
    // NonZero makes the shapes data-dependent: x [6, 8] -> rows of x · W for the nonzero entries of `mask`.
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [6, 8]);
    const mask = b.input('mask', 'bool', [6]);
    const w = b.initializer('w', randomTensor([8, 5], 3));
    const [nz] = b.node('NonZero', [mask]);
    const [idx] = b.node('Squeeze', [nz!, b.initializer('ax', tensor('int64', [1], [0]))]);
    const [rows] = b.node('Gather', [x, idx!], { axis: 0 });
    const [y] = b.node('MatMul', [rows!, w], {}, { name: 'mm' });
    b.output(b.node('Softmax', [y!], { axis: -1 }, { name: 'sm' })[0]!);
    const feeds = {
      x: new Tensor('float32', randomTensor([6, 8], 4).data as Float32Array, [6, 8]),
      mask: new Tensor('bool', Uint8Array.of(1, 0, 1, 1, 0, 1), [6]),
    };
    const out = (backend: 'js' | 'wasm') => {
      const s = InferenceSession.createSync(b.toBytes(), { backend, profile: true });
      const r = s.runSync(feeds)[s.outputNames[0]!]!;
      expect(s.planKind).toBe('eager');
      if (backend === 'wasm') for (const p of s.profile()) expect(p.jsFallbackCalls, p.node).toBe(0);
      return r;
    };
    const js = out('js');
    expect(js.dims).toEqual([4, 5]);
    if (WasmContext.create() === undefined) return;
    const wasm = out('wasm');
    expect(wasm.dims).toEqual([4, 5]);
    (wasm.data as Float32Array).forEach((v, i) => expect(Math.abs(v - (js.data as Float32Array)[i]!)).toBeLessThan(1e-6));
  });
});
