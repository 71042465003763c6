/**
 * InstanceNormalization and GroupNormalization (per-group parameters at opset 18, per-channel at opset 21) against
 * a naive float64 reference, on inputs whose mean is far from 0 (torch exports GroupNorm as Reshape →
 * InstanceNormalization → Reshape → Mul → Add, so both paths matter). Tolerance 2e-5 absolute on outputs of
 * magnitude ~3: float32 rounding of the result, not of the statistics.
 */
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { ModelBuilder } from './onnx-builder.js';
import { rng, tensor } from './harness.js';

const N = 2;
const C = 6;
const H = 5;
const W = 7;
const S = H * W;

function data(length: number, seed: number, offset: number, scale: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length }, () => offset + (r() * 2 - 1) * scale);
}

/** Normalises x over `groups` runs of (C / groups) · S elements; param(n-th run, channel) picks scale/bias. */
function reference(x: Float32Array, groups: number, eps: number, scale: Float32Array, bias: Float32Array, param: (g: number, c: number) => number): Float32Array {
  const y = new Float32Array(x.length);
  const size = (C / groups) * S;
  for (let run = 0; run < N * groups; run++) {
    const v = Array.from(x.subarray(run * size, (run + 1) * size));
    const mean = v.reduce((a, b) => a + b, 0) / size;
    const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / size;
    v.forEach((xi, i) => {
      const p = param(run % groups, (run % groups) * (C / groups) + Math.floor(i / S));
      y[run * size + i] = ((xi - mean) / Math.sqrt(variance + eps)) * scale[p]! + bias[p]!;
    });
  }
  return y;
}

function run(bytes: Uint8Array, x: Float32Array, backend: 'wasm' | 'js'): Float32Array {
  const s = InferenceSession.createSync(bytes, { backend });
  return s.runSync({ x: new Tensor('float32', x, [N, C, H, W]) })[s.outputNames[0]!]!.data as Float32Array;
}

function expectNear(got: Float32Array, want: Float32Array, atol: number): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  expect(worst).toBeLessThan(atol);
}

describe.each(['wasm', 'js'] as const)('instance / group normalization (%s)', (backend) => {
  const x = data(N * C * S, 3, 40, 2);

  it('InstanceNormalization, per-channel scale and bias', () => {
    const scale = data(C, 4, 0, 1.5);
    const bias = data(C, 5, 0, 1);
    const b = new ModelBuilder({ opset: 13 });
    const xi = b.input('x', 'float32', [N, C, H, W]);
    const [y] = b.node('InstanceNormalization', [xi, b.initializer('s', tensor('float32', [C], scale)), b.initializer('b', tensor('float32', [C], bias))], { epsilon: 1e-3 });
    b.output(y!);
    expectNear(run(b.toBytes(), x, backend), reference(x, C, 1e-3, scale, bias, (_g, c) => c), 2e-5);
  });

  it.each([
    { opset: 18, groups: 3, perChannel: false },
    { opset: 21, groups: 3, perChannel: true },
    { opset: 21, groups: 1, perChannel: true },
  ])('GroupNormalization opset $opset, $groups groups', ({ opset, groups, perChannel }) => {
    const count = perChannel ? C : groups;
    const scale = data(count, 6, 0.5, 1);
    const bias = data(count, 7, 0, 1);
    const b = new ModelBuilder({ opset });
    const xi = b.input('x', 'float32', [N, C, H, W]);
    const [y] = b.node('GroupNormalization', [xi, b.initializer('s', tensor('float32', [count], scale)), b.initializer('b', tensor('float32', [count], bias))], { num_groups: groups, epsilon: 1e-5 });
    b.output(y!);
    const param = perChannel ? (_g: number, c: number): number => c : (g: number): number => g;
    expectNear(run(b.toBytes(), x, backend), reference(x, groups, 1e-5, scale, bias, param), 2e-5);
  });
});
