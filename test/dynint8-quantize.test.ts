/**
 * `tinfer quantize --dynamic` (src/quantize/dynamic.ts): onnxruntime's quantize_dynamic form, checked on a small
 * model with a MatMul (weight through an Identity, as PyTorch exports shared weights), a Gemm with transB and a
 * bias, and a Conv with bias followed by Relu.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { quantizeCommand } from '../src/cli/quantize.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { decodeModel } from '../src/loader/index.js';
import { cosineSimilarity } from '../src/quantize/compare.js';
import { quantizeDynamic } from '../src/quantize/dynamic.js';
import { floats } from './dynint8-models.js';
import { ModelBuilder } from './onnx-builder.js';

function floatModel(): ModelBuilder {
  const m = new ModelBuilder({ opset: 13 });
  m.input('x', 'float32', [1, 3, 8, 8]);
  m.initializer('w', floats([6, 3, 3, 3], 1, 0.5));
  m.initializer('b', floats([6], 2, 0.1));
  const [c] = m.node('Conv', ['x', 'w', 'b'], { pads: [1, 1, 1, 1] });
  const [r] = m.node('Relu', [c!]);
  m.initializer('shape', { dtype: 'int64', shape: [2], data: BigInt64Array.of(1n, 384n) });
  const [flat] = m.node('Reshape', [r!, 'shape']);
  m.initializer('g', floats([20, 384], 3, 0.1));
  m.initializer('gb', floats([20], 4, 0.1));
  const [h] = m.node('Gemm', [flat!, 'g', 'gb'], { transB: 1 });
  m.initializer('mw', floats([20, 10], 5, 0.3));
  const [mw] = m.node('Identity', ['mw']);
  m.output(m.node('MatMul', [h!, mw!], {}, { outputs: ['y'] })[0]!);
  return m;
}

const x = floats([1, 3, 8, 8], 9, 1);

describe('quantize --dynamic', () => {
  it("writes quantize_dynamic's form: one DynamicQuantizeLinear per activation, integer ops, float tails", () => {
    const { bytes, report } = quantizeDynamic(floatModel().toBytes());
    const ops = decodeModel(bytes).graph.nodes.map((n) => n.opType);
    expect(ops.filter((o) => o === 'DynamicQuantizeLinear')).toHaveLength(3);
    expect(ops.filter((o) => o === 'MatMulInteger')).toHaveLength(2);
    expect(ops.filter((o) => o === 'ConvInteger')).toHaveLength(1);
    expect(ops).not.toContain('Identity');
    expect(report.matmuls).toBe(2);
    expect(report.convs).toBe(1);
    expect(report.sizeAfter).toBeLessThan(report.sizeBefore);
  });

  for (const perChannel of [false, true]) {
    it(`stays close to the float model (cosine > 0.999${perChannel ? ', per-column MatMul scales' : ''})`, async () => {
      const float = floatModel().toBytes();
      const { bytes, report } = quantizeDynamic(float, { perChannel, evaluation: [{ x: new Tensor('float32', x.data as Float32Array, x.shape) }] });
      expect(report.meanCosine).toBeGreaterThan(0.999);
      // The session on the written model (fused on wasm) agrees with the report's.
      const want = (await (await InferenceSession.create(float)).run({ x: new Tensor('float32', x.data as Float32Array, x.shape) })).y!;
      const got = (await (await InferenceSession.create(bytes)).run({ x: new Tensor('float32', x.data as Float32Array, x.shape) })).y!;
      expect(cosineSimilarity(got.data as Float32Array, want.data as Float32Array)).toBeGreaterThan(0.999);
    });
  }

  it('runs from the command line: tinfer quantize --dynamic IN OUT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinfer-dyn-'));
    const input = join(dir, 'in.onnx');
    const output = join(dir, 'out.onnx');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(input, floatModel().toBytes());
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (printed.push(String(s)), true));
    try {
      expect(await quantizeCommand(['--dynamic', input, output, '--eval-generate', '2', '--runs', '2'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const text = printed.join('');
    expect(text).toMatch(/2 MatMul -> MatMulInteger/);
    expect(text).toMatch(/mean cosine 0\.99/);
    expect(text).toMatch(/speed/);
    expect(decodeModel(new Uint8Array(readFileSync(output))).graph.nodes.some((n) => n.opType === 'ConvInteger')).toBe(true);
  });
});
