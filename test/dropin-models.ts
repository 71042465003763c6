/** Small models the drop-in tests (package, CommonJS facade) run. */
import { tensor } from './harness.js';
import { ModelBuilder } from './onnx-builder.js';

/** y = Relu(x + [1, -1, 2, -2]), x float32 [n, 4]: for x = [1, 1, 1, 1] it gives [2, 0, 3, 0]. */
export function reluAddModelBytes(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', ['n', 4]);
  const [s] = b.node('Add', [x, b.initializer('b', tensor('float32', [4], [1, -1, 2, -2]))]);
  b.output(b.node('Relu', [s!], {}, { outputs: ['y'] })[0]!, { dtype: 'float32', shape: ['n', 4] });
  return b.toBytes();
}
