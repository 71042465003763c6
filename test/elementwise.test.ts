import { describe, expect, it } from 'vitest';
import { allocData, sizeOf, type Data, type DType, type TensorData } from '../src/dtype.js';
import { GraphError, UnsupportedError } from '../src/errors.js';
import { defaultRegistry } from '../src/kernels/registry.js';
import type { PrepareContext } from '../src/kernels/kernel.js';
import { erf, erfc } from '../src/kernels/elementwise/math.js';
import { WasmContext } from '../src/wasm/context.js';
import { F, expectClose, makeNode, randomTensor, rng, runKernel, tensor, type AttrValue } from './harness.js';

// ---- references written independently of the kernels ----

/** erfc(x), x >= 0: Maclaurin series of erf (A&S 7.1.5) below 1.5, Laplace's continued fraction (A&S 7.1.14) above. */
function naiveErfc(x: number): number {
  if (x < 1.5) return 1 - naiveErf(x);
  let k = x;
  for (let n = 300; n >= 1; n--) k = x + n / 2 / k;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * k);
}

function naiveErf(x: number): number {
  if (Math.abs(x) >= 1.5) return Math.sign(x) * (1 - naiveErfc(Math.abs(x)));
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** Naive numpy broadcast: unravel each output index and map it into every input. */
function naiveBroadcast(shapes: number[][]): { shape: number[]; index: (k: number, flat: number) => number } {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const pad = shapes.map((s) => [...new Array<number>(rank - s.length).fill(1), ...s]);
  const shape = Array.from({ length: rank }, (_, d) => Math.max(...pad.map((s) => s[d])));
  if (pad.some((s) => s.some((v) => v === 0))) for (let d = 0; d < rank; d++) if (pad.some((s) => s[d] === 0)) shape[d] = 0;
  const index = (k: number, flat: number): number => {
    let rem = flat;
    let idx = 0;
    let stride = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const c = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      if (pad[k][d] !== 1) idx += c * stride;
      stride *= pad[k][d];
    }
    return idx;
  };
  return { shape, index };
}

function naiveBinary(a: TensorData, b: TensorData, f: (x: any, y: any) => any, outDtype: DType = a.dtype): TensorData {
  const { shape, index } = naiveBroadcast([a.shape, b.shape]);
  const data = allocData(outDtype, sizeOf(shape)) as any;
  for (let i = 0; i < data.length; i++) data[i] = f(a.data[index(0, i)], b.data[index(1, i)]);
  return { dtype: outDtype, shape, data };
}

function values(t: TensorData): (number | bigint | string)[] {
  return Array.from(t.data as ArrayLike<number | bigint | string>);
}

/** Prepares `opType` and runs it with output 0 aliasing input `inPlace` (as the arena planner would). */
function runAliased(opType: string, inputs: TensorData[], attrs: Record<string, AttrValue> = {}, opset = 17): TensorData {
  const node = makeNode(opType, attrs, inputs.length);
  const ctx: PrepareContext = {
    node,
    opset,
    inputs: inputs.map((t) => ({ dtype: t.dtype, shape: t.shape })),
    constants: inputs.map(() => undefined),
    options: {},
  };
  const prepared = defaultRegistry.get(node).prepare(ctx);
  expect(prepared.inPlace).toBeDefined();
  const target = inputs[prepared.inPlace!];
  const copies = inputs.map((t) => ({ ...t, data: (t.data as Float32Array).slice() as Data }));
  prepared.run(
    copies.map((t) => t.data),
    [copies[prepared.inPlace!].data],
    [],
  );
  return { dtype: prepared.outputs[0].dtype, shape: target.shape, data: copies[prepared.inPlace!].data };
}

const f32 = (shape: number[], v: number[]): TensorData => tensor('float32', shape, v);

// ---- unary math ----

