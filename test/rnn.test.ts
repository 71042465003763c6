/**
 * LSTM / GRU / RNN against a naive reference written straight from the ONNX equations: one time step,
 * one batch entry, one hidden unit at a time, in double precision, reading W and R untransposed.
 */
import { describe, expect, it } from 'vitest';
import { sizeOf, type TensorData } from '../src/dtype.js';
import { GraphError, UnsupportedError } from '../src/errors.js';
import { defaultRegistry } from '../src/kernels/registry.js';
import { setFlagsFromString } from 'node:v8';
import { WasmContext } from '../src/wasm/context.js';
import { hasRelaxedSimd } from '../src/wasm/emitter.js';
import { RECURRENT_KERNELS } from '../src/wasm/rnn-kernels.js';
import { F, Fs, expectClose, makeNode, randomTensor, runKernel, tensor, type AttrValue } from './harness.js';
import { runKernelInWasm } from './wasm-harness.js';

type Op = 'LSTM' | 'GRU' | 'RNN';

interface Case {
  op: Op;
  seq: number;
  batch: number;
  input: number;
  hidden: number;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: 0 | 1;
  bias?: boolean;
  seqLens?: number[];
  initialH?: boolean;
  initialC?: boolean;
  peepholes?: boolean;
  inputForget?: boolean;
  clip?: number;
  activations?: string[];
  alphas?: number[];
  betas?: number[];
  linearBeforeReset?: boolean;
  /** Pass W, R, B as prepare-time constants (pre-packed path) instead of runtime inputs. */
  constantWeights?: boolean;
  seed?: number;
}

const GATES: Record<Op, number> = { LSTM: 4, GRU: 3, RNN: 1 };
const DEFAULT_ACTS: Record<Op, string[]> = { LSTM: ['Sigmoid', 'Tanh', 'Tanh'], GRU: ['Sigmoid', 'Tanh'], RNN: ['Tanh'] };

/** The activation functions as the ONNX RNN section defines them, with alpha/beta bound. */
function refActivation(name: string, alpha: number | undefined, beta: number | undefined): (x: number) => number {
  switch (name.toLowerCase()) {
    case 'relu':
      return (x) => Math.max(0, x);
    case 'tanh':
      return Math.tanh;
    case 'sigmoid':
      return (x) => 1 / (1 + Math.exp(-x));
    case 'affine':
      return (x) => (alpha ?? 1) * x + (beta ?? 0);
    case 'leakyrelu':
      return (x) => (x >= 0 ? x : (alpha ?? 0.01) * x);
    case 'thresholdedrelu':
      return (x) => (x > (alpha ?? 1) ? x : 0);
    case 'scaledtanh':
      return (x) => (alpha ?? 1) * Math.tanh((beta ?? 1) * x);
    case 'hardsigmoid':
      return (x) => Math.min(Math.max((alpha ?? 0.2) * x + (beta ?? 0.5), 0), 1);
    case 'elu':
      return (x) => (x >= 0 ? x : (alpha ?? 1) * (Math.exp(x) - 1));
    case 'softsign':
      return (x) => x / (1 + Math.abs(x));
    case 'softplus':
      return (x) => Math.log(1 + Math.exp(x));
    default:
      throw new Error(name);
  }
}

const USES_ALPHA = ['affine', 'leakyrelu', 'thresholdedrelu', 'scaledtanh', 'hardsigmoid', 'elu'];
const USES_BETA = ['affine', 'scaledtanh', 'hardsigmoid'];

/** Activation functions per direction; alpha/beta lists are consumed only by the functions that take them. */
function refActivations(c: Case, dirs: number): ((x: number) => number)[][] {
  const per = DEFAULT_ACTS[c.op].length;
  const names = c.activations ?? Array.from({ length: dirs }, () => DEFAULT_ACTS[c.op]).flat();
  let ai = 0;
  let bi = 0;
  const fns = names.map((n) => {
    const a = USES_ALPHA.includes(n.toLowerCase()) ? c.alphas?.[ai++] : undefined;
    const b = USES_BETA.includes(n.toLowerCase()) ? c.betas?.[bi++] : undefined;
    return refActivation(n, a, b);
  });
  return Array.from({ length: dirs }, (_, d) => fns.slice(d * per, (d + 1) * per));
}

