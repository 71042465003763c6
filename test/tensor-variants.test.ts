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
