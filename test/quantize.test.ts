import { describe, expect, it } from 'vitest';
import { decodeModel } from '../src/loader/index.js';
import { InferenceSession } from '../src/session/session.js';
import { Tensor } from '../src/session/tensor.js';
import {
  activationParams,
  decodeNpy,
  emptyAbsHistogram,
  entropyThreshold,
  generateFeeds,
  percentileThreshold,
  quantizeBias,
  quantizeModel,
  quantizeWeight,
  roundHalfEven,
  type AbsHistogram,
} from '../src/quantize/index.js';
import { cosineSimilarity } from '../src/quantize/compare.js';
import { correctedBias, quantizationShift } from '../src/quantize/bias-correction.js';
import { F, ModelBuilder } from './onnx-builder.js';

/** A .npy file: magic, version, header length, the dict padded with spaces to a multiple of 64, then data. */
function npyBytes(descr: string, shape: string, data: Uint8Array, major = 1, fortran = 'False'): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  const total = Math.ceil((prefix + header.length + 1) / 64) * 64;
  header = header.padEnd(total - prefix - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(data, total);
  return out;
}

describe('npy reader', () => {
  it('reads a v1 little-endian float32 matrix in C order', () => {
    const values = new Float32Array([1, -2.5, 3, 0.25, 5, 6]);
    const t = decodeNpy(npyBytes('<f4', '(2, 3)', new Uint8Array(values.buffer)));
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.data as Float32Array)).toEqual([1, -2.5, 3, 0.25, 5, 6]);
  });

  it('reads a v2 header, int64, a 1-tuple shape and a scalar', () => {
    const t = decodeNpy(npyBytes('<i8', '(3,)', new Uint8Array(new BigInt64Array([7n, -1n, 2n ** 40n]).buffer), 2));
    expect(t.dtype).toBe('int64');
    expect(t.shape).toEqual([3]);
    expect(Array.from(t.data as BigInt64Array)).toEqual([7n, -1n, 2n ** 40n]);
    const s = decodeNpy(npyBytes('<f8', '()', new Uint8Array(new Float64Array([0.5]).buffer)));
    expect(s.shape).toEqual([]);
    expect(Array.from(s.data as Float64Array)).toEqual([0.5]);
  });

  it('reads uint8, int32 and bool', () => {
    expect(Array.from(decodeNpy(npyBytes('|u1', '(2,)', new Uint8Array([200, 3]))).data as Uint8Array)).toEqual([200, 3]);
    expect(Array.from(decodeNpy(npyBytes('<i4', '(2,)', new Uint8Array(new Int32Array([-5, 9]).buffer))).data as Int32Array)).toEqual([-5, 9]);
    const b = decodeNpy(npyBytes('|b1', '(3,)', new Uint8Array([1, 0, 2])));
    expect(b.dtype).toBe('bool');
    expect(Array.from(b.data as Uint8Array)).toEqual([1, 0, 1]);
  });

  it('refuses big-endian, Fortran order, bad magic and truncated data', () => {
    expect(() => decodeNpy(npyBytes('>f4', '(1,)', new Uint8Array(4)))).toThrow(/not supported/);
    expect(() => decodeNpy(npyBytes('<f4', '(1,)', new Uint8Array(4), 1, 'True'))).toThrow(/Fortran/);
    expect(() => decodeNpy(new Uint8Array(16))).toThrow(/magic/);
    expect(() => decodeNpy(npyBytes('<f4', '(4,)', new Uint8Array(8)))).toThrow(/needs 16 data bytes/);
  });
});