interface Inputs {
  X: TensorData;
  W: TensorData;
  R: TensorData;
  B?: TensorData;
  seqLens?: TensorData;
  initialH?: TensorData;
  initialC?: TensorData;
  P?: TensorData;
}

function makeInputs(c: Case): Inputs {
  const dirs = c.direction === 'bidirectional' ? 2 : 1;
  const G = GATES[c.op];
  const H = c.hidden;
  const seed = c.seed ?? 7;
  const xShape = c.layout === 1 ? [c.batch, c.seq, c.input] : [c.seq, c.batch, c.input];
  const stateShape = c.layout === 1 ? [c.batch, dirs, H] : [dirs, c.batch, H];
  return {
    X: randomTensor(xShape, seed, -2, 2),
    W: randomTensor([dirs, G * H, c.input], seed + 1, -0.8, 0.8),
    R: randomTensor([dirs, G * H, H], seed + 2, -0.8, 0.8),
    B: c.bias ? randomTensor([dirs, 2 * G * H], seed + 3, -0.5, 0.5) : undefined,
    seqLens: c.seqLens ? tensor('int32', [c.batch], c.seqLens) : undefined,
    initialH: c.initialH ? randomTensor(stateShape, seed + 4) : undefined,
    initialC: c.initialC ? randomTensor(stateShape, seed + 5) : undefined,
    P: c.peepholes ? randomTensor([dirs, 3 * H], seed + 6) : undefined,
  };
}

