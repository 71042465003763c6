import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { WasmContext } from '../src/wasm/context.js';
import { randomTensor, runKernel } from './harness.js';
import { runKernelInWasm } from './wasm-harness.js';

// Float32 Add/Sub/Mul/Div on the wasm backend, for equal shapes and a per-channel operand on either side,
// constant or runtime: one IEEE operation per element, so the result must equal the JS backend bit for bit.

const wasmCtx = WasmContext.create();
if (wasmCtx === undefined) console.warn('WebAssembly SIMD is not available in this engine: wasm elementwise cases skipped');

const bits = (t: TensorData) => Array.from(new Uint32Array(new Float32Array(t.data as Float32Array).buffer));

describe.skipIf(wasmCtx === undefined)('binary arithmetic on wasm SIMD equals the JS kernels exactly', () => {
  const CASES: [string, number[], number[]][] = [
    ['equal shapes', [2, 3, 5, 7], [2, 3, 5, 7]],
    ['SE scale [1,C,1,1]', [1, 6, 9, 9], [1, 6, 1, 1]],
    ['bias [C,1,1]', [2, 5, 4, 3], [5, 1, 1]],
    ['channel on a middle axis [1,C,1]', [3, 4, 11], [1, 4, 1]],
  ];
  for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
    for (const [name, full, other] of CASES) {
      for (const constant of [false, true]) {
        it(`${op} ${name}, ${constant ? 'constant' : 'runtime'} operand on each side`, () => {
          const x = randomTensor(full, 3, -2, 2);
          const c = randomTensor(other, 4, 0.5, 2);
          for (const inputs of [[x, c], [c, x]]) {
            const cIndex = inputs[0] === c ? 0 : 1;
            const opts = constant ? { constant: [cIndex] } : {};
            const want = runKernel(op, inputs, {}, opts)[0]!;
            let variant = '';
            const got = runKernelInWasm(wasmCtx!, op, inputs, {}, { ...opts, onVariant: (v) => (variant = v) })[0]!;
            expect(variant, 'a wasm variant ran').toMatch(/__wasmsimd$/);
            expect(got.shape).toEqual(want.shape);
            expect(bits(got)).toEqual(bits(want));
          }
        });
      }
    }
  }
});
