import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { hasWasmSimd } from '../src/wasm/emitter.js';
import type { WasmContext } from '../src/wasm/context.js';
import { ModelBuilder } from './onnx-builder.js';
import { randomTensor, tensor } from './harness.js';

// A small conv net through real sessions on both backends: every conv path that has wasm GEMM twins
// (Winograd 3x3, im2col 3x3 stride 2, grouped im2col, 1x1 pointwise), depthwise, then Gemm, MatMul + Add
// (fused to tinfer.MatMulAdd) and a plain MatMul with fused activations. The js backend's outputs are the
// reference for the wasm backend's, within 1e-5 (both are checked against the float64 reference per kernel
// in conv.test.ts and nn-wasm.test.ts; this checks arenas in wasm memory, uploads and the fallbacks).

function convNet(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', ['N', 16, 16, 16]);
  const init = (name: string, shape: number[], seed: number, scale = 0.3): string => {
    const t = randomTensor(shape, seed, -scale, scale);
    return b.initializer(name, t);
  };
  const [c1] = b.node('Conv', [x, init('w1', [24, 16, 3, 3], 1), init('b1', [24], 2)], { pads: [1, 1, 1, 1] });
  const [r1] = b.node('Relu', [c1!]);
  const [c2] = b.node('Conv', [r1!, init('w2', [32, 24, 3, 3], 3), init('b2', [32], 4)], { pads: [1, 1, 1, 1], strides: [2, 2] });
  const [r2] = b.node('Clip', [c2!, b.initializer('lo', tensor('float32', [], [0])), b.initializer('hi', tensor('float32', [], [0.5]))]);
  const [c3] = b.node('Conv', [r2!, init('w3', [32, 8, 3, 3], 7)], { pads: [1, 1, 1, 1], group: 4 });
  const [c4] = b.node('Conv', [c3!, init('w4', [32, 1, 3, 3], 8)], { pads: [1, 1, 1, 1], group: 32 });
  const [c5] = b.node('Conv', [c4!, init('w5', [40, 32, 1, 1], 9), init('b5', [40], 10)]);
  const [s5] = b.node('Sigmoid', [c5!]);
  const [m5] = b.node('Mul', [c5!, s5!]);
  const [p] = b.node('GlobalAveragePool', [m5!]);
  const [f] = b.node('Flatten', [p!]);
  const [g] = b.node('Gemm', [f!, init('wg', [48, 40], 11), init('bg', [48], 12)], { transB: 1 });
  const [gr] = b.node('Relu', [g!]);
  const [mm] = b.node('MatMul', [gr!, init('wm', [48, 20], 13)]);
  const [add] = b.node('Add', [mm!, init('bm', [20], 14)]);
  const [lr] = b.node('LeakyRelu', [add!], { alpha: 0.1 });
  const [y] = b.node('MatMul', [lr!, init('wy', [20, 10], 15)]);
  b.output(y!);
  return b.toBytes();
}

describe('a conv net through sessions: backend wasm agrees with backend js within 1e-5', () => {
  const bytes = convNet();
  it.skipIf(!hasWasmSimd())('batch 1 and 3, two runs each (arena views reused), and a re-plan for a new batch', () => {
    const js = InferenceSession.createSync(bytes, { backend: 'js' });
    const wasm = InferenceSession.createSync(bytes, { backend: 'wasm' });
    expect(js.backend).toBe('js');
    expect(wasm.backend).toBe('wasm');
    // Count the wasm GEMM driver calls (the session's context is private; its uploads point at this object).
    const gemm = (wasm as unknown as { wasm: WasmContext }).wasm.kernels.gemm as { packedA: (...a: number[]) => void; packedB: (...a: number[]) => void };
    const calls = { A: 0, B: 0 };
    const [origA, origB] = [gemm.packedA, gemm.packedB];
    gemm.packedA = (...a: number[]) => { calls.A++; origA(...a); };
    gemm.packedB = (...a: number[]) => { calls.B++; origB(...a); };
    for (const n of [1, 3, 1]) {
      for (let run = 0; run < 2; run++) {
        const x = randomTensor([n, 16, 16, 16], 100 + n + run).data as Float32Array;
        const feed = { x: new Tensor('float32', x, [n, 16, 16, 16]) };
        const want = js.runSync(feed)[js.outputNames[0]!]!.data as Float32Array;
        const got = wasm.runSync(feed)[wasm.outputNames[0]!]!.data as Float32Array;
        expect(got.length).toBe(n * 10);
        let maxErr = 0;
        for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
        expect(maxErr).toBeLessThanOrEqual(1e-5);
        // Not all zeros or constant: the comparison means something.
        expect(Math.max(...want) - Math.min(...want)).toBeGreaterThan(1e-3);
      }
    }
    // Per run: packed A for the im2col and 1x1 convs (2 GEMM calls: stride-2 conv, 1x1; the 4-group conv, 8 in and
    // 8 out channels per group, runs the grouped direct kernel), packed B for Winograd (36 positions per tile block),
    // Gemm, MatMulAdd and MatMul.
    expect(calls.A).toBeGreaterThanOrEqual(6 * 2);
    expect(calls.B).toBeGreaterThanOrEqual(6 * (36 + 3));
  });
  it.skipIf(hasWasmSimd())('skipped: WebAssembly SIMD is not available in this engine', () => {});
});