/** Y, Y_h (and Y_c for LSTM) computed element by element from the spec's equations. */
function reference(c: Case, inp: Inputs): TensorData[] {
  const dirs = c.direction === 'bidirectional' ? 2 : 1;
  const H = c.hidden;
  const G = GATES[c.op];
  const L1 = c.layout === 1;
  const { seq, batch, input } = c;
  const x = (t: number, b: number, k: number) => inp.X.data[(L1 ? b * seq + t : t * batch + b) * input + k] as number;
  const w = (d: number, row: number, k: number) => inp.W.data[(d * G * H + row) * input + k] as number;
  const r = (d: number, row: number, k: number) => inp.R.data[(d * G * H + row) * H + k] as number;
  const wb = (d: number, row: number) => (inp.B ? (inp.B.data[d * 2 * G * H + row] as number) : 0);
  const rb = (d: number, row: number) => (inp.B ? (inp.B.data[d * 2 * G * H + G * H + row] as number) : 0);
  const stateIdx = (d: number, b: number, j: number) => (L1 ? (b * dirs + d) * H + j : (d * batch + b) * H + j);
  const yIdx = (t: number, d: number, b: number, j: number) => (L1 ? ((b * seq + t) * dirs + d) * H + j : ((t * dirs + d) * batch + b) * H + j);
  const clip = (v: number) => (c.clip === undefined ? v : Math.min(c.clip, Math.max(-c.clip, v)));
  const acts = refActivations(c, dirs);

  const Y = new Float64Array(seq * dirs * batch * H);
  const Yh = new Float64Array(dirs * batch * H);
  const Yc = new Float64Array(dirs * batch * H);
  for (let d = 0; d < dirs; d++) {
    const reverse = c.direction === 'reverse' || d === 1;
    const [f, g, hAct] = acts[d]!;
    for (let b = 0; b < batch; b++) {
      const len = c.seqLens?.[b] ?? seq;
      let h = Array.from({ length: H }, (_, j) => (inp.initialH ? (inp.initialH.data[stateIdx(d, b, j)] as number) : 0));
      let cell = Array.from({ length: H }, (_, j) => (inp.initialC ? (inp.initialC.data[stateIdx(d, b, j)] as number) : 0));
      // xw(gate, j): Xt·W[gate]ᵀ + Wb;  hr(gate, j, hv): hv·R[gate]ᵀ (+ Rb)
      for (let k = 0; k < len; k++) {
        const t = reverse ? len - 1 - k : k;
        const xw = (gate: number, j: number) => {
          let s = wb(d, gate * H + j);
          for (let q = 0; q < input; q++) s += x(t, b, q) * w(d, gate * H + j, q);
          return s;
        };
        const hr = (gate: number, j: number, hv: number[]) => {
          let s = 0;
          for (let q = 0; q < H; q++) s += hv[q]! * r(d, gate * H + j, q);
          return s;
        };
        const nh = new Array<number>(H);
        const nc = new Array<number>(H);
        for (let j = 0; j < H; j++) {
          if (c.op === 'RNN') {
            nh[j] = f!(clip(xw(0, j) + hr(0, j, h) + rb(d, j)));
          } else if (c.op === 'GRU') {
            const z = f!(clip(xw(0, j) + hr(0, j, h) + rb(d, j)));
            let hh: number;
            if (c.linearBeforeReset) {
              const rj = f!(clip(xw(1, j) + hr(1, j, h) + rb(d, H + j)));
              hh = g!(clip(xw(2, j) + rj * (hr(2, j, h) + rb(d, 2 * H + j))));
            } else {
              const rh = h.map((hv, q) => f!(clip(xw(1, q) + hr(1, q, h) + rb(d, H + q))) * hv);
              hh = g!(clip(xw(2, j) + hr(2, j, rh) + rb(d, 2 * H + j)));
            }
            nh[j] = (1 - z) * hh + z * h[j]!;
          } else {
            const p = (gate: number) => (inp.P ? (inp.P.data[d * 3 * H + gate * H + j] as number) : 0);
            // gate blocks in W/R/B: i=0, o=1, f=2, c=3; peepholes: i=0, o=1, f=2
            const i = f!(clip(xw(0, j) + hr(0, j, h) + rb(d, j) + p(0) * cell[j]!));
            const fg = c.inputForget ? 1 - i : f!(clip(xw(2, j) + hr(2, j, h) + rb(d, 2 * H + j) + p(2) * cell[j]!));
            const cc = g!(clip(xw(3, j) + hr(3, j, h) + rb(d, 3 * H + j)));
            nc[j] = fg * cell[j]! + i * cc;
            const o = f!(clip(xw(1, j) + hr(1, j, h) + rb(d, H + j) + p(1) * nc[j]!));
            nh[j] = o * hAct!(nc[j]!);
          }
        }
        h = nh;
        if (c.op === 'LSTM') cell = nc;
        for (let j = 0; j < H; j++) Y[yIdx(t, d, b, j)] = h[j]!;
      }
      // An entry of length 0 has no last state: zeros, as onnxruntime gives.
      for (let j = 0; j < H; j++) {
        Yh[stateIdx(d, b, j)] = len === 0 ? 0 : h[j]!;
        Yc[stateIdx(d, b, j)] = len === 0 ? 0 : cell[j]!;
      }
    }
  }
  const yShape = L1 ? [batch, seq, dirs, H] : [seq, dirs, batch, H];
  const sShape = L1 ? [batch, dirs, H] : [dirs, batch, H];
  const outs = [tensor('float32', yShape, Y), tensor('float32', sShape, Yh)];
  if (c.op === 'LSTM') outs.push(tensor('float32', sShape, Yc));
  return outs;
}

function attrsOf(c: Case): Record<string, AttrValue> {
  const a: Record<string, AttrValue> = { hidden_size: c.hidden };
  if (c.direction) a.direction = c.direction;
  if (c.layout !== undefined) a.layout = c.layout;
  if (c.clip !== undefined) a.clip = new F(c.clip);
  if (c.inputForget) a.input_forget = 1;
  if (c.activations) a.activations = c.activations;
  if (c.alphas) a.activation_alpha = new Fs(c.alphas);
  if (c.betas) a.activation_beta = new Fs(c.betas);
  if (c.linearBeforeReset) a.linear_before_reset = 1;
  return a;
}