describe('scale and zero point', () => {
  it('rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 3]);
  });

  it('uint8 asymmetric: scale (max - min) / 255 with 0 exactly representable', () => {
    const p = activationParams({ min: -1, max: 3 }, 'uint8');
    expect(p.scale).toBeCloseTo(4 / 255, 7);
    expect(p.zeroPoint).toBe(64); // round(1 / (4/255)) = round(63.75)
    // A ReLU output [0, 2] puts 0 at zero point 0; a range away from 0 is widened to include it.
    expect(activationParams({ min: 0, max: 2 }, 'uint8')).toMatchObject({ zeroPoint: 0, scale: Math.fround(2 / 255) });
    expect(activationParams({ min: 1, max: 2 }, 'uint8')).toMatchObject({ zeroPoint: 0, scale: Math.fround(2 / 255) });
    expect(activationParams({ min: -3, max: -1 }, 'uint8')).toMatchObject({ zeroPoint: 255, scale: Math.fround(3 / 255) });
  });

  it('int8 symmetric: scale max|r| / 127, zero point 0', () => {
    expect(activationParams({ min: -2, max: 1 }, 'int8')).toMatchObject({ zeroPoint: 0, scale: Math.fround(2 / 127) });
  });

  it('a constant-zero tensor gets scale 1', () => {
    expect(activationParams({ min: 0, max: 0 }, 'uint8')).toMatchObject({ scale: 1, zeroPoint: 0 });
  });

  it('int8 weights: symmetric per tensor and per output channel', () => {
    const w = { dtype: 'float32' as const, shape: [2, 2], data: new Float32Array([1, -0.5, 0.1, 0.2]) };
    const perTensor = quantizeWeight(w, undefined);
    expect(perTensor.scale.shape).toEqual([]);
    expect(perTensor.scales[0]).toBeCloseTo(1 / 127, 7);
    expect(Array.from(perTensor.q.data as Int8Array)).toEqual([127, -64, 13, 25]); // -63.5 -> -64, 12.7, 25.4
    const rows = quantizeWeight(w, 0);
    expect(rows.scale.shape).toEqual([2]);
    expect(Array.from(rows.q.data as Int8Array)).toEqual([127, -64, 64, 127]); // row 1 scale 0.2/127: 0.1 -> 63.5 -> 64
    const cols = quantizeWeight(w, 1);
    expect(cols.scales[1]).toBeCloseTo(0.5 / 127, 7);
    expect(Array.from(cols.q.data as Int8Array)).toEqual([127, -127, 13, 51]); // 0.2 / (0.5/127) = 50.8
    expect(Array.from(cols.zeroPoint.data as Int8Array)).toEqual([0, 0]);
  });

  it('int32 bias with scale x_scale * w_scale per channel', () => {
    const b = quantizeBias({ dtype: 'float32', shape: [2], data: new Float32Array([0.5, -1]) }, 0.1, new Float32Array([0.01, 0.02]));
    expect(Array.from(b.scale.data as Float32Array)).toEqual([Math.fround(0.1 * Math.fround(0.01)), Math.fround(0.1 * Math.fround(0.02))]);
    expect(Array.from(b.q.data as Int32Array)).toEqual([500, -500]);
  });
});

describe('bias correction', () => {
  it('Gemm (transB): the shift is Σ_k (Wq·s - W)[n, k] · E[x_k] and is subtracted from the bias', () => {
    const w = { dtype: 'float32' as const, shape: [1, 2], data: new Float32Array([0.1, 0.2]) };
    const qw = quantizeWeight(w, undefined); // s = 0.2/127, q = [64, 127]
    const node = { name: 'g', opType: 'Gemm', domain: '', inputs: ['x', 'w', 'b'], outputs: ['y'], attributes: new Map([['transB', { type: 'int' as const, value: 1 }]]) };
    const shift = quantizationShift(node, w, qw, new Float64Array([1, 2]))!;
    const s = Math.fround(0.2 / 127);
    expect(shift[0]).toBeCloseTo((64 * s - Math.fround(0.1)) * 1 + (127 * s - Math.fround(0.2)) * 2, 9);
    const b = correctedBias({ dtype: 'float32', shape: [1], data: new Float32Array([0.5]) }, shift);
    expect((b.data as Float32Array)[0]).toBeCloseTo(0.5 - shift[0]!, 6);
  });

  it('grouped Conv: each output channel reads only its group\'s input means', () => {
    // Depthwise, 2 channels, 1x1 kernels: W = [0.3, 0.7] per channel; per-channel scales make q exact (127).
    const w = { dtype: 'float32' as const, shape: [2, 1, 1, 1], data: new Float32Array([0.3, 0.7]) };
    const qw = quantizeWeight(w, 0);
    const node = { name: 'c', opType: 'Conv', domain: '', inputs: ['x', 'w', 'b'], outputs: ['y'], attributes: new Map([['group', { type: 'int' as const, value: 2 }]]) };
    const shift = quantizationShift(node, w, qw, new Float64Array([5, 7]))!;
    expect(shift[0]).toBeCloseTo((127 * qw.scales[0]! - Math.fround(0.3)) * 5, 9);
    expect(shift[1]).toBeCloseTo((127 * qw.scales[1]! - Math.fround(0.7)) * 7, 9);
  });
});

