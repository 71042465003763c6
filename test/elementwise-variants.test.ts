import { ModelBuilder } from './onnx-builder.js';
import { F, randomTensor } from './harness.js';
import { checkVariants, type VariantCase } from './variant-tester.js';
import type { TensorData } from '../src/dtype.js';

// Binary float ops under every broadcast pattern, both operands at run time or one constant, against the JS
// reference (the broadcast odometer). The wasm variant must run for each.

/** Runtime operands a, b; or b as an initializer when `constB`. */
function binaryCase(op: string, aShape: number[], bShape: number[], opts: { constB?: boolean; act?: string; name?: string } = {}): VariantCase {
  const m = new ModelBuilder();
  m.input('a', 'float32', aShape);
  const b = randomTensor(bShape, 7, op === 'Div' ? 0.5 : -1, op === 'Div' ? 2 : 1);
  if (opts.constB) m.initializer('b', b);
  else m.input('b', 'float32', bShape);
  const attrs = opts.act ? { activation: opts.act } : {};
  m.output(m.node(op, ['a', 'b'], attrs, { outputs: ['y'], name: 'n' })[0]!);
  const feeds: Record<string, TensorData> = { a: randomTensor(aShape, 3) };
  if (!opts.constB) feeds.b = b;
  return { name: opts.name ?? `${op} [${aShape}] x [${bShape}]${opts.constB ? ' (B constant)' : ''}`, model: m, feeds, node: 'n' };
}

const PATTERNS: [number[], number[]][] = [
  [[2, 13, 7, 5], [2, 13, 7, 5]], // same shapes, batch 2
  [[1, 13, 7, 5], [1]], // scalar
  [[1], [1, 13, 7, 5]], // scalar on the left
  [[2, 13, 7, 5], [2, 13, 1, 1]], // [N,C,1,1] x [N,C,H,W]
  [[1, 13, 1, 1], [1, 13, 7, 5]], // channel on the left
  [[13, 7, 5], [1, 7, 5]], // [1,H,W] x [C,H,W]
  [[7, 5], [5]], // row
  [[7, 5], [7, 1]], // column
  [[7, 1], [1, 5]], // outer product
  [[2, 3, 4, 5, 6], [1, 3, 1, 5, 1]], // N-D alternating
  [[1, 1], [1, 1]], // 1x1
  [[1, 6, 1, 3], [2, 1, 5, 1]], // both stretch
];

for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
  checkVariants(op, [
    ...PATTERNS.map(([a, b]) => binaryCase(op, a, b)),
    binaryCase(op, [2, 13, 7, 5], [13, 1, 1], { constB: true }),
    binaryCase(op, [13, 7, 5], [7, 5], { constB: true }),
  ]);
}
checkVariants('PRelu', [binaryCase('PRelu', [2, 13, 7, 5], [13, 1, 1], { constB: true }), binaryCase('PRelu', [1, 13, 7, 5], [1], { constB: true }), binaryCase('PRelu', [3, 7, 5], [3, 7, 5])]);

/** A variadic node over runtime inputs of these shapes. */
function variadicCase(op: string, shapes: number[][]): VariantCase {
  const m = new ModelBuilder();
  const names = shapes.map((s, i) => m.input(`x${i}`, 'float32', s));
  m.output(m.node(op, names, {}, { outputs: ['y'], name: 'n' })[0]!);
  const feeds = Object.fromEntries(shapes.map((s, i) => [`x${i}`, randomTensor(s, 11 + i)]));
  return { name: `${op} ${shapes.map((s) => `[${s}]`).join(' x ')}`, model: m, feeds, node: 'n' };
}

for (const op of ['Max', 'Min', 'Sum', 'Mean']) {
  checkVariants(op, [
    variadicCase(op, [[2, 13, 7, 5], [2, 13, 7, 5]]),
    variadicCase(op, [[1, 13, 7, 5], [1]]),
    variadicCase(op, [[7, 5], [7, 1], [5]]),
    variadicCase(op, [[1, 1], [1, 1]]),
    variadicCase(op, [[2, 3, 4, 5, 6], [1, 3, 1, 5, 1]]),
  ]);
}