function runCase(c: Case): TensorData[] {
  const inp = makeInputs(c);
  const list: (TensorData | undefined)[] = [inp.X, inp.W, inp.R, inp.B, inp.seqLens, inp.initialH];
  if (c.op === 'LSTM') list.push(inp.initialC, inp.P);
  while (list.length > 3 && list[list.length - 1] === undefined) list.pop();
  const nOut = c.op === 'LSTM' ? 3 : 2;
  return runKernel(c.op, list, attrsOf(c), { outputs: nOut, constant: c.constantWeights ? [1, 2, 3] : [] });
}

function check(c: Case): void {
  const got = runCase(c);
  const exp = reference(c, makeInputs(c));
  expect(got.length).toBe(exp.length);
  for (let i = 0; i < exp.length; i++) {
    expect(got[i]!.dtype).toBe('float32');
    expectClose(got[i]!, exp[i]!, 1e-5, 1e-5);
  }
}

function describeCase(c: Case): string {
  const { op, ...rest } = c;
  return `${op} ${JSON.stringify(rest)}`;
}

/** The configuration matrix every op runs through. */
function matrix(op: Op): Case[] {
  const cases: Case[] = [];
  for (const direction of ['forward', 'reverse', 'bidirectional'] as const) {
    for (const [batch, hidden] of [
      [1, 1],
      [3, 7],
    ] as const) {
      cases.push({ op, seq: 4, batch, input: 3, hidden, direction });
      cases.push({ op, seq: 4, batch, input: 3, hidden, direction, bias: true, initialH: true, initialC: op === 'LSTM', constantWeights: true });
      cases.push({ op, seq: 5, batch, input: 2, hidden, direction, bias: true, layout: 1, initialH: true, initialC: op === 'LSTM' });
      if (batch === 3) {
        cases.push({ op, seq: 5, batch, input: 3, hidden, direction, bias: true, seqLens: [5, 2, 0], initialH: true, initialC: op === 'LSTM' });
        cases.push({ op, seq: 5, batch, input: 3, hidden, direction, layout: 1, seqLens: [3, 5, 1], constantWeights: true });
      }
      cases.push({ op, seq: 3, batch, input: 4, hidden, direction, bias: true, clip: 0.3 });
    }
  }
  return cases;
}

