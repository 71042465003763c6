import { ModelBuilder } from './onnx-builder.js';
import { randomTensor } from './harness.js';
import { checkVariants, type VariantCase } from './variant-tester.js';

// Float32 reductions on wasm (contiguous rows; (outer, R, inner) blocks) against the JS reference.
function reduceCase(op: string, shape: number[], axes: number[], keepdims = 1, expectVariant?: string): VariantCase {
  const m = new ModelBuilder({ opset: 18 });
  m.input('x', 'float32', shape);
  m.initializer('axes', { dtype: 'int64', shape: [axes.length], data: BigInt64Array.from(axes, BigInt) });
  m.output(m.node(op, ['x', 'axes'], { keepdims }, { outputs: ['y'], name: 'n' })[0]!);
  return { name: `${op} [${shape}] axes [${axes}] keepdims ${keepdims}`, model: m, feeds: { x: randomTensor(shape, 21) }, node: 'n', expectVariant };
}

for (const op of ['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin']) {
  const rows = op === 'ReduceMean' || op === 'ReduceSum';
  checkVariants(op, [
    reduceCase(op, [2, 13, 7, 5], [1]), // channel: blocks
    reduceCase(op, [1, 13, 7, 5], [1], 0),
    reduceCase(op, [2, 13, 7, 5], [1, 2]), // blocks of R = 91
    reduceCase(op, [1, 1, 7], [1], 1, rows ? '__wasmsimd' : ''), // R = 1: a contiguous row plan
    reduceCase(op, [2, 13, 7, 5], [2, 3], 1, rows ? '__wasmsimd' : ''), // trailing: rows (sum/mean)
    reduceCase(op, [3, 37], [-1], 0, rows ? '__wasmsimd' : ''),
  ]);
}

function softmaxCase(op: string, shape: number[], axis: number, opset = 13, expectVariant?: string): VariantCase {
  const m = new ModelBuilder({ opset });
  m.input('x', 'float32', shape);
  m.output(m.node(op, ['x'], { axis }, { outputs: ['y'], name: 'n' })[0]!);
  return { name: `${op} [${shape}] axis ${axis} opset ${opset}`, model: m, feeds: { x: randomTensor(shape, 23, -4, 4) }, node: 'n', expectVariant };
}

checkVariants('Softmax', [
  softmaxCase('Softmax', [2, 13, 7, 5], 1), // channel softmax: columns
  softmaxCase('Softmax', [2, 13, 7, 5], 2),
  softmaxCase('Softmax', [2, 13, 7, 5], -1), // rows
  softmaxCase('Softmax', [1, 1], 0),
  softmaxCase('Softmax', [3, 1, 5], 1), // n = 1
  softmaxCase('Softmax', [2, 13, 7, 5], 1, 11), // opset 11 coerces to 2-D rows
]);
checkVariants('LogSoftmax', [softmaxCase('LogSoftmax', [2, 13, 7, 5], 1, 13, ''), softmaxCase('LogSoftmax', [2, 13, 7], -1, 13, '')]);