/** A unary node (with attributes) over a runtime input. */
function unaryCase(op: string, shape: number[], attrs: Record<string, number | string> = {}): VariantCase {
  const m = new ModelBuilder();
  m.input('x', 'float32', shape);
  m.output(m.node(op, ['x'], attrs, { outputs: ['y'], name: 'n' })[0]!);
  return { name: `${op} [${shape}] ${JSON.stringify(attrs)}`, model: m, feeds: { x: randomTensor(shape, 5, -6, 6) }, node: 'n' };
}

for (const [op, attrs] of [
  ['Relu', {}], ['Sigmoid', {}], ['Tanh', {}], ['Erf', {}], ['Exp', {}], ['Gelu', {}], ['Gelu', { approximate: 'tanh' }],
  ['LeakyRelu', { alpha: 0.2 }], ['HardSigmoid', {}], ['HardSigmoid', { alpha: 1 / 6, beta: 0.5 }], ['HardSwish', {}],
] as [string, Record<string, number | string>][]) {
  checkVariants(op, [unaryCase(op, [2, 13, 7, 5], attrs), unaryCase(op, [1, 1], attrs), unaryCase(op, [3], attrs)]);
}

/** Clip with attribute bounds (opset 9), constant input bounds, a runtime bound, one bound omitted, min > max. */
function clipCase(name: string, opset: number, build: (m: ModelBuilder) => string[], attrs: Record<string, F> = {}, extraFeeds: Record<string, TensorData> = {}): VariantCase {
  const m = new ModelBuilder({ opset });
  m.input('x', 'float32', [2, 13, 7, 5]);
  m.output(m.node('Clip', ['x', ...build(m)], attrs, { outputs: ['y'], name: 'n' })[0]!);
  return { name: `Clip ${name}`, model: m, feeds: { x: randomTensor([2, 13, 7, 5], 3, -8, 8), ...extraFeeds }, node: 'n' };
}
const s = (v: number): TensorData => ({ dtype: 'float32', shape: [], data: Float32Array.of(v) });
checkVariants('Clip', [
  clipCase('attributes 0..6 (opset 9)', 9, () => [], { min: new F(0), max: new F(6) }),
  clipCase('constant bounds -1..2', 13, (m) => [m.initializer('lo', s(-1)), m.initializer('hi', s(2))]),
  clipCase('max only', 13, (m) => ['', m.initializer('hi', s(0.5))]),
  clipCase('runtime min', 13, (m) => [m.input('lo', 'float32', [])], {}, { lo: s(-0.25) }),
  clipCase('min > max', 13, (m) => [m.initializer('lo', s(3)), m.initializer('hi', s(1))]),
]);

// Comparisons: bool outputs compared exactly (rtol 0) through the tester; NaN in the inputs compares false.
for (const op of ['Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'Equal']) {
  checkVariants(op, PATTERNS.slice(0, 9).map(([a, b]) => {
    const c = binaryCase(op, a, b);
    // Values on a coarse grid so that ties (and Equal's true cases) occur.
    for (const t of [c.feeds.a!, c.feeds.b!]) (t.data as Float32Array).forEach((v, i, d) => (d[i] = Math.round(v * 2) / 2));
    (c.feeds.a!.data as Float32Array)[0] = NaN;
    return { ...c, expectVariant: '__wasm', rtol: 0, atol: 0 };
  }));
}

function whereCase(c: number[], x: number[], y: number[]): VariantCase {
  const m = new ModelBuilder();
  m.input('c', 'bool', c);
  m.input('x', 'float32', x);
  m.input('y', 'float32', y);
  m.output(m.node('Where', ['c', 'x', 'y'], {}, { outputs: ['out'], name: 'n' })[0]!);
  const cond = randomTensor(c, 31);
  return {
    name: `Where [${c}] [${x}] [${y}]`, model: m, node: 'n', expectVariant: '__wasm', rtol: 0, atol: 0,
    feeds: { c: { dtype: 'bool', shape: c, data: Uint8Array.from(cond.data as Float32Array, (v) => (v > 0 ? 1 : 0)) }, x: randomTensor(x, 32), y: randomTensor(y, 33) },
  };
}
checkVariants('Where', [
  whereCase([2, 13, 7, 5], [2, 13, 7, 5], [2, 13, 7, 5]),
  whereCase([1, 1, 7, 5], [2, 13, 7, 5], [1]),
  whereCase([7, 1], [1, 5], [7, 5]),
  whereCase([1], [1, 1], [1]),
]);