describe('LSTM', () => {
  for (const c of matrix('LSTM')) it(describeCase(c), () => check(c));

  it('peepholes, each direction', () => {
    for (const direction of ['forward', 'reverse', 'bidirectional'] as const) {
      check({ op: 'LSTM', seq: 4, batch: 3, input: 3, hidden: 7, direction, bias: true, peepholes: true, initialC: true });
    }
  });

  it('input_forget couples the forget gate to 1 - input gate', () => {
    check({ op: 'LSTM', seq: 4, batch: 3, input: 3, hidden: 7, bias: true, inputForget: true, initialC: true, peepholes: true });
  });

  it('peepholes with clip and constant weights', () => {
    check({ op: 'LSTM', seq: 4, batch: 3, input: 3, hidden: 7, direction: 'bidirectional', bias: true, peepholes: true, clip: 0.2, constantWeights: true });
  });

  it('custom activations with alpha/beta consumed by the functions that take them', () => {
    check({
      op: 'LSTM',
      seq: 3,
      batch: 3,
      input: 2,
      hidden: 7,
      direction: 'bidirectional',
      bias: true,
      activations: ['HardSigmoid', 'LeakyRelu', 'ScaledTanh', 'Sigmoid', 'Softsign', 'Affine'],
      alphas: [0.3, 0.05, 0.9, 0.7],
      betas: [0.4, 1.3, 0.1],
    });
  });

  it('activations with their default alpha/beta', () => {
    check({ op: 'LSTM', seq: 3, batch: 1, input: 2, hidden: 7, activations: ['HardSigmoid', 'Elu', 'ThresholdedRelu'] });
    check({ op: 'LSTM', seq: 3, batch: 1, input: 2, hidden: 7, activations: ['sigmoid', 'softplus', 'relu'] });
  });

  it('declaring only Y gives one output', () => {
    const inp = makeInputs({ op: 'LSTM', seq: 2, batch: 1, input: 2, hidden: 3 });
    const out = runKernel('LSTM', [inp.X, inp.W, inp.R], { hidden_size: 3 }, { outputs: 1 });
    expect(out.map((o) => o.shape)).toEqual([[2, 1, 1, 3]]);
  });

  it('an omitted Y ("" output) still types Y_h and Y_c, and run leaves it alone', () => {
    const node = makeNode('LSTM', { hidden_size: 3 }, 3, 3);
    node.outputs[0] = '';
    const prepared = defaultRegistry.get(node).prepare({
      node,
      opset: 14,
      inputs: [
        { dtype: 'float32', shape: [2, 1, 2] },
        { dtype: 'float32', shape: [1, 12, 2] },
        { dtype: 'float32', shape: [1, 12, 3] },
      ],
      constants: [],
      options: {},
    });
    expect(prepared.outputs.slice(1).map((o) => o.shape)).toEqual([
      [1, 1, 3],
      [1, 1, 3],
    ]);
  });

  it('rejects an unknown activation and a mis-shaped W', () => {
    const inp = makeInputs({ op: 'LSTM', seq: 2, batch: 1, input: 2, hidden: 3 });
    expect(() => runKernel('LSTM', [inp.X, inp.W, inp.R], { hidden_size: 3, activations: ['Sigmoid', 'Gelu', 'Tanh'] })).toThrow(UnsupportedError);
    expect(() => runKernel('LSTM', [inp.X, inp.W, inp.R], { hidden_size: 4 })).toThrow(GraphError);
    const asInt = (t: TensorData) => tensor('int32', t.shape, Array.from(t.data as Float32Array, Math.round));
    expect(() => runKernel('LSTM', [asInt(inp.X), asInt(inp.W), asInt(inp.R)], { hidden_size: 3 })).toThrow(UnsupportedError);
    expect(() => runKernel('LSTM', [inp.X, inp.W, inp.R], { hidden_size: 3, direction: 'sideways' })).toThrow(GraphError);
  });

  it('float16 inputs (widened storage) give float16 outputs equal to the float32 result', () => {
    const c: Case = { op: 'LSTM', seq: 3, batch: 2, input: 3, hidden: 4, bias: true };
    const inp = makeInputs(c);
    const half = (t: TensorData) => ({ ...t, dtype: 'float16' as const });
    const got = runKernel('LSTM', [half(inp.X), half(inp.W), half(inp.R), half(inp.B!)], { hidden_size: 4 }, { outputs: 3 });
    const exp = reference(c, inp);
    for (let i = 0; i < 3; i++) {
      expect(got[i]!.dtype).toBe('float16');
      expectClose({ ...got[i]!, dtype: 'float32' }, exp[i]!, 1e-5, 1e-5);
    }
  });
});

/** The same case with every float input widened to float64: the kernel then computes and stores in double. */
function checkFloat64(c: Case): void {
  const inp = makeInputs(c);
  const widen = (t: TensorData | undefined) => (t && t.dtype === 'float32' ? { dtype: 'float64' as const, shape: t.shape, data: Float64Array.from(t.data as Float32Array) } : t);
  const list = [inp.X, inp.W, inp.R, inp.B, inp.seqLens, inp.initialH, ...(c.op === 'LSTM' ? [inp.initialC, inp.P] : [])].map(widen);
  const got = runKernel(c.op, list, attrsOf(c), { outputs: c.op === 'LSTM' ? 3 : 2 });
  const exp = reference(c, inp);
  for (let i = 0; i < exp.length; i++) {
    expect(got[i]!.dtype).toBe('float64');
    expect(got[i]!.data).toBeInstanceOf(Float64Array);
    expectClose(got[i]!, { ...exp[i]!, data: Float64Array.from(exp[i]!.data as Float32Array) }, 1e-6, 1e-7);
  }
}