describe('unary math', () => {
  const xs = [-2.5, -1, -0.3, 0, 0.3, 0.5, 1, 2.5];
  const cases: [string, (x: number) => number, number[]?][] = [
    ['Abs', Math.abs],
    ['Neg', (x) => -x],
    ['Reciprocal', (x) => 1 / x],
    ['Floor', Math.floor],
    ['Ceil', Math.ceil],
    ['Exp', Math.exp],
    ['Sin', Math.sin],
    ['Cos', Math.cos],
    ['Tan', Math.tan],
    ['Atan', Math.atan],
    ['Sinh', Math.sinh],
    ['Cosh', Math.cosh],
    ['Asinh', Math.asinh],
    ['Tanh', Math.tanh],
    ['Sign', Math.sign],
    ['Sqrt', Math.sqrt, [0, 0.25, 1, 2, 9]],
    ['Log', Math.log, [0.5, 1, 2, 10]],
    ['Asin', Math.asin, [-1, -0.5, 0, 0.5, 1]],
    ['Acos', Math.acos, [-1, -0.5, 0, 0.5, 1]],
    ['Atanh', Math.atanh, [-0.9, 0, 0.5]],
    ['Acosh', Math.acosh, [1, 2, 10]],
  ];
  for (const [op, ref, input = xs] of cases) {
    it(`${op} matches Math on float32`, () => {
      const x = f32([input.length], input);
      const [y] = runKernel(op, [x]);
      expectClose(y, f32([input.length], input.map((v) => Math.fround(ref(Math.fround(v))))), 1e-6, 1e-7);
    });
  }

  it('Round rounds half to even', () => {
    const [y] = runKernel('Round', [f32([9], [0.5, 1.5, 2.5, -0.5, -1.5, 2.3, -2.7, 3.5, -2.5])]);
    expect(values(y)).toEqual([0, 2, 2, -0, -2, 2, -3, 4, -2]);
  });

  it('Erf matches tabulated values (A&S table 7.1)', () => {
    const x = [0, 1e-8, 0.5, 1, 2, -1, 3.5, -5];
    const exp = [0, 1.1283791670955126e-8, 0.5204998778130465, 0.8427007929497149, 0.9953222650189527, -0.8427007929497149, 0.9999992569016276, -1];
    const [y] = runKernel('Erf', [tensor('float64', [8], x)]);
    expectClose(y, tensor('float64', [8], exp), 1e-9, 1e-12);
  });

  it('erf and erfc match 30-digit values (mpmath) to 1e-11 relative, tails included', () => {
    const cases: [number, number][] = [
      [1e-8, 0.99999998871620832904], [0.3, 0.67137324054087258381], [0.99, 0.16149193044463020018],
      [1, 0.15729920705028513066], [1.5, 0.033894853524689272933], [2.5, 0.00040695201744495893956],
      [3.9, 3.4792248597231767129e-8], [5.5, 7.3578479179743980631e-15], [7.9, 5.5727180569525451779e-29],
      [12, 1.3562611692059042128e-64], [26, 5.6631924088561428465e-296],
    ];
    for (const [x, c] of cases) {
      expect(Math.abs(erfc(x) - c) / c).toBeLessThan(1e-11);
      expect(Math.abs(erfc(-x) - (2 - c))).toBeLessThan(5e-15 + 1e-11 * c);
      expect(Math.abs(erf(x) - (1 - c))).toBeLessThan(5e-15 + 1e-11 * Math.min(1 - c, c));
      expect(erf(-x)).toBe(-erf(x));
    }
    expect(erf(NaN)).toBeNaN();
    expect(erfc(NaN)).toBeNaN();
    expect(erf(Infinity)).toBe(1);
    expect(erfc(-Infinity)).toBe(2);
  });

  it('Erf and exact Gelu agree with a series / continued-fraction reference on a dense grid', () => {
    const xs = Array.from({ length: 4001 }, (_, i) => -40 + i * 0.02);
    const [e] = runKernel('Erf', [tensor('float64', [xs.length], xs)]);
    expectClose(e, tensor('float64', [xs.length], xs.map(naiveErf)), 1e-11, 1e-15);
    // Gelu's negative tail is x/2 erfc(|x|/sqrt 2): it must keep its relative precision (no 1 + erf cancellation).
    const [g] = runKernel('Gelu', [tensor('float64', [xs.length], xs)], {}, { opset: 20 });
    const ref = xs.map((v) => (v >= 0 ? 0.5 * v * (1 + naiveErf(v / Math.SQRT2)) : 0.5 * v * naiveErfc(-v / Math.SQRT2)));
    expectClose(g, tensor('float64', [xs.length], ref), 1e-10, 0);
    const [g32] = runKernel('Gelu', [f32([4], [-3, -0.5, 0.7, 4])], {}, { opset: 20 });
    expectClose(g32, f32([4], [-0.00404969409489028358, -0.15426876936299344818, 0.53062544344384884631, 3.9998733150326675203]), 1e-6, 0);
  });

  it('IsNaN and IsInf give bool, IsInf honours detect_negative/detect_positive', () => {
    const x = f32([4], [NaN, Infinity, -Infinity, 1]);
    expect(runKernel('IsNaN', [x])[0]).toMatchObject({ dtype: 'bool', data: new Uint8Array([1, 0, 0, 0]) });
    expect(values(runKernel('IsInf', [x])[0])).toEqual([0, 1, 1, 0]);
    expect(values(runKernel('IsInf', [x], { detect_negative: 0 })[0])).toEqual([0, 1, 0, 0]);
    expect(values(runKernel('IsInf', [x], { detect_positive: 0 })[0])).toEqual([0, 0, 1, 0]);
  });

  it('Not and BitwiseNot', () => {
    expect(values(runKernel('Not', [tensor('bool', [3], [1, 0, 1])])[0])).toEqual([0, 1, 0]);
    expect(values(runKernel('BitwiseNot', [tensor('uint8', [3], [0, 1, 255])])[0])).toEqual([255, 254, 0]);
    expect(values(runKernel('BitwiseNot', [tensor('int32', [2], [0, -1])])[0])).toEqual([-1, 0]);
    expect(values(runKernel('BitwiseNot', [tensor('uint64', [1], [0])])[0])).toEqual([18446744073709551615n]);
  });

  it('Abs, Neg, Sign on int64 stay exact BigInts', () => {
    const x = tensor('int64', [3], [-9007199254740993n, 0n, 5n] as unknown as number[]);
    expect(values(runKernel('Abs', [x])[0])).toEqual([9007199254740993n, 0n, 5n]);
    expect(values(runKernel('Neg', [x])[0])).toEqual([9007199254740993n, 0n, -5n]);
    expect(values(runKernel('Sign', [x])[0])).toEqual([-1n, 0n, 1n]);
  });

  it('Abs on int8 wraps -128 like two\'s complement', () => {
    expect(values(runKernel('Abs', [tensor('int8', [3], [-128, -3, 4])])[0])).toEqual([-128, 3, 4]);
  });

  it('float16 results are rounded to float16', () => {
    // sqrt(2) = 1.41421356...; nearest float16 is 1 + 424/1024 = 1.4140625
    const [y] = runKernel('Sqrt', [tensor('float16', [1], [2])]);
    expect(y.dtype).toBe('float16');
    expect(values(y)).toEqual([1.4140625]);
  });

  it('refuses float-only ops on integers with UnsupportedError', () => {
    expect(() => runKernel('Sqrt', [tensor('int32', [1], [4])])).toThrow(UnsupportedError);
    expect(() => runKernel('Sqrt', [tensor('int32', [1], [4])])).toThrow(/test_Sqrt/);
  });

  it('writes correctly when the output aliases the input', () => {
    const x = randomTensor([2, 3, 5], 3);
    const y = runAliased('Exp', [x]);
    expectClose(y, f32([2, 3, 5], Array.from(x.data as Float32Array, Math.exp)), 1e-6);
  });
});