function histogram(counts: number[], absMax: number): AbsHistogram {
  const h = emptyAbsHistogram({ min: 0, max: absMax }, counts.length);
  counts.forEach((c, i) => (h.counts[i] = c));
  return h;
}

describe('calibration thresholds', () => {
  it('percentile: the upper edge of the bin where the cumulative share reaches p', () => {
    const h = histogram(Array(1000).fill(1), 1000);
    expect(percentileThreshold(h, 99)).toBe(990);
    expect(percentileThreshold(h, 100)).toBe(1000);
    expect(percentileThreshold(h, 50)).toBe(500);
  });

  it('entropy: a uniform distribution is best left unclipped (KL 0 at the full range)', () => {
    expect(entropyThreshold(histogram(Array(2048).fill(10), 2048))).toBe(2048);
  });

  it('entropy: a sharply decaying distribution with one far outlier is clipped well below the outlier', () => {
    const counts = Array.from({ length: 2048 }, (_, j) => Math.round(1e6 * Math.exp(-j / 20)));
    counts[2047] = 1;
    const t = entropyThreshold(histogram(counts, 2048));
    expect(t).toBeGreaterThanOrEqual(128);
    expect(t).toBeLessThan(512);
  });
});

/** x [1,3,16,16] -> Conv 3x3 (4 ch, bias) -> Relu -> Add(skip Conv 1x1) -> Flatten -> Gemm (transB) -> [1,10]. */
function smallModel(): Uint8Array {
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed / 4294967296) * 2 - 1;
  };
  const floats = (shape: number[], scale: number) => ({ dtype: 'float32' as const, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * scale) });
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', [1, 3, 16, 16]);
  const w1 = b.initializer('w1', floats([4, 3, 3, 3], 0.5));
  const b1 = b.initializer('b1', floats([4], 0.1));
  const w2 = b.initializer('w2', floats([4, 3, 1, 1], 0.5));
  const wg = b.initializer('wg', floats([10, 1024], 0.05));
  const bg = b.initializer('bg', floats([10], 0.1));
  const [c1] = b.node('Conv', [x, w1, b1], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] });
  const [r1] = b.node('Relu', [c1!]);
  const [c2] = b.node('Conv', [x, w2]);
  const [sum] = b.node('Add', [r1!, c2!]);
  const [flat] = b.node('Flatten', [sum!]);
  const [y] = b.node('Gemm', [flat!, wg, bg], { transB: 1, alpha: new F(1) });
  b.output(y!, { dtype: 'float32', shape: [1, 10] });
  return b.toBytes();
}

