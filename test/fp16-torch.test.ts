/**
 * A PyTorch network converted to float16 (scripts/export-fp16-torch.py writes test/fixtures/fp16-torch/) gives
 * onnxruntime-node's numbers in tinfer, and so does tinfer's own `convert --fp16` output of the float32 export.
 * Skips when the fixtures or onnxruntime-node (bench/peers/node_modules, or the path in ONNXRUNTIME_NODE) are absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { decodeModel, encodeModel } from '../src/loader/index.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../src/loader/float16.js';
import { convertToFloat16 } from '../src/quantize/fp16.js';
import { expectClose, rng } from './harness.js';

const dir = join(__dirname, 'fixtures', 'fp16-torch');
const fp16Path = join(dir, 'model_fp16.onnx');
const fp32Path = join(dir, 'model_fp32.onnx');

interface Ort {
  InferenceSession: { create(bytes: Uint8Array, options?: object): Promise<{ run(feeds: object): Promise<Record<string, { data: ArrayLike<number>; dims: readonly number[]; type: string }>> }> };
  Tensor: new (type: string, data: ArrayLike<number>, dims: readonly number[]) => object;
}

function loadOrt(): Ort | undefined {
  try {
    const require = createRequire(join(__dirname, '..', 'bench', 'peers', 'package.json'));
    return require(process.env.ONNXRUNTIME_NODE ?? 'onnxruntime-node') as Ort;
  } catch {
    return undefined;
  }
}

const ort = loadOrt();
const fixtures = existsSync(fp16Path) && existsSync(fp32Path);
if (!fixtures) console.warn(`fp16-torch: skipped, no ${dir} (run /usr/bin/python3 scripts/export-fp16-torch.py)`);
if (!ort) console.warn('fp16-torch: onnxruntime comparisons skipped, onnxruntime-node not found (npm run bench:peers, or set ONNXRUNTIME_NODE)');

const SHAPE = [1, 3, 16, 16];
const input = ((): Float32Array => {
  const r = rng(21);
  return Float32Array.from({ length: 3 * 16 * 16 }, () => r() * 4 - 2);
})();
const asF32 = (data: ArrayLike<number>, type: string, dims: readonly number[]): TensorData => ({
  dtype: 'float32',
  shape: [...dims],
  data: type === 'float16' ? Float32Array.from(data as Uint16Array, float16BitsToFloat32) : Float32Array.from(data),
});

describe.skipIf(!fixtures)('a PyTorch network converted to float16', () => {
  it('fuses GELU and LayerNorm after the float16 pass', () => {
    const ops = runBasicPasses(decodeModel(new Uint8Array(readFileSync(fp16Path))).graph).nodes.map((n) => n.opType);
    expect(ops).toContain('Gelu');
    expect(ops).toContain('LayerNormalization');
    expect(ops).not.toContain('Erf');
  });

  it.skipIf(!ort)('float16 inputs/outputs: tinfer gives onnxruntime-node\'s numbers on the same file', async () => {
    const bytes = new Uint8Array(readFileSync(fp16Path));
    const bits = Uint16Array.from(input, (v) => float32ToFloat16Bits(v));
    const session = InferenceSession.createSync(bytes);
    const ours = session.runSync({ x: new Tensor('float16', bits, SHAPE) }).probs!;
    const peer = await ort!.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const theirs = (await peer.run({ x: new ort!.Tensor('float16', bits, SHAPE) })).probs!;
    expect(ours.type).toBe('float16');
    expectClose(asF32(ours.data as Uint16Array, 'float16', ours.dims), asF32(theirs.data, theirs.type, theirs.dims), 1e-3, 1e-4);
  });

  it.skipIf(!ort)('tinfer convert --fp16 of the float32 export: tinfer gives onnxruntime-node\'s numbers on it', async () => {
    const half = encodeModel(convertToFloat16(decodeModel(new Uint8Array(readFileSync(fp32Path)))).model);
    const ours = InferenceSession.createSync(half).runSync({ x: new Tensor('float32', input, SHAPE) }).probs!;
    const peer = await ort!.InferenceSession.create(half, { intraOpNumThreads: 1 });
    const theirs = (await peer.run({ x: new ort!.Tensor('float32', input, SHAPE) })).probs!;
    expectClose(asF32(ours.data as Float32Array, 'float32', ours.dims), asF32(theirs.data, theirs.type, theirs.dims), 1e-3, 1e-4);
  });
});