// ---- activations ----

describe('activations', () => {
  const input = [-3, -1, -0.25, 0, 0.25, 1, 3];
  const x = f32([7], input);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const cases: [string, Record<string, AttrValue>, (v: number) => number][] = [
    ['Relu', {}, (v) => Math.max(v, 0)],
    ['LeakyRelu', {}, (v) => (v < 0 ? 0.01 * v : v)],
    ['LeakyRelu', { alpha: 0.2 }, (v) => (v < 0 ? 0.2 * v : v)],
    ['Sigmoid', {}, sig],
    ['HardSigmoid', {}, (v) => Math.min(1, Math.max(0, 0.2 * v + 0.5))],
    ['HardSigmoid', { alpha: 0.5, beta: 0.6 }, (v) => Math.min(1, Math.max(0, 0.5 * v + 0.6))],
    ['HardSwish', {}, (v) => v * Math.min(1, Math.max(0, v / 6 + 0.5))],
    ['Elu', { alpha: new F(2) }, (v) => (v < 0 ? 2 * (Math.exp(v) - 1) : v)],
    ['Selu', {}, (v) => 1.0507009873554805 * (v > 0 ? v : 1.6732632423543772 * (Math.exp(v) - 1))],
    ['Celu', { alpha: new F(2) }, (v) => Math.max(0, v) + Math.min(0, 2 * (Math.exp(v / 2) - 1))],
    ['Softplus', {}, (v) => Math.log(1 + Math.exp(v))],
    ['Softsign', {}, (v) => v / (1 + Math.abs(v))],
    ['ThresholdedRelu', { alpha: 0.5 }, (v) => (v > 0.5 ? v : 0)],
    ['Mish', {}, (v) => v * Math.tanh(Math.log(1 + Math.exp(v)))],
    ['Gelu', { approximate: 'tanh' }, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))],
    ['Shrink', { lambd: 1.5, bias: 0.5 }, (v) => (v < -1.5 ? v + 0.5 : v > 1.5 ? v - 0.5 : 0)],
  ];
  for (const [op, attrs, ref] of cases) {
    it(`${op} ${JSON.stringify(attrs)}`, () => {
      const [y] = runKernel(op, [x], attrs, { opset: 20 });
      expectClose(y, f32([7], input.map(ref)), 1e-5, 1e-6);
    });
  }

  it('Gelu (exact) at hand-checked points: gelu(1) = 0.8413447460685429', () => {
    const [y] = runKernel('Gelu', [tensor('float64', [3], [0, 1, -1])], {}, { opset: 20 });
    expectClose(y, tensor('float64', [3], [0, 0.8413447460685429, -0.15865525393145707]), 1e-9);
  });

  it('Sigmoid and Softplus do not overflow for large |x|', () => {
    const [s] = runKernel('Sigmoid', [f32([2], [-1000, 1000])]);
    expect(values(s)).toEqual([0, 1]);
    const [p] = runKernel('Softplus', [f32([2], [-1000, 1000])]);
    expect(values(p)).toEqual([0, 1000]);
  });

  it('Relu and LeakyRelu (any alpha) keep NaN, map -0 as the spec formula, and handle infinities', () => {
    const xs = [NaN, -0, 0, -Infinity, Infinity, -2.5, 3, -1e-40];
    const same = (got: TensorData, want: number[]) => values(got).forEach((g, i) => expect(Object.is(g, want[i]), `${i}: ${String(g)} vs ${want[i]}`).toBe(true));
    for (const dtype of ['float32', 'float64'] as const) {
      const x = tensor(dtype, [xs.length], xs);
      const r = (v: number) => (dtype === 'float32' ? Math.fround(v) : v);
      same(runKernel('Relu', [x])[0], xs.map((v) => r(v > 0 ? v : v < 0 ? 0 : v + 0)));
      for (const alpha of [0.01, 0, 1, 1.5, -0.5]) {
        same(runKernel('LeakyRelu', [x], { alpha: new F(alpha) })[0], xs.map((v) => r(r(v) >= 0 ? r(v) : alpha * r(v))));
      }
    }
  });

  it('Relu on int32 and int64', () => {
    expect(values(runKernel('Relu', [tensor('int32', [3], [-2, 0, 5])])[0])).toEqual([0, 0, 5]);
    expect(values(runKernel('Relu', [tensor('int64', [2], [-2, 7])])[0])).toEqual([0n, 7n]);
  });

  it('Gelu rejects an unknown approximation', () => {
    expect(() => runKernel('Gelu', [x], { approximate: 'fast' }, { opset: 20 })).toThrow(UnsupportedError);
  });

  it('PRelu broadcasts the slope unidirectionally (per channel)', () => {
    const xt = randomTensor([2, 3, 2, 2], 5);
    const slope = f32([3, 1, 1], [0.1, 0.2, 0.3]);
    const [y] = runKernel('PRelu', [xt, slope]);
    expectClose(y, naiveBinary(xt, slope, (v, s) => (v < 0 ? Math.fround(v * s) : v)), 1e-6);
    expect(() => runKernel('PRelu', [f32([3], [1, 2, 3]), f32([2, 3], [1, 1, 1, 1, 1, 1])])).toThrow(GraphError);
  });
});

