/**
 * A small model in onnxruntime's QOperator format run through InferenceSession: checks that the quantized
 * kernels plan and run in a session (initializer weights packed at prepare, scratch from the arena,
 * com.microsoft dispatch), agreeing exactly with the same kernels run one by one, and approximating the
 * float computation within a few quantization steps.
 *   x → QuantizeLinear → QLinearConv → QLinearLeakyRelu ─┐
 *                                 └──────────────────── QLinearAdd → QLinearGlobalAveragePool → DequantizeLinear → y
 */
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import type { TensorData } from '../src/dtype.js';
import { ModelBuilder } from './onnx-builder.js';
import { randomTensor, rng, runKernel, tensor } from './harness.js';

const f = Math.fround;
const MS = 'com.microsoft';

const r = rng(5);
const W = Array.from({ length: 4 * 3 * 9 }, () => Math.round((r() - 0.5) * 200));
const W_SCALE = [0.004, 0.006, 0.005, 0.003].map(f);
const BIAS = [100, -200, 0, 300];
const s = (v: number) => tensor('float32', [], [v]);
const u8 = (v: number) => tensor('uint8', [], [v]);
const P = {
  x: [s(0.02), u8(128)],
  w: [tensor('int8', [4, 3, 3, 3], W), tensor('float32', [4], W_SCALE), tensor('int8', [4], [0, 0, 0, 0])],
  c: [s(0.05), u8(128)],
  r: [s(0.05), u8(128)],
  a: [s(0.08), u8(128)],
  g: [s(0.04), u8(128)],
};

function buildModel(): Uint8Array {
  const b = new ModelBuilder({ opset: { '': 13, [MS]: 1 } });
  const init = (name: string, t: TensorData) => b.initializer(name, t);
  const x = b.input('x', 'float32', [1, 3, 8, 8]);
  const [xs, xz] = [init('xs', P.x[0]!), init('xz', P.x[1]!)];
  const [w, ws, wz] = [init('w', P.w[0]!), init('ws', P.w[1]!), init('wz', P.w[2]!)];
  const [cs, cz, rs, rz, as, az, gs, gz] = [P.c, P.r, P.a, P.g].flatMap((p, i) => [init(`s${i}`, p[0]!), init(`z${i}`, p[1]!)]);
  const bias = init('bias', tensor('int32', [4], BIAS));
  const [q] = b.node('QuantizeLinear', [x, xs!, xz!]);
  const [c] = b.node('QLinearConv', [q!, xs!, xz!, w!, ws!, wz!, cs!, cz!, bias], { pads: [1, 1, 1, 1] });
  const [rl] = b.node('QLinearLeakyRelu', [c!, cs!, cz!, rs!, rz!], { alpha: 0.1 }, { domain: MS });
  const [a] = b.node('QLinearAdd', [rl!, rs!, rz!, c!, cs!, cz!, as!, az!], {}, { domain: MS });
  const [g] = b.node('QLinearGlobalAveragePool', [a!, as!, az!, gs!, gz!], {}, { domain: MS });
  const [y] = b.node('DequantizeLinear', [g!, gs!, gz!]);
  b.output(y!, { dtype: 'float32', shape: [1, 4, 1, 1] });
  return b.toBytes();
}

function kernelByKernel(x: TensorData): number[] {
  const ms = { domain: MS, opset: 1 };
  const [q] = runKernel('QuantizeLinear', [x, ...P.x]);
  const [c] = runKernel('QLinearConv', [q!, ...P.x, ...P.w, ...P.c, tensor('int32', [4], BIAS)], { pads: [1, 1, 1, 1] });
  const [rl] = runKernel('QLinearLeakyRelu', [c!, ...P.c, ...P.r], { alpha: 0.1 }, ms);
  const [a] = runKernel('QLinearAdd', [rl!, ...P.r, c!, ...P.c, ...P.a], {}, ms);
  const [g] = runKernel('QLinearGlobalAveragePool', [a!, ...P.a, ...P.g], {}, ms);
  const [y] = runKernel('DequantizeLinear', [g!, ...P.g]);
  return Array.from(y!.data as Float32Array);
}

/** The float model the quantized one approximates: GAP(leaky(conv(x) + b) + conv(x) + b). */
function floatReference(x: Float32Array): number[] {
  const out: number[] = [];
  for (let m = 0; m < 4; m++) {
    let total = 0;
    for (let oh = 0; oh < 8; oh++)
      for (let ow = 0; ow < 8; ow++) {
        let v = BIAS[m]! * 0.02 * W_SCALE[m]!;
        for (let c = 0; c < 3; c++)
          for (let i = 0; i < 3; i++)
            for (let j = 0; j < 3; j++) {
              const ih = oh + i - 1;
              const iw = ow + j - 1;
              if (ih < 0 || ih >= 8 || iw < 0 || iw >= 8) continue;
              v += x[(c * 8 + ih) * 8 + iw]! * W[((m * 3 + c) * 3 + i) * 3 + j]! * W_SCALE[m]!;
            }
        total += (v >= 0 ? v : 0.1 * v) + v;
      }
    out.push(total / 64);
  }
  return out;
}

describe('quantized model through InferenceSession', () => {
  it('matches the kernels run one by one exactly, and the float model within a few quantization steps', async () => {
    const session = await InferenceSession.create(buildModel());
    for (const seed of [1, 2]) {
      const x = randomTensor([1, 3, 8, 8], seed, -2, 2);
      const out = session.runSync({ x: new Tensor('float32', x.data as Float32Array, [1, 3, 8, 8]) });
      const y = Array.from(out[session.outputNames[0]!]!.data as Float32Array);
      expect(y).toEqual(kernelByKernel(x));
      const ref = floatReference(x.data as Float32Array);
      y.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(0.1));
      expect(new Set(y).size).toBeGreaterThan(1);
    }
  });
});
