import { ModelBuilder } from './onnx-builder.js';
import { randomTensor } from './harness.js';
import { checkVariants, type VariantCase } from './variant-tester.js';

// Data movement with a wasm variant, against the JS reference.
function expandCase(inShape: number[], shape: number[]): VariantCase {
  const m = new ModelBuilder({ opset: 13 });
  m.input('x', 'float32', inShape);
  m.initializer('shape', { dtype: 'int64', shape: [shape.length], data: BigInt64Array.from(shape, BigInt) });
  m.output(m.node('Expand', ['x', 'shape'], {}, { outputs: ['y'], name: 'n' })[0]!);
  return { name: `Expand [${inShape}] to [${shape}]`, model: m, feeds: { x: randomTensor(inShape, 4) }, node: 'n' };
}

checkVariants('Expand', [
  expandCase([13, 1, 1], [2, 13, 7, 5]),
  expandCase([1, 5], [7, 5]),
  expandCase([7, 1], [7, 5]),
  expandCase([1], [1, 1]),
  expandCase([3, 1, 5, 1, 2], [3, 4, 5, 6, 2]),
  expandCase([2, 13, 7, 5], [1]),
]);

function tileCase(inShape: number[], repeats: number[]): VariantCase {
  const m = new ModelBuilder({ opset: 13 });
  m.input('x', 'float32', inShape);
  m.initializer('repeats', { dtype: 'int64', shape: [repeats.length], data: BigInt64Array.from(repeats, BigInt) });
  m.output(m.node('Tile', ['x', 'repeats'], {}, { outputs: ['y'], name: 'n' })[0]!);
  return { name: `Tile [${inShape}] by [${repeats}]`, model: m, feeds: { x: randomTensor(inShape, 6) }, node: 'n', expectVariant: 'f32_tile_bcast__wasmsimd' };
}

checkVariants('Tile', [
  tileCase([1, 7, 5, 1], [1, 1, 1, 13]),
  tileCase([2, 13, 7, 5], [1, 2, 1, 3]),
  tileCase([3, 5], [2, 1]),
  tileCase([3, 5], [1, 1]),
  tileCase([1], [4]),
  tileCase([2, 3, 5, 7, 2], [2, 3, 1, 2, 2]),
  tileCase([2, 3, 5], [2, 0, 1]),
]);

function padCase(inShape: number[], pads: number[], mode: string, value = 0): VariantCase {
  const m = new ModelBuilder({ opset: mode === 'wrap' ? 19 : 13 });
  m.input('x', 'float32', inShape);
  m.initializer('pads', { dtype: 'int64', shape: [pads.length], data: BigInt64Array.from(pads, BigInt) });
  m.initializer('value', { dtype: 'float32', shape: [], data: Float32Array.of(value) });
  m.output(m.node('Pad', ['x', 'pads', 'value'], { mode }, { outputs: ['y'], name: 'n' })[0]!);
  return { name: `Pad ${mode} [${inShape}] pads [${pads}]`, model: m, feeds: { x: randomTensor(inShape, 7) }, node: 'n', expectVariant: `f32_pad_${mode}__wasmsimd` };
}

checkVariants('Pad', [
  padCase([2, 13, 7, 5], [0, 0, 1, 2, 0, 0, 2, 1], 'constant', 0.5),
  padCase([2, 13, 7, 5], [0, 0, 1, 2, 0, 0, 2, 1], 'reflect'),
  padCase([2, 13, 7, 5], [0, 0, 1, 2, 0, 0, 2, 1], 'edge'),
  padCase([1, 3, 7, 19], [0, 1, 3, 4, 0, 2, 3, 5], 'reflect'),
  padCase([1, 3, 7, 19], [0, 1, 3, 4, 0, 2, 3, 5], 'constant', -2),
  padCase([1, 3, 7, 19], [0, 0, -1, -2, 0, 0, 1, -3], 'constant'),
  padCase([7, 5], [1, 2, 3, 4], 'edge'),
  padCase([5], [3, 2], 'reflect'),
  padCase([2, 3, 4, 5, 6], [1, 0, 1, 0, 1, 0, 1, 0, 1, 2], 'constant', 3),
  padCase([2, 3, 4, 5, 6], [0, 1, 1, 2, 3, 1, 0, 1, 1, 2], 'edge'),
  padCase([1, 1, 1, 1], [0, 0, 2, 2, 0, 0, 2, 2], 'edge'),
  padCase([1, 3, 7, 5], [0, 0, 2, 3, 0, 1, 4, 6], 'wrap'),
]);

// Concat: each input's rows (any block length, a tail of cols mod 4) copied into the output's strided rows.
function concatCase(shapes: number[][], axis: number, dtype: 'float32' | 'int32' = 'float32'): VariantCase {
  const m = new ModelBuilder({ opset: 13 });
  const names = shapes.map((s, i) => m.input(`x${i}`, dtype, s));
  m.output(m.node('Concat', names, { axis }, { outputs: ['y'], name: 'n' })[0]!);
  const feeds = Object.fromEntries(shapes.map((s, i) => {
    const t = randomTensor(s, 10 + i);
    return [`x${i}`, dtype === 'int32' ? { dtype, shape: s, data: Int32Array.from(t.data as Float32Array, (v) => Math.round(v * 1000)) } : t];
  }));
  return { name: `Concat ${dtype} ${shapes.map((s) => `[${s}]`).join(' + ')} on axis ${axis}`, model: m, feeds, node: 'n', expectVariant: 'x32_concat__wasmsimd' };
}

checkVariants('Concat', [
  concatCase([[1, 7, 5, 13], [1, 7, 5, 3]], 3),
  concatCase([[2, 13, 7, 5], [2, 1, 7, 5], [2, 4, 7, 5]], 1),
  concatCase([[1, 1], [1, 1]], 0),
  concatCase([[3, 5], [3, 0], [3, 2]], 1),
  concatCase([[2, 3, 1], [2, 3, 7]], -1, 'int32'),
  concatCase([[5, 4], [2, 4]], 0),
]);

function splitCase(shape: number[], axis: number, split: number[], dtype: 'float32' | 'int32' = 'float32'): VariantCase {
  const m = new ModelBuilder({ opset: 13 });
  m.input('x', dtype, shape);
  m.initializer('split', { dtype: 'int64', shape: [split.length], data: BigInt64Array.from(split, BigInt) });
  const outs = split.map((_, i) => `y${i}`);
  m.node('Split', ['x', 'split'], { axis }, { outputs: outs, name: 'n' });
  for (const o of outs) m.output(o);
  const t = randomTensor(shape, 21);
  const feeds = { x: dtype === 'int32' ? { dtype, shape, data: Int32Array.from(t.data as Float32Array, (v) => Math.round(v * 1000)) } : t };
  return { name: `Split ${dtype} [${shape}] on axis ${axis} into [${split}]`, model: m, feeds, node: 'n', expectVariant: 'x32_split__wasmsimd' };
}

checkVariants('Split', [
  splitCase([1, 7, 5, 16], 3, [13, 3]),
  splitCase([2, 13, 7, 5], 1, [5, 1, 7]),
  splitCase([3, 7], 1, [0, 7]),
  splitCase([2, 3, 8], -1, [1, 7], 'int32'),
  splitCase([6, 4], 0, [4, 2]),
]);