// ---- Clip, Dropout ----

describe('Clip', () => {
  const x = f32([5], [-3, -1, 0, 1, 3]);
  it('opset >= 11 takes min/max inputs, either may be omitted', () => {
    expect(values(runKernel('Clip', [x, f32([], [-1]), f32([], [2])], {}, { opset: 13 })[0])).toEqual([-1, -1, 0, 1, 2]);
    expect(values(runKernel('Clip', [x, undefined, f32([], [0.5])], {}, { opset: 13 })[0])).toEqual([-3, -1, 0, 0.5, 0.5]);
    expect(values(runKernel('Clip', [x, f32([], [0])], {}, { opset: 13 })[0])).toEqual([0, 0, 0, 1, 3]);
    expect(values(runKernel('Clip', [x], {}, { opset: 13 })[0])).toEqual([-3, -1, 0, 1, 3]);
  });
  it('opset 6 takes min/max attributes', () => {
    expect(values(runKernel('Clip', [x], { min: new F(-2), max: 0.5 }, { opset: 6 })[0])).toEqual([-2, -1, 0, 0.5, 0.5]);
  });
  it('supports int8 and int64', () => {
    expect(values(runKernel('Clip', [tensor('int8', [3], [-100, 5, 100]), tensor('int8', [], [-10]), tensor('int8', [], [10])], {}, { opset: 13 })[0])).toEqual([-10, 5, 10]);
    expect(values(runKernel('Clip', [tensor('int64', [3], [-100, 5, 100]), undefined, tensor('int64', [], [10])], {}, { opset: 13 })[0])).toEqual([-100n, 5n, 10n]);
  });
  it('min > max gives max everywhere (numpy clip)', () => {
    expect(values(runKernel('Clip', [x, f32([], [2]), f32([], [1])], {}, { opset: 13 })[0])).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('Dropout', () => {
  it('is the identity with an all-true bool mask', () => {
    const x = randomTensor([2, 3], 9);
    const [y, mask] = runKernel('Dropout', [x, f32([], [0.5])], {}, { opset: 13, outputs: 2 });
    expect(values(y)).toEqual(values(x));
    expect(mask).toMatchObject({ dtype: 'bool', shape: [2, 3], data: new Uint8Array([1, 1, 1, 1, 1, 1]) });
  });
  it('refuses a constant training_mode=true', () => {
    const x = randomTensor([2], 9);
    expect(() => runKernel('Dropout', [x, f32([], [0.5]), tensor('bool', [], [1])], {}, { opset: 13, constant: [2] })).toThrow(UnsupportedError);
  });
});

// ---- binary ops and broadcasting ----

describe('broadcasting (Add against a naive reference)', () => {
  const cases: [string, number[], number[]][] = [
    ['same shape', [2, 3, 4], [2, 3, 4]],
    ['scalar right', [2, 3], []],
    ['scalar left', [], [4, 2]],
    ['per channel', [2, 3, 4, 5], [3, 1, 1]],
    ['per row', [3, 4, 6], [6]],
    ['row left', [6], [3, 4, 6]],
    ['general both sides', [2, 1, 3], [4, 1]],
    ['middle broadcast', [2, 3, 4], [2, 1, 4]],
    ['outer broadcast', [1, 3, 4], [5, 1, 1]],
    ['ones everywhere', [1, 1], [1]],
    ['zero-size dim', [0, 3], [3]],
    ['zero against one', [2, 0], [2, 1]],
  ];
  for (const [name, sa, sb] of cases) {
    it(name, () => {
      const a = randomTensor(sa, 1);
      const b = randomTensor(sb, 2);
      const [y] = runKernel('Add', [a, b]);
      const exp = naiveBinary(a, b, (x, z) => Math.fround(x + z));
      expect(y.shape).toEqual(exp.shape);
      expectClose(y, exp, 0, 0);
    });
  }

  it('rank 0 + rank 0 gives rank 0', () => {
    const [y] = runKernel('Add', [f32([], [2]), f32([], [3])]);
    expect(y.shape).toEqual([]);
    expect(values(y)).toEqual([5]);
  });

  it('incompatible shapes are a GraphError naming the node', () => {
    expect(() => runKernel('Add', [randomTensor([2, 3]), randomTensor([4])])).toThrow(GraphError);
    expect(() => runKernel('Add', [randomTensor([2, 3]), randomTensor([4])])).toThrow(/node 'test_Add' \(Add\)/);
  });

  it('mismatched dtypes are a GraphError', () => {
    expect(() => runKernel('Add', [randomTensor([2]), tensor('float64', [2], [1, 2])])).toThrow(GraphError);
  });

  it('legacy opset 6 broadcast=1 aligns B at axis', () => {
    const a = randomTensor([2, 3, 4, 5], 1);
    const b = randomTensor([3, 4], 2);
    const [y] = runKernel('Add', [a, b], { broadcast: 1, axis: 1 }, { opset: 6 });
    const exp = naiveBinary(a, { ...b, shape: [3, 4, 1] }, (x, z) => Math.fround(x + z));
    expectClose(y, exp, 0, 0);
    const [s] = runKernel('Mul', [a, f32([5], [1, 2, 3, 4, 5])], { broadcast: 1 }, { opset: 6 });
    expectClose(s, naiveBinary(a, f32([5], [1, 2, 3, 4, 5]), (x, z) => Math.fround(x * z)), 0, 0);
    expect(() => runKernel('Add', [a, b], {}, { opset: 6 })).toThrow(GraphError);
  });

  it('output aliasing either same-shape input stays correct', () => {
    const a = randomTensor([3, 4, 5], 1);
    const b = randomTensor([4, 1], 2);
    expectClose(runAliased('Sub', [a, b]), naiveBinary(a, b, (x, z) => Math.fround(x - z)), 0, 0);
    expectClose(runAliased('Sub', [b, a]), naiveBinary(b, a, (x, z) => Math.fround(x - z)), 0, 0);
  });
});

describe('arithmetic', () => {
  const a = randomTensor([3, 4], 11, -4, 4);
  const b = randomTensor([4], 12, 0.5, 3);
  const floatCases: [string, (x: number, y: number) => number][] = [
    ['Add', (x, y) => x + y],
    ['Sub', (x, y) => x - y],
    ['Mul', (x, y) => x * y],
    ['Div', (x, y) => x / y],
    ['Pow', (x, y) => x ** y],
  ];
  for (const [op, f] of floatCases) {
    it(`${op} float32 with row broadcast`, () => {
      const base = op === 'Pow' ? randomTensor([3, 4], 13, 0.1, 3) : a;
      expectClose(runKernel(op, [base, b])[0], naiveBinary(base, b, (x, y) => Math.fround(f(x, y))), 1e-6);
    });
  }

  it('Pow with a scalar exponent (2 takes the x·x loop) matches Math.pow, NaN and signed zeros included', () => {
    const xs = [-3.5, -0, 0, 1e-20, 2.25, NaN, -Infinity, 7e30];
    for (const e of [2, 0.5, 3, -1]) {
      const [y] = runKernel('Pow', [tensor('float64', [2, 4], xs), tensor('float64', [], [e])]);
      expect(values(y)).toEqual(xs.map((x) => Math.pow(x, e)));
      const [y32] = runKernel('Pow', [f32([2, 4], xs), f32([], [e])]);
      expect(values(y32)).toEqual(xs.map((x) => Math.fround(Math.pow(Math.fround(x), e))));
    }
  });

  it('integer Div truncates toward zero (int32, int64, uint8)', () => {
    const x = [7, -7, 7, -7];
    const y = [2, 2, -2, -2];
    expect(values(runKernel('Div', [tensor('int32', [4], x), tensor('int32', [4], y)])[0])).toEqual([3, -3, -3, 3]);
    expect(values(runKernel('Div', [tensor('int64', [4], x), tensor('int64', [4], y)])[0])).toEqual([3n, -3n, -3n, 3n]);
    expect(values(runKernel('Div', [tensor('uint8', [2], [255, 7]), tensor('uint8', [2], [2, 7])])[0])).toEqual([127, 1]);
  });

  it('integer Add/Sub/Mul wrap around like two\'s complement', () => {
    expect(values(runKernel('Add', [tensor('uint8', [2], [250, 3]), tensor('uint8', [2], [10, 4])])[0])).toEqual([4, 7]);
    expect(values(runKernel('Sub', [tensor('uint8', [1], [3]), tensor('uint8', [1], [4])])[0])).toEqual([255]);
    // 123456789 * 987654321 = 121932631112635269; low 32 bits as int32:
    const low = Number(BigInt.asIntN(32, 123456789n * 987654321n));
    expect(values(runKernel('Mul', [tensor('int32', [2], [123456789, 65536]), tensor('int32', [2], [987654321, 65536])])[0])).toEqual([low, 0]);
    const big = tensor('int64', [1], [9223372036854775807n] as unknown as number[]);
    expect(values(runKernel('Add', [big, tensor('int64', [1], [1])])[0])).toEqual([-9223372036854775808n]);
  });

  it('Mod: fmod=0 follows the divisor sign, fmod=1 the dividend sign', () => {
    const x = [5, -5, 5, -5];
    const y = [3, 3, -3, -3];
    expect(values(runKernel('Mod', [tensor('int32', [4], x), tensor('int32', [4], y)])[0])).toEqual([2, 1, -1, -2]);
    expect(values(runKernel('Mod', [tensor('int64', [4], x), tensor('int64', [4], y)])[0])).toEqual([2n, 1n, -1n, -2n]);
    expect(values(runKernel('Mod', [tensor('int32', [4], x), tensor('int32', [4], y)], { fmod: 1 })[0])).toEqual([2, -2, 2, -2]);
    expect(values(runKernel('Mod', [f32([4], [5.5, -5.5, 5.5, -5.5]), f32([4], [2, 2, -2, -2])], { fmod: 1 })[0])).toEqual([1.5, -1.5, 1.5, -1.5]);
  });

  it('Pow with mixed base/exponent types keeps the base type', () => {
    const [p1] = runKernel('Pow', [f32([3], [2, 3, 0.5]), tensor('int64', [3], [3, 2, 2])], {}, { opset: 15 });
    expect(p1.dtype).toBe('float32');
    expect(values(p1)).toEqual([8, 9, 0.25]);
    const [p2] = runKernel('Pow', [tensor('int32', [3], [2, 3, 4]), f32([3], [3, 0.5, -1])], {}, { opset: 15 });
    expect(p2.dtype).toBe('int32');
    expect(values(p2)).toEqual([8, 1, 0]);
    const [p3] = runKernel('Pow', [tensor('int64', [3], [3, -2, 5]), tensor('int64', [3], [39, 3, 0])], {}, { opset: 15 });
    expect(values(p3)).toEqual([3n ** 39n, -8n, 1n]);
  });

  it('BitShift on uint8 and uint64', () => {
    const x = tensor('uint8', [3], [16, 4, 1]);
    const s = tensor('uint8', [3], [1, 2, 3]);
    expect(values(runKernel('BitShift', [x, s], { direction: 'RIGHT' })[0])).toEqual([8, 1, 0]);
    expect(values(runKernel('BitShift', [x, s], { direction: 'LEFT' })[0])).toEqual([32, 16, 8]);
    const big = tensor('uint64', [2], [1n, 2n ** 63n] as unknown as number[]);
    expect(values(runKernel('BitShift', [big, tensor('uint64', [2], [63, 1])], { direction: 'LEFT' })[0])).toEqual([2n ** 63n, 0n]);
    expect(() => runKernel('BitShift', [x, s])).toThrow(UnsupportedError);
  });

  it('BitwiseAnd/Or/Xor on int32 and uint64', () => {
    const x = tensor('int32', [2], [12, -1]);
    const y = tensor('int32', [2], [10, 5]);
    expect(values(runKernel('BitwiseAnd', [x, y], {}, { opset: 18 })[0])).toEqual([8, 5]);
    expect(values(runKernel('BitwiseOr', [x, y], {}, { opset: 18 })[0])).toEqual([14, -1]);
    expect(values(runKernel('BitwiseXor', [x, y], {}, { opset: 18 })[0])).toEqual([6, -6]);
    const u = tensor('uint64', [1], [2n ** 64n - 1n] as unknown as number[]);
    expect(values(runKernel('BitwiseAnd', [u, tensor('uint64', [1], [255])], {}, { opset: 18 })[0])).toEqual([255n]);
  });

  it('Add covers every numeric dtype', () => {
    for (const dt of ['float32', 'float64', 'float16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64'] as DType[]) {
      const [y] = runKernel('Add', [tensor(dt, [2, 2], [1, 2, 3, 4]), tensor(dt, [2], [10, 20])]);
      expect(y.dtype).toBe(dt);
      expect(values(y).map(Number)).toEqual([11, 22, 13, 24]);
    }
  });

  it('float16 Add rounds to float16 (1 + 2^-11 ties to 1)', () => {
    const [y] = runKernel('Add', [tensor('float16', [2], [1, 1]), tensor('float16', [2], [2 ** -11, 3 * 2 ** -11])]);
    expect(values(y)).toEqual([1, 1 + 2 ** -9]);
  });
});

describe('variadic Max, Min, Sum, Mean', () => {
  const x0 = randomTensor([2, 3], 1);
  const x1 = randomTensor([3], 2);
  const x2 = randomTensor([2, 1], 3);
  const fold = (f: (a: number, b: number) => number) => naiveBinary(naiveBinary(x0, x1, f), x2, f);
  it('Max and Min of three broadcast inputs', () => {
    expectClose(runKernel('Max', [x0, x1, x2])[0], fold(Math.max), 0, 0);
    expectClose(runKernel('Min', [x0, x1, x2])[0], fold(Math.min), 0, 0);
  });
  it('Sum and Mean of three broadcast inputs', () => {
    const sum = fold((a, b) => a + b);
    expectClose(runKernel('Sum', [x0, x1, x2])[0], sum, 1e-6);
    expectClose(runKernel('Mean', [x0, x1, x2])[0], f32([2, 3], Array.from(sum.data as Float32Array, (v) => v / 3)), 1e-6);
  });
  it('one input is a copy', () => {
    for (const op of ['Max', 'Min', 'Sum', 'Mean']) expect(values(runKernel(op, [x0])[0])).toEqual(values(x0));
  });
  it('Max/Min on int64 and uint8, NaN propagates for floats', () => {
    const a = tensor('int64', [2], [5, -9007199254740993n] as unknown as number[]);
    const b = tensor('int64', [2], [3, -9007199254740992n] as unknown as number[]);
    expect(values(runKernel('Max', [a, b])[0])).toEqual([5n, -9007199254740992n]);
    expect(values(runKernel('Min', [tensor('uint8', [2], [200, 3]), tensor('uint8', [2], [100, 4])])[0])).toEqual([100, 3]);
    expect(values(runKernel('Max', [f32([2], [NaN, 1]), f32([2], [1, NaN])])[0])).toEqual([NaN, NaN]);
  });
  it('aliasing x0 with three inputs stays correct', () => {
    const a = randomTensor([2, 3], 4);
    expectClose(runAliased('Sum', [a, x1, x2]), naiveBinary(naiveBinary(a, x1, (p, q) => Math.fround(p + q)), x2, (p, q) => Math.fround(p + q)), 1e-6);
  });
});

describe('comparisons and logic', () => {
  const a = f32([2, 3], [1, 2, 3, 4, 5, 6]);
  const b = f32([3], [2, 2, 7]);
  const ops: [string, (x: number, y: number) => boolean][] = [
    ['Equal', (x, y) => x === y],
    ['Less', (x, y) => x < y],
    ['LessOrEqual', (x, y) => x <= y],
    ['Greater', (x, y) => x > y],
    ['GreaterOrEqual', (x, y) => x >= y],
  ];
  for (const [op, f] of ops) {
    it(`${op} broadcasts and outputs bool`, () => {
      const [y] = runKernel(op, [a, b]);
      expect(y.dtype).toBe('bool');
      expect(values(y)).toEqual(values(naiveBinary(a, b, (x, z) => (f(x, z) ? 1 : 0), 'bool')));
    });
  }
  it('compares int64 exactly beyond 2^53', () => {
    const x = tensor('int64', [1], [9007199254740993n] as unknown as number[]);
    const y = tensor('int64', [1], [9007199254740992n] as unknown as number[]);
    expect(values(runKernel('Greater', [x, y])[0])).toEqual([1]);
    expect(values(runKernel('Equal', [x, y])[0])).toEqual([0]);
  });
  it('Equal on strings', () => {
    const x: TensorData = { dtype: 'string', shape: [2], data: ['a', 'b'] };
    const y: TensorData = { dtype: 'string', shape: [], data: ['b'] };
    expect(values(runKernel('Equal', [x, y], {}, { opset: 19 })[0])).toEqual([0, 1]);
  });
  it('And, Or, Xor on bool with broadcast', () => {
    const p = tensor('bool', [2, 2], [0, 0, 1, 1]);
    const q = tensor('bool', [2], [0, 1]);
    expect(values(runKernel('And', [p, q])[0])).toEqual([0, 0, 0, 1]);
    expect(values(runKernel('Or', [p, q])[0])).toEqual([0, 1, 1, 1]);
    expect(values(runKernel('Xor', [p, q])[0])).toEqual([0, 1, 1, 0]);
    expect(() => runKernel('And', [a, a])).toThrow(UnsupportedError);
  });
});

describe('Where', () => {
  it('three-way broadcast against a naive reference', () => {
    const c = tensor('bool', [2, 1, 3], [1, 0, 1, 0, 0, 1]);
    const x = randomTensor([4, 1], 1);
    const y = randomTensor([3], 2);
    const [out] = runKernel('Where', [c, x, y]);
    const { shape, index } = naiveBroadcast([c.shape, x.shape, y.shape]);
    const exp = new Float32Array(sizeOf(shape));
    for (let i = 0; i < exp.length; i++) exp[i] = c.data[index(0, i)] ? (x.data[index(1, i)] as number) : (y.data[index(2, i)] as number);
    expectClose(out, { dtype: 'float32', shape, data: exp }, 0, 0);
  });
  it('copies strings and int64', () => {
    const c = tensor('bool', [3], [1, 0, 1]);
    const [s] = runKernel('Where', [c, { dtype: 'string', shape: [3], data: ['a', 'b', 'c'] }, { dtype: 'string', shape: [], data: ['z'] }]);
    expect(s.data).toEqual(['a', 'z', 'c']);
    const [l] = runKernel('Where', [c, tensor('int64', [1], [7]), tensor('int64', [3], [1, 2, 3])]);
    expect(values(l)).toEqual([7n, 2n, 7n]);
  });
  it('rejects a non-bool condition', () => {
    expect(() => runKernel('Where', [f32([1], [1]), f32([1], [1]), f32([1], [1])])).toThrow(GraphError);
  });
});

describe('Cast', () => {
  const FLOAT = 1;
  const INT32 = 6;
  const INT64 = 7;
  const STRING = 8;
  const BOOL = 9;
  const FLOAT16 = 10;
  const DOUBLE = 11;
  const UINT8 = 2;
  const BFLOAT16 = 16;
  const F8E4M3FN = 17;

  it('float -> float16 rounds to nearest even and overflows to Inf', () => {
    const x = tensor('float64', [5], [1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 0.1, -1e-9]);
    const [y] = runKernel('Cast', [x], { to: FLOAT16 }, { opset: 13 });
    expect(y.dtype).toBe('float16');
    // 0.1 -> nearest float16 is 1638/16384 = 0.0999755859375; -1e-9 underflows to -0
    expect(values(y)).toEqual([1, 1 + 2 ** -9, Infinity, 0.0999755859375, -0]);
  });
  it('float -> bfloat16 keeps 8 significant bits', () => {
    const [y] = runKernel('Cast', [f32([2], [1 + 2 ** -8, 1 + 3 * 2 ** -8])], { to: BFLOAT16 }, { opset: 13 });
    expect(values(y)).toEqual([1, 1 + 2 ** -6]);
  });
  it('float -> float8e4m3fn saturates by default', () => {
    const [y] = runKernel('Cast', [f32([2], [1000, -1000])], { to: F8E4M3FN }, { opset: 19 });
    expect(values(y)).toEqual([448, -448]);
    const [n] = runKernel('Cast', [f32([1], [1000])], { to: F8E4M3FN, saturate: 0 }, { opset: 19 });
    expect(values(n)).toEqual([NaN]);
  });
  it('float -> int truncates toward zero; -> int64 stays exact', () => {
    expect(values(runKernel('Cast', [f32([3], [-2.7, 2.7, 0])], { to: INT32 })[0])).toEqual([-2, 2, 0]);
    expect(values(runKernel('Cast', [tensor('float64', [2], [-2.7, 2 ** 60])], { to: INT64 })[0])).toEqual([-2n, 2n ** 60n]);
    expect(values(runKernel('Cast', [f32([2], [300, -1])], { to: UINT8 })[0])).toEqual([44, 255]);
  });
  it('int64 -> float and -> int32', () => {
    const x = tensor('int64', [2], [-3, 2n ** 40n + 5n] as unknown as number[]);
    expect(values(runKernel('Cast', [x], { to: DOUBLE })[0])).toEqual([-3, 2 ** 40 + 5]);
    expect(values(runKernel('Cast', [x], { to: INT32 })[0])).toEqual([-3, 5]);
  });
  it('to and from bool', () => {
    expect(values(runKernel('Cast', [f32([3], [0, -0.5, NaN])], { to: BOOL })[0])).toEqual([0, 1, 1]);
    expect(values(runKernel('Cast', [tensor('bool', [2], [1, 0])], { to: FLOAT })[0])).toEqual([1, 0]);
  });
  it('string <-> float', () => {
    const s: TensorData = { dtype: 'string', shape: [5], data: ['3.5', '1e-5', 'NaN', 'INF', '-INF'] };
    expect(values(runKernel('Cast', [s], { to: FLOAT })[0])).toEqual([3.5, Math.fround(1e-5), NaN, Infinity, -Infinity]);
    const [t] = runKernel('Cast', [f32([3], [0.1, 2, -1.5])], { to: STRING });
    expect(t.data).toEqual(['0.1', '2', '-1.5']);
  });
  it('CastLike takes the dtype of its second input', () => {
    const [y] = runKernel('CastLike', [f32([2], [1.9, -1.9]), tensor('int32', [0], [])], {}, { opset: 15 });
    expect(y).toMatchObject({ dtype: 'int32', data: new Int32Array([1, -1]) });
  });
  it('rejects an unknown target type', () => {
    expect(() => runKernel('Cast', [f32([1], [1])], { to: 99 })).toThrow(UnsupportedError);
  });
});

describe('scalar table path (float16) agrees with the float32 fast loops', () => {
  const input = [-3, -1, -0.25, 0, 0.25, 1, 3];
  for (const op of ['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Exp']) {
    it(op, () => {
      const [fast] = runKernel(op, [f32([7], input)]);
      const [table] = runKernel(op, [tensor('float16', [7], input)]);
      expect(table.dtype).toBe('float16');
      expectClose(table, fast, 1e-3, 1e-4);
    });
  }
});

describe('Dropout in training mode', () => {
  it('is the identity when ratio is 0', () => {
    const x = randomTensor([3], 2);
    const [y] = runKernel('Dropout', [x, f32([], [0]), tensor('bool', [], [1])], {}, { opset: 13 });
    expect(values(y)).toEqual(values(x));
  });
  it('refuses a runtime training_mode=true with ratio > 0 when run', () => {
    const x = randomTensor([3], 2);
    expect(() => runKernel('Dropout', [x, f32([], [0.3]), tensor('bool', [], [1])], {}, { opset: 13 })).toThrow(UnsupportedError);
  });
});

describe('broadcast engine on random compatible shapes', () => {
  it('Add and Where match the naive reference on 300 random shape triples', () => {
    const r = rng(42);
    const pick = (n: number) => Math.floor(r() * n);
    for (let trial = 0; trial < 300; trial++) {
      const rank = pick(5);
      const full = Array.from({ length: rank }, () => [1, 2, 3, 4][pick(4)] * (pick(12) === 0 ? 0 : 1));
      // Each operand drops some leading dims and sets some dims to 1.
      const derive = () => full.slice(pick(rank + 1)).map((d) => (pick(3) === 0 ? 1 : d));
      const [sa, sb, sc] = [derive(), derive(), derive()];
      const a = randomTensor(sa, trial + 1);
      const b = randomTensor(sb, trial + 1000);
      const [y] = runKernel('Add', [a, b]);
      expectClose(y, naiveBinary(a, b, (p, q) => Math.fround(p + q)), 0, 0);
      const c = tensor('bool', sc, Array.from({ length: sizeOf(sc) }, () => pick(2)));
      const [w] = runKernel('Where', [c, a, b]);
      const { shape, index } = naiveBroadcast([sc, sa, sb]);
      const exp = new Float32Array(sizeOf(shape));
      for (let i = 0; i < exp.length; i++) exp[i] = c.data[index(0, i)] ? (a.data[index(1, i)] as number) : (b.data[index(2, i)] as number);
      expectClose(w, { dtype: 'float32', shape, data: exp }, 0, 0);
    }
  });
});

describe('transformer activations with the wasm backend: the variant is chosen at prepare', () => {
  const wasm = WasmContext.create();
  it.skipIf(wasm === undefined)('float32 Gelu (both forms), Erf, Sigmoid and Tanh pick the wasm variant, float64 the JS one', () => {
    for (const [op, attrs] of [['Gelu', {}], ['Gelu', { approximate: 'tanh' }], ['Erf', {}], ['Sigmoid', {}], ['Tanh', {}]] as const) {
      const node = makeNode(op, attrs as Record<string, AttrValue>);
      const prepare = (dtype: 'float32' | 'float64') =>
        defaultRegistry.get(node).prepare({ node, opset: 20, inputs: [{ dtype, shape: [2, 37] }], constants: [undefined], options: { wasm } });
      const f32 = prepare('float32');
      expect(f32.variant).toMatch(/^f32_.*__wasmsimd$/);
      expect(f32.placement).toBe('wasm');
      const f64 = prepare('float64');
      expect(f64.variant).toMatch(/^f64_.*__js$/);
      // and the float64 JS variant computes what the js backend does
      const x64 = tensor('float64', [2, 37], Float64Array.from(randomTensor([2, 37], 5, -6, 6).data as Float32Array));
      expectClose(runKernel(op, [x64], attrs, { options: { wasm } })[0]!, runKernel(op, [x64], attrs)[0]!, 0, 0);
    }
  });
});