describe('float64 and inferred hidden_size', () => {
  it('float64 LSTM / GRU / RNN with every optional input', () => {
    checkFloat64({ op: 'LSTM', seq: 4, batch: 3, input: 3, hidden: 7, direction: 'bidirectional', bias: true, seqLens: [4, 1, 3], initialH: true, initialC: true, peepholes: true });
    checkFloat64({ op: 'GRU', seq: 4, batch: 3, input: 3, hidden: 7, direction: 'bidirectional', bias: true, seqLens: [4, 1, 3], initialH: true });
    checkFloat64({ op: 'RNN', seq: 4, batch: 3, input: 3, hidden: 7, direction: 'reverse', bias: true, seqLens: [4, 1, 3], initialH: true });
  });

  it('hidden_size defaults to R.shape[2] when the attribute is absent', () => {
    const c: Case = { op: 'GRU', seq: 3, batch: 2, input: 3, hidden: 5, bias: true };
    const inp = makeInputs(c);
    const got = runKernel('GRU', [inp.X, inp.W, inp.R, inp.B], {}, { outputs: 2 });
    const exp = reference(c, inp);
    expectClose(got[0]!, exp[0]!, 1e-5, 1e-5);
    expectClose(got[1]!, exp[1]!, 1e-5, 1e-5);
  });
});

describe('GRU', () => {
  for (const c of matrix('GRU')) it(describeCase(c), () => check(c));
  for (const c of matrix('GRU')) {
    const lbr = { ...c, linearBeforeReset: true };
    it(`${describeCase(lbr)}`, () => check(lbr));
  }

  it('custom activations', () => {
    check({ op: 'GRU', seq: 3, batch: 3, input: 2, hidden: 7, direction: 'bidirectional', bias: true, activations: ['HardSigmoid', 'Softsign', 'Sigmoid', 'Elu'], alphas: [0.25, 0.5], betas: [0.45] });
  });
});

