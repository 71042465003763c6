/** `tinfer convert --fp16` (src/quantize/fp16.ts, src/cli/convert.ts): float16 weights, float32 interface. */
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { decodeModel, encodeModel } from '../src/loader/index.js';
import type { Model } from '../src/loader/model.js';
import { convertToFloat16 } from '../src/quantize/fp16.js';
import { convertCommand } from '../src/cli/convert.js';
import { ModelBuilder } from './onnx-builder.js';
import { expectClose, rng, tensor } from './harness.js';

function weights(shape: number[], seed: number, scale = 0.5): TensorData {
  const r = rng(seed);
  return tensor('float32', shape, Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => (r() * 2 - 1) * scale));
}

/**
 * Conv → Resize (scales initializer, must stay float32) → TopK (kept float32) values + Range over a Cast length
 * (kept float32) → MatMul with a Constant weight; the values a converter must keep right.
 */
function mixedModel(): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [1, 2, 4, 4]);
  const [c] = b.node('Conv', [x, b.initializer('w', weights([3, 2, 3, 3], 1)), b.initializer('bias', weights([3], 2))], { pads: [1, 1, 1, 1] });
  const scales = b.initializer('scales', tensor('float32', [4], [1, 1, 2, 2]));
  const [up] = b.node('Resize', [c!, '', scales], { mode: 'nearest' });
  const [flat] = b.node('Reshape', [up!, b.initializer('flat', tensor('int64', [2], [3, 64]))]);
  const [vals] = b.node('TopK', [flat!, b.initializer('k', tensor('int64', [1], [8]))], {}, { outputs: ['topv', 'topi'] });
  const [len] = b.node('Cast', [b.node('Shape', [vals!])[0]!], { to: 1 });
  const [n] = b.node('Gather', [len!, b.initializer('one', tensor('int64', [], [1]))]);
  const [positions] = b.node('Range', [b.node('Constant', [], { value: tensor('float32', [], [0]) })[0]!, n!, b.node('Constant', [], { value: tensor('float32', [], [1]) })[0]!]);
  const [shifted] = b.node('Add', [vals!, positions!]);
  const [mm] = b.node('MatMul', [shifted!, b.node('Constant', [], { value: weights([8, 64], 3) })[0]!]);
  b.output(mm!, { dtype: 'float32', shape: [3, 64] });
  b.output(positions!, { dtype: 'float32', shape: [8] });
  return b.toModel();
}

function runModel(model: Model, x: Float32Array): Record<string, Tensor> {
  return InferenceSession.fromModel(model).runSync({ x: new Tensor('float32', x, [1, 2, 4, 4]) });
}

const input = ((): Float32Array => {
  const r = rng(9);
  return Float32Array.from({ length: 32 }, () => r() * 2 - 1);
})();

