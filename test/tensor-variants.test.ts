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