describe('RNN', () => {
  for (const c of matrix('RNN')) it(describeCase(c), () => check(c));

  it('custom activations per direction', () => {
    check({ op: 'RNN', seq: 3, batch: 3, input: 2, hidden: 7, direction: 'bidirectional', bias: true, activations: ['Relu', 'ScaledTanh'], alphas: [0.8], betas: [1.5] });
  });

  it('a hand-checked step: Ht = tanh(x·w + h·r + wb + rb)', () => {
    // seq 2, batch 1, input 1, hidden 1: H1 = tanh(0.5*2 + 0 + 0.1 + 0.2) = tanh(1.3); H2 = tanh(-1*2 + H1*0.5 + 0.3)
    const out = runKernel(
      'RNN',
      [tensor('float32', [2, 1, 1], [0.5, -1]), tensor('float32', [1, 1, 1], [2]), tensor('float32', [1, 1, 1], [0.5]), tensor('float32', [1, 2], [0.1, 0.2])],
      { hidden_size: 1 },
      { outputs: 2 },
    );
    const h1 = Math.tanh(1.3);
    const h2 = Math.tanh(-2 + h1 * 0.5 + 0.3);
    expectClose(out[0]!, tensor('float32', [2, 1, 1, 1], [h1, h2]));
    expectClose(out[1]!, tensor('float32', [1, 1, 1], [h2]));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The wasm backend: the same cases prepared with a WasmContext and run with X, the initial states, the outputs and
// the scratch as views of its memory (as a session's arena places them), W/R/B/P as prepare-time constants. The
// sequence kernels are wrapped to count their calls, so a case that silently fell back to JS shows.

// Node 20 has relaxed SIMD (f32x4.relaxed_madd in the products) behind a flag: turn it on so that variant runs too.
if (!hasRelaxedSimd()) setFlagsFromString('--experimental-wasm-relaxed-simd');
const plainCtx = WasmContext.create({ relaxed: false });
const relaxedCtx = WasmContext.create();
const wasmContexts = [plainCtx, relaxedCtx?.relaxedSimd ? relaxedCtx : undefined].filter((c): c is WasmContext => c !== undefined);
const wasmCtx = wasmContexts[0];
if (wasmCtx === undefined) console.warn('WebAssembly SIMD is not available in this engine: wasm recurrent cases skipped');
else if (wasmContexts.length < 2) console.warn('relaxed SIMD does not validate here: only the plain wasm SIMD recurrent kernels are tested');
const sequenceCalls = { count: 0 };
for (const ctx of wasmContexts) {
  for (const spec of Object.values(RECURRENT_KERNELS)) {
    const kernels = ctx.use(spec) as { sequence: (...a: number[]) => number } | undefined;
    if (kernels === undefined) throw new Error(`${spec.key}: the engine refused the module`);
    const original = kernels.sequence;
    kernels.sequence = (...a: number[]) => {
      sequenceCalls.count++;
      return original(...a);
    };
  }
}

/** Runs a case on the wasm backend; returns the outputs copied out and how many sequence-kernel calls ran. */
function runCaseInWasm(ctx: WasmContext, c: Case): { outputs: TensorData[]; calls: number } {
  const inp = makeInputs(c);
  const list: (TensorData | undefined)[] = [inp.X, inp.W, inp.R, inp.B, inp.seqLens, inp.initialH];
  if (c.op === 'LSTM') list.push(inp.initialC, inp.P);
  while (list.length > 3 && list[list.length - 1] === undefined) list.pop();
  const constant = c.constantWeights === false ? [] : [1, 2, 3, 7];
  const before = sequenceCalls.count;
  const outputs = runKernelInWasm(ctx, c.op, list, attrsOf(c), { constant, outputs: c.op === 'LSTM' ? 3 : 2 });
  return { outputs, calls: sequenceCalls.count - before };
}

/** Wasm result (plain and relaxed SIMD) vs the reference at rtol 1e-4, atol 1e-5 (the gates' exp is ~3e-7 relative; sums are float32). */
function checkWasm(c: Case, expectWasm = true): void {
  const exp = reference(c, makeInputs(c));
  for (const ctx of wasmContexts) {
    const { outputs, calls } = runCaseInWasm(ctx, c);
    expect(outputs.length).toBe(exp.length);
    for (let i = 0; i < exp.length; i++) expectClose(outputs[i]!, exp[i]!, 1e-4, 1e-5);
    if (expectWasm) expect(calls).toBeGreaterThan(0);
    else expect(calls).toBe(0);
  }
}

function wasmMatrix(op: Op): Case[] {
  const cases: Case[] = [];
  for (const hidden of [1, 3, 13, 64, 65]) {
    cases.push({ op, seq: 5, batch: 1, input: 6, hidden, bias: true });
    cases.push({ op, seq: 4, batch: 2, input: 5, hidden, direction: 'bidirectional', bias: true, initialH: true, initialC: op === 'LSTM', seed: hidden });
  }
  for (const direction of ['forward', 'reverse', 'bidirectional'] as const) {
    cases.push({ op, seq: 5, batch: 3, input: 3, hidden: 7, direction, bias: true, seqLens: [5, 2, 0], initialH: true, initialC: op === 'LSTM' });
    cases.push({ op, seq: 5, batch: 3, input: 2, hidden: 6, direction, layout: 1, seqLens: [3, 5, 1], initialH: true, initialC: op === 'LSTM' });
    cases.push({ op, seq: 3, batch: 2, input: 4, hidden: 9, direction, bias: true, clip: 0.3 });
  }
  cases.push({ op, seq: 4, batch: 1, input: 3, hidden: 5 }); // no bias, no initial state
  // Fewer than 4 rows (steps × batch): the input projection runs on the panel kernel instead of the GEMM.
  for (const hidden of [1, 3, 13, 64, 65]) {
    cases.push({ op, seq: 1, batch: 1, input: 5, hidden, bias: true, initialH: true, initialC: op === 'LSTM', seed: 3 * hidden });
  }
  cases.push({ op, seq: 3, batch: 1, input: 3, hidden: 6, direction: 'bidirectional', bias: true });
  cases.push({ op, seq: 1, batch: 3, input: 1, hidden: 9, direction: 'reverse', bias: true, seqLens: [1, 0, 1], initialH: true, layout: 1 });
  return cases;
}

describe.skipIf(wasmCtx === undefined)('wasm backend', () => {
  for (const op of ['LSTM', 'GRU', 'RNN'] as const) {
    for (const c of wasmMatrix(op)) it(`${describeCase(c)}`, () => checkWasm(c));
  }
  for (const c of wasmMatrix('GRU')) {
    const lbr = { ...c, linearBeforeReset: true };
    it(`${describeCase(lbr)}`, () => checkWasm(lbr));
  }

  it('LSTM peepholes, each direction, with clip and sequence_lens', () => {
    for (const direction of ['forward', 'reverse', 'bidirectional'] as const) {
      checkWasm({ op: 'LSTM', seq: 4, batch: 3, input: 3, hidden: 7, direction, bias: true, peepholes: true, initialC: true, seqLens: [4, 0, 2] });
      checkWasm({ op: 'LSTM', seq: 4, batch: 2, input: 3, hidden: 13, direction, bias: true, peepholes: true, clip: 0.4, layout: 1 });
    }
  });

  it('falls back to the exact JS path for input_forget, other activations and runtime weights', () => {
    checkWasm({ op: 'LSTM', seq: 4, batch: 3, input: 3, hidden: 7, bias: true, inputForget: true, initialC: true, peepholes: true }, false);
    checkWasm({ op: 'GRU', seq: 3, batch: 3, input: 2, hidden: 7, direction: 'bidirectional', bias: true, activations: ['HardSigmoid', 'Softsign', 'Sigmoid', 'Elu'], alphas: [0.25, 0.5], betas: [0.45] }, false);
    checkWasm({ op: 'RNN', seq: 3, batch: 2, input: 2, hidden: 7, activations: ['Relu'] }, false);
    checkWasm({ op: 'LSTM', seq: 3, batch: 2, input: 3, hidden: 5, bias: true, constantWeights: false }, false);
  });

  it('an omitted Y still gives Y_h and Y_c', () => {
    const c: Case = { op: 'LSTM', seq: 4, batch: 2, input: 3, hidden: 6, bias: true, direction: 'bidirectional' };
    const inp = makeInputs(c);
    const node = makeNode('LSTM', attrsOf(c), 4, 3);
    node.outputs[0] = '';
    const ctx = wasmCtx!;
    const prepared = defaultRegistry.get(node).prepare({
      node,
      opset: 17,
      inputs: [inp.X, inp.W, inp.R, inp.B!].map((t) => ({ dtype: t.dtype, shape: [...t.shape] })),
      constants: [undefined, inp.W, inp.R, inp.B],
      options: { wasm: ctx },
    });
    const lengths = [inp.X.data.length, ...prepared.outputs.map((t) => sizeOf(t.shape)), ...(prepared.scratch ?? []).map((s) => s.length)];
    const offsets = lengths.map((n) => ctx.alloc(Math.max(1, n) * 4));
    try {
      const views = offsets.map((o, i) => ctx.f32(o, lengths[i]!));
      views[0]!.set(inp.X.data as Float32Array);
      views[1]!.fill(NaN);
      const before = sequenceCalls.count;
      prepared.run([views[0], inp.W.data, inp.R.data, inp.B!.data], views.slice(1, 4), views.slice(4));
      expect(sequenceCalls.count - before).toBe(4);
      expect(views[1]!.every(Number.isNaN)).toBe(true);
      const exp = reference(c, inp);
      expectClose({ dtype: 'float32', shape: exp[1]!.shape, data: Float32Array.from(views[2]!) }, exp[1]!, 1e-4, 1e-5);
      expectClose({ dtype: 'float32', shape: exp[2]!.shape, data: Float32Array.from(views[3]!) }, exp[2]!, 1e-4, 1e-5);
    } finally {
      offsets.forEach((o) => ctx.free(o));
    }
  });
});