describe('convertToFloat16', () => {
  const model = mixedModel();
  const { model: half, report } = convertToFloat16(model);
  const byName = (name: string): TensorData => half.graph.initializers.get(name)!;

  it('stores the weights as float16 and keeps shape data and Resize scales float32', () => {
    expect(byName('w').dtype).toBe('float16');
    expect(byName('bias').dtype).toBe('float16');
    expect(byName('scales').dtype).toBe('float32');
    expect(byName('flat').dtype).toBe('int64');
    const constants = half.graph.nodes.filter((n) => n.opType === 'Constant').map((n) => (n.attributes.get('value')!.value as TensorData).dtype);
    // Range's start and delta stay float32 (Range is kept float32); the MatMul weight is float16.
    expect(constants.sort()).toEqual(['float16', 'float32', 'float32']);
    expect(report.weightsConverted).toBe(3);
  });

  it('keeps float32 inputs and outputs, with a Cast at each', () => {
    expect(half.graph.inputs[0]!.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: [1, 2, 4, 4] });
    expect(half.graph.outputs.map((o) => o.type.kind === 'tensor' && o.type.dtype)).toEqual(['float32', 'float32']);
    const first = half.graph.nodes.find((n) => n.inputs.includes('x'))!;
    expect(first.opType).toBe('Cast');
    expect(first.attributes.get('to')!.value).toBe(10);
    const last = half.graph.nodes.find((n) => n.outputs.includes(half.graph.outputs[0]!.name))!;
    expect(last.opType).toBe('Cast');
    expect(last.attributes.get('to')!.value).toBe(1);
  });

  it('puts TopK and Range in float32, between casts', () => {
    const topk = half.graph.nodes.find((n) => n.opType === 'TopK')!;
    const producer = half.graph.nodes.find((n) => n.outputs.includes(topk.inputs[0]!))!;
    expect(producer.opType).toBe('Cast');
    expect(producer.attributes.get('to')!.value).toBe(1);
    // The length Cast feeds only Range: it stays a Cast to float32 (no round trip through float16).
    const range = half.graph.nodes.find((n) => n.opType === 'Range')!;
    expect(half.graph.nodes.filter((n) => n.opType === 'Cast' && n.attributes.get('to')!.value === 10 && n.inputs[0] === range.outputs[0])).toHaveLength(1);
    expect(report.float32Nodes).toBe(2);
  });

  it('gives the float32 model\'s results, within float16 weight rounding', () => {
    const a = runModel(model, input);
    const b = runModel(decodeModel(encodeModel(half)), input);
    for (const name of Object.keys(a)) {
      const got: TensorData = { dtype: 'float32', shape: [...b[name]!.dims], data: b[name]!.data as Float32Array };
      expectClose(got, { dtype: 'float32', shape: [...a[name]!.dims], data: a[name]!.data as Float32Array }, 2e-2, 2e-3);
    }
    expect(Array.from(b[half.graph.outputs[1]!.name]!.data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('writes 2 bytes per weight and runs no float16 kernel in tinfer', () => {
    // 569 weights save 2 bytes each; the 7 added Casts cost a few bytes each.
    expect(encodeModel(model).length - encodeModel(half).length).toBeGreaterThan(569 * 2 - 7 * 70);
    const session = InferenceSession.createSync(encodeModel(half), { profile: true });
    session.runSync({ x: new Tensor('float32', input, [1, 2, 4, 4]) });
    expect(session.profile().filter((p) => p.variant.startsWith('f16_'))).toEqual([]);
  });

  it('saturates weights beyond the float16 range instead of making them infinite', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2]);
    const [y] = b.node('Add', [x, b.initializer('big', tensor('float32', [2], [1e6, -1e9]))]);
    b.output(y!, { dtype: 'float32', shape: [2] });
    const out = convertToFloat16(b.toModel()).model.graph.initializers.get('big')!;
    expect(Array.from(out.data as Float32Array)).toEqual([65504, -65504]);
  });
});

describe('tinfer convert --fp16', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('writes the model and reports size, cosine against float32 and speed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinfer-fp16-'));
    const src = join(dir, 'in.onnx');
    const dst = join(dir, 'out.onnx');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(src, encodeModel(mixedModel()));
    let printed = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      printed += String(s);
      return true;
    });
    expect(await convertCommand(['--fp16', src, dst, '--samples', '2', '--iterations', '1'])).toBe(0);
    expect(existsSync(dst)).toBe(true);
    expect(decodeModel(new Uint8Array(readFileSync(dst))).graph.initializers.get('w')!.dtype).toBe('float16');
    expect(printed).toMatch(/converted: .*in\.onnx .* -> .*out\.onnx .*%\)/);
    expect(printed).toMatch(/cosine mean (0\.99\d+|1\.0+) /);
    expect(printed).toMatch(/speed \(tinfer, median of 1 runs\): float32 [\d.]+ ms, float16 [\d.]+ ms/);
  });

  it('refuses to guess the format', async () => {
    await expect(convertCommand(['a.onnx', 'b.onnx'])).rejects.toThrow(/--fp16/);
  });
});
