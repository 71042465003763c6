/**
 * End to end against onnxruntime-node: a small model with DynamicQuantizeLinear, MatMulInteger and ConvInteger
 * chains (as quantize_dynamic writes them). The quantized tensors, scales, zero points and the int32 outputs of
 * MatMulInteger / ConvInteger must equal onnxruntime's exactly; the float outputs agree to float32 rounding.
 * Skipped when onnxruntime-node is not installed (bench/peers, or ORT_NODE_PATH).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { addDynamicConv, addDynamicMatMul, addDynamicQuantize, floats } from './dynint8-models.js';
import { ModelBuilder } from './onnx-builder.js';

const CANDIDATES = [
  process.env.ORT_NODE_PATH,
  new URL('../bench/peers/node_modules/onnxruntime-node', import.meta.url).pathname,
].filter((p): p is string => p !== undefined && existsSync(p));

interface OrtTensor { data: ArrayLike<number>; dims: readonly number[]; type: string }
interface Ort {
  InferenceSession: { create(bytes: Uint8Array, opts?: object): Promise<{ run(feeds: object): Promise<Record<string, OrtTensor>> }> };
  Tensor: new (type: string, data: Float32Array, dims: number[]) => unknown;
}

function loadOrt(): Ort | undefined {
  for (const p of CANDIDATES) {
    try {
      return createRequire(import.meta.url)(p) as Ort;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

const ort = loadOrt();
if (ort === undefined) console.warn('onnxruntime-node not found: the dynamic-int8 end-to-end comparison is skipped');

/** X [2, 8, 9, 9] → DQL → ConvInteger 3x3 → Cast/Mul/Add; its float output → flatten-free MatMul on the last axis. */
function model(floatOnly = false): ModelBuilder {
  const m = new ModelBuilder({ opset: 13 });
  m.input('x', 'float32', [2, 8, 9, 9]);
  const q = addDynamicQuantize(m, 'x', 'x');
  const conv = addDynamicConv(m, q, { C: 8, M: 13, k: 3, bias: true, attrs: { pads: [1, 1, 1, 1] } }, 1, 'c');
  const dw = addDynamicConv(m, q, { C: 8, M: 8, k: 3, bias: true, attrs: { group: 8, strides: [2, 2], pads: [1, 1, 1, 1] } }, 2, 'd');
  const q2 = addDynamicQuantize(m, conv.out, 'h');
  const mm = addDynamicMatMul(m, q2, { K: 9, N: 17, bias: true }, 3, 'm');
  const mm2 = addDynamicMatMul(m, q2, { K: 9, N: 5, perColumn: true }, 4, 'n');
  const outputs = floatOnly ? [dw.out, mm.out, mm2.out] : [q[0], q[1], q[2], conv.acc, conv.out, dw.acc, dw.out, q2[0], q2[1], q2[2], mm.acc, mm.out, mm2.acc, mm2.out];
  for (const o of outputs) m.output(o);
  return m;
}

describe.skipIf(ort === undefined)('dynamic int8 against onnxruntime-node', () => {
  for (const [backend, floatOnly] of [['wasm', false], ['js', false], ['wasm', true]] as const) {
    const what = floatOnly ? 'fused float chains (only float outputs)' : "integer outputs equal onnxruntime's exactly, floats within rounding";
    it(`${what} (${backend})`, async () => {
      const bytes = model(floatOnly).toBytes();
      const x = floats([2, 8, 9, 9], 42, 3, 0.5);
      const ours = await (await InferenceSession.create(bytes, { backend })).run({ x: new Tensor('float32', x.data as Float32Array, x.shape) });
      const theirs = await (await ort!.InferenceSession.create(bytes)).run({ x: new ort!.Tensor('float32', x.data as Float32Array, x.shape) });
      for (const [name, want] of Object.entries(theirs)) {
        const got = ours[name]!;
        expect(got.dims, name).toEqual(want.dims);
        const g = Array.from(got.data as ArrayLike<number>);
        const w = Array.from(want.data);
        if (want.type === 'float32' && !name.endsWith('_s')) {
          let max = 0;
          let scale = 0;
          for (let i = 0; i < w.length; i++) {
            max = Math.max(max, Math.abs(g[i]! - w[i]!));
            scale = Math.max(scale, Math.abs(w[i]!));
          }
          expect(max, `${name}: max |error| ${max} of max |value| ${scale}`).toBeLessThanOrEqual(1e-6 * scale);
        } else {
          expect(g, name).toEqual(w);
        }
      }
    });
  }
});
