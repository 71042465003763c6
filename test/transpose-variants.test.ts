import { ModelBuilder } from './onnx-builder.js';
import { randomTensor } from './harness.js';
import type { TensorData } from '../src/dtype.js';
import { checkVariants, type VariantCase } from './variant-tester.js';

// Transpose's wasm variants (row copies, 4x4 plane transposes, strided gathers) against the JS reference.
function transposeCase(shape: number[], perm: number[], expectVariant = '__wasmsimd', x: TensorData = randomTensor(shape, 5)): VariantCase {
  const m = new ModelBuilder({ opset: 13 });
  m.input('x', x.dtype, shape);
  m.output(m.node('Transpose', ['x'], { perm }, { outputs: ['y'], name: 'n' })[0]!);
  return { name: `${x.dtype} [${shape}] perm [${perm}] -> ${expectVariant || 'block copy'}`, model: m, feeds: { x }, node: 'n', expectVariant };
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

/** The variant each permutation of [2,3,5,7] takes: merged axes decide (identity: one JS block copy). */
function expected(perm: number[]): string {
  if (perm.every((a, i) => a === i)) return '__js';
  if (perm[3] === 3) return 'x32_transpose_rows__wasmsimd';
  // The plane's rows are contiguous when the output's second-to-last merged axis ends at input axis 3.
  const rowsAxis = perm.slice(0, -1).reduceRight((acc, a, i) => (acc !== undefined ? acc : a + 1 === perm[i + 1] ? undefined : a), undefined as number | undefined);
  return rowsAxis === 3 ? 'x32_transpose_4x4__wasmsimd' : 'x32_transpose_gather__wasmsimd';
}

checkVariants('Transpose', [
  ...permutations(4).map((perm) => transposeCase([2, 3, 5, 7], perm, expected(perm))),
  transposeCase([2, 13, 7, 5], [0, 2, 3, 1], 'x32_transpose_4x4__wasmsimd'), // NCHW -> NHWC
  transposeCase([2, 7, 5, 13], [0, 3, 1, 2], 'x32_transpose_4x4__wasmsimd'), // NHWC -> NCHW
  transposeCase([2, 13, 7, 5], [0, 3, 2, 1], 'x32_transpose_gather__wasmsimd'),
  transposeCase([1, 13, 1, 5], [0, 3, 2, 1], 'x32_transpose_4x4__wasmsimd'),
  transposeCase([3, 5, 7], [2, 0, 1], 'x32_transpose_4x4__wasmsimd'),
  transposeCase([2, 3, 5, 7, 2], [4, 2, 0, 3, 1], 'x32_transpose_gather__wasmsimd'),
  transposeCase([2, 3, 5, 7], [0, 3, 2, 1], 'x32_transpose_gather__wasmsimd', { dtype: 'int32', shape: [2, 3, 5, 7], data: Int32Array.from({ length: 210 }, (_, i) => i * 7 - 100) }),
  transposeCase([2, 3, 5, 7], [0, 3, 2, 1], '__js', { dtype: 'int64', shape: [2, 3, 5, 7], data: BigInt64Array.from({ length: 210 }, (_, i) => BigInt(i)) }),
]);