describe('quantizeModel end to end', () => {
  const bytes = smallModel();
  const model = decodeModel(bytes);
  const calibration = generateFeeds(model, { count: 8, seed: 1 });
  const evaluation = generateFeeds(model, { count: 4, seed: 2 });
  const reference = InferenceSession.createSync(bytes);

  for (const format of ['qdq', 'qoperator'] as const) {
    for (const method of ['minmax', 'percentile', 'entropy', 'mse'] as const) {
      for (const perChannel of [false, true]) {
        it(`${format}, ${method}, ${perChannel ? 'per channel' : 'per tensor'}: int8 weights, runs, cosine >= 0.99`, () => {
          const { bytes: q, report } = quantizeModel(bytes, calibration, { format, method, perChannel, evaluation });
          const decoded = decodeModel(q);
          const inits = [...decoded.graph.initializers.values()];
          // Every weight matrix/filter is int8; no float weight survives.
          expect(inits.filter((t) => t.shape.length > 1).every((t) => t.dtype === 'int8')).toBe(true);
          expect(inits.filter((t) => t.dtype === 'int8' && t.shape.length > 1)).toHaveLength(3);
          expect(inits.filter((t) => t.dtype === 'int32')).toHaveLength(2);
          const ops = decoded.graph.nodes.map((n) => n.opType);
          if (format === 'qdq') {
            expect(ops).toContain('QuantizeLinear');
            expect(ops.filter((o) => o === 'Conv')).toHaveLength(2);
            expect(ops).not.toContain('Relu'); // folded into the uint8 range of the Conv output
          } else {
            expect(ops.filter((o) => o === 'QLinearConv')).toHaveLength(2);
            expect(ops).toContain('QGemm');
            expect(ops).toContain('QLinearAdd');
          }
          const session = InferenceSession.createSync(q);
          for (const f of evaluation) {
            const out = reference.outputNames[0]!;
            const want = reference.runSync(f)[out]!.data as Float32Array;
            const got = session.runSync(f)[out]!.data as Float32Array;
            expect(cosineSimilarity(want, got)).toBeGreaterThanOrEqual(0.99);
          }
          expect(report.meanCosine).toBeGreaterThanOrEqual(0.99);
          expect(report.evaluation).toHaveLength(4);
          expect(report.sizeAfter).toBeLessThan(report.sizeBefore * 0.5);
        });
      }
    }
  }

  it('bias correction can be turned off and both settings stay accurate', () => {
    const off = quantizeModel(bytes, calibration, { perChannel: true, biasCorrection: false, evaluation });
    const on = quantizeModel(bytes, calibration, { perChannel: true, evaluation });
    expect(off.report.meanCosine).toBeGreaterThanOrEqual(0.99);
    expect(on.report.meanCosine).toBeGreaterThanOrEqual(0.99);
    // The int32 biases differ: the corrected ones absorbed the weight rounding's mean shift.
    const biases = (b: Uint8Array) => [...decodeModel(b).graph.initializers.values()].filter((t) => t.dtype === 'int32').map((t) => Array.from(t.data as Int32Array));
    expect(biases(on.bytes)).not.toEqual(biases(off.bytes));
  });

  it('GPTQ rounding and empirical bias correction: standard int8/int32 initializers, still accurate', () => {
    for (const format of ['qdq', 'qoperator'] as const) {
      const plain = quantizeModel(bytes, calibration, { format, perChannel: true, evaluation });
      const gptq = quantizeModel(bytes, calibration, { format, perChannel: true, gptq: true, evaluation });
      const empirical = quantizeModel(bytes, calibration, { format, perChannel: true, empiricalBiasCorrection: true, evaluation });
      for (const r of [gptq, empirical]) {
        expect(r.report.meanCosine).toBeGreaterThanOrEqual(0.99);
        expect(r.report.quantizedWeights).toBe(plain.report.quantizedWeights);
      }
      const ints = (b: Uint8Array, dtype: string) => [...decodeModel(b).graph.initializers.values()].filter((t) => t.dtype === dtype).map((t) => Array.from(t.data as Int8Array));
      expect(ints(gptq.bytes, 'int8')).not.toEqual(ints(plain.bytes, 'int8'));
      expect(ints(empirical.bytes, 'int8')).toEqual(ints(plain.bytes, 'int8'));
      expect(ints(empirical.bytes, 'int32')).not.toEqual(ints(plain.bytes, 'int32'));
    }
  });

  it('int8 symmetric activations also reach cosine >= 0.99', () => {
    const { report } = quantizeModel(bytes, calibration, { activationType: 'int8', perChannel: true, evaluation });
    expect(report.meanCosine).toBeGreaterThanOrEqual(0.99);
  });

  it('refuses an empty calibration set', () => {
    expect(() => quantizeModel(bytes, [])).toThrow(/calibration/);
  });

  it('leaves non-float inputs alone and reports top-1 agreement for a classifier output', () => {
    const { report } = quantizeModel(bytes, calibration, { evaluation: [{ x: new Tensor('float32', new Float32Array(768).fill(0.5), [1, 3, 16, 16]) }] });
    expect(report.evaluation[0]![0]!.top1Agrees).toBeDefined();
    expect(report.top1Agreement).toBeDefined();
  });
});
