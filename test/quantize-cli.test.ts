import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModel, decodeTensor, encodeTensor } from '../src/loader/index.js';
import { InferenceSession } from '../src/session/session.js';
import { formatReport, loadSamples, quantizeOptionsFromArgs, QUANTIZE_USAGE } from '../src/cli/quantize.js';
import { parseArgs } from '../src/cli/args.js';
import { quantizeModel } from '../src/quantize/index.js';
import { cosineSimilarity } from '../src/quantize/compare.js';
import { ModelBuilder } from './onnx-builder.js';

const zoo = join(__dirname, '../../shared/models');
const mnist = join(zoo, 'mnist_cnn');

function npy(values: Float32Array, shape: number[]): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 11, ' ') + '\n';
  const out = new Uint8Array(total + values.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 255, header.length >> 8]);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(values.buffer), total);
  return out;
}

function twoInputModel() {
  const b = new ModelBuilder({ opset: 13 });
  const a = b.input('a', 'float32', [1, 4]);
  const c = b.input('c', 'float32', [1, 4]);
  const [y] = b.node('Add', [a, c]);
  b.output(y!);
  return decodeModel(b.toBytes());
}

describe('calibration directories', () => {
  it('splits a batched .npy into samples of the model batch for a single-input model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinfer-calib-'));
    writeFileSync(join(dir, 'batch.npy'), npy(Float32Array.from({ length: 3 * 4 }, (_, i) => i), [3, 4]));
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [1, 4]);
    const [y] = b.node('Relu', [x]);
    b.output(y!);
    const samples = loadSamples(dir, decodeModel(b.toBytes()));
    expect(samples).toHaveLength(3);
    expect(samples[2]!.x!.dims).toEqual([1, 4]);
    expect(Array.from(samples[2]!.x!.data as Float32Array)).toEqual([8, 9, 10, 11]);
  });

  it('reads one sample per subdirectory, matching files to inputs by tensor name, stem or input_N', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinfer-calib-'));
    mkdirSync(join(dir, 'test_data_set_0'));
    mkdirSync(join(dir, 'z_sample'));
    const t = (v: number) => ({ dtype: 'float32' as const, shape: [1, 4], data: new Float32Array(4).fill(v) });
    writeFileSync(join(dir, 'test_data_set_0', 'input_0.pb'), encodeTensor(t(1)));
    writeFileSync(join(dir, 'test_data_set_0', 'input_1.pb'), encodeTensor(t(2)));
    writeFileSync(join(dir, 'z_sample', 'c.npy'), npy(new Float32Array(4).fill(4), [1, 4]));
    writeFileSync(join(dir, 'z_sample', 'x.pb'), encodeTensor(t(3), 'a'));
    const samples = loadSamples(dir, twoInputModel());
    expect(samples.map((s) => [s.a!.data[0], s.c!.data[0]])).toEqual([[1, 2], [3, 4]]);
  });

  it('refuses a flat directory for a two-input model and a sample missing an input', () => {
    const flat = mkdtempSync(join(tmpdir(), 'tinfer-calib-'));
    writeFileSync(join(flat, 'a.npy'), npy(new Float32Array(4), [1, 4]));
    expect(() => loadSamples(flat, twoInputModel())).toThrow(/2 inputs/);
    const nested = mkdtempSync(join(tmpdir(), 'tinfer-calib-'));
    mkdirSync(join(nested, 's0'));
    writeFileSync(join(nested, 's0', 'a.npy'), npy(new Float32Array(4), [1, 4]));
    expect(() => loadSamples(nested, twoInputModel())).toThrow(/no file for input 'c'/);
  });
});

describe('command-line options', () => {
  const parse = (argv: string[]) => quantizeOptionsFromArgs(parseArgs(argv, ['per-channel', 'gptq', 'empirical-bias', 'no-bias-correction', 'help']));

  it('defaults: QDQ, minmax, per tensor, uint8, bias correction on, nothing else', () => {
    expect(parse(['m.onnx'])).toEqual({
      format: 'qdq', method: 'minmax', percentile: 99.99, perChannel: false, activationType: 'uint8',
      gptq: false, empiricalBiasCorrection: false, biasCorrection: true,
    });
  });

  it('--method mse, --gptq, --empirical-bias, --no-bias-correction and --mixed-precision with its knobs', () => {
    const o = parse(['m.onnx', '--method', 'mse', '--gptq', '--empirical-bias', '--no-bias-correction', '--mixed-precision', '0.995', '--max-float', '4', '--probes', '2']);
    expect(o).toMatchObject({ method: 'mse', gptq: true, empiricalBiasCorrection: true, biasCorrection: false });
    expect(o.mixedPrecision).toEqual({ targetCosine: 0.995, maxKept: 4, probes: 2 });
    for (const f of ['--method', '--gptq', '--empirical-bias', '--no-bias-correction', '--mixed-precision', '--max-float', '--probes']) expect(QUANTIZE_USAGE).toContain(f);
  });

  it('refuses an unknown method and a cosine outside (0, 1]', () => {
    expect(() => parse(['m.onnx', '--method', 'best'])).toThrow(/--method must be one of/);
    expect(() => parse(['m.onnx', '--mixed-precision', '1.5'])).toThrow(/cosine in/);
    expect(() => parse(['m.onnx', '--mixed-precision', 'high'])).toThrow(/must be a number/);
  });

  it('the report lists what mixed precision kept in float', () => {
    const text = formatReport({
      format: 'qdq', method: 'minmax', perChannel: true, activationType: 'uint8', sizeBefore: 1000, sizeAfter: 300,
      quantizedWeights: 2, quantizedActivations: 5, outputScales: {}, evaluation: [], warnings: [],
      keptFloat: [{ kind: 'activation', name: 'conv1_out', sensitivity: 0.012 }],
      probeCosine: { before: 0.97, after: 0.991, target: 0.99 },
    });
    expect(text).toMatch(/0\.97000 -> 0\.99100 \(target 0\.99\); 1 kept in float/);
    expect(text).toMatch(/float activation conv1_out \(alone costs 1\.20e-2/);
  });
});

describe.skipIf(!existsSync(join(mnist, 'model.onnx')))('zoo: mnist_cnn', () => {
  it('per-channel QDQ calibrated on its test data sets stays within cosine 0.999 of fp32 and of the stored reference output', () => {
    const bytes = new Uint8Array(readFileSync(join(mnist, 'model.onnx')));
    const model = decodeModel(bytes);
    const samples = loadSamples(mnist, model);
    expect(samples).toHaveLength(2);
    const { bytes: q, report } = quantizeModel(bytes, samples, { perChannel: true, evaluation: samples });
    expect(report.meanCosine).toBeGreaterThan(0.999);
    expect(report.sizeAfter / report.sizeBefore).toBeLessThan(0.35);
    expect(formatReport(report)).toMatch(/mean cosine 0\.99/);
    // The int8 model against PyTorch's stored fp32 reference output.
    const session = InferenceSession.createSync(q);
    const want = decodeTensor(new Uint8Array(readFileSync(join(mnist, 'test_data_set_0', 'output_0.pb'))));
    const got = session.runSync(samples[0]!)[session.outputNames[0]!]!;
    expect(cosineSimilarity(want.data as Float32Array, got.data as Float32Array)).toBeGreaterThan(0.999);
  });
});
