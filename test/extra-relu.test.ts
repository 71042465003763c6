/**
 * A Relu no producer can absorb (after Transpose, as after a norm in style-transfer nets) runs on its own: on
 * the wasm backend as the SIMD clamp to [0, +∞). Checked on both backends against max(x, 0), NaN passing through.
 */
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { ModelBuilder } from './onnx-builder.js';
import { rng } from './harness.js';

const SHAPE = [2, 3, 5, 7];
const COUNT = 2 * 3 * 5 * 7;

describe.each(['wasm', 'js'] as const)('unfused Relu (%s)', (backend) => {
  it('equals max(x, 0) for every element, NaN stays NaN', () => {
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', SHAPE);
    const [t] = b.node('Transpose', [x], { perm: [0, 2, 3, 1] });
    const [y] = b.node('Relu', [t!]);
    b.output(y!);
    const r = rng(11);
    const data = Float32Array.from({ length: COUNT }, () => (r() * 2 - 1) * 5);
    data[3] = Number.NaN;
    data[8] = -0;
    data[9] = -1e30;
    data[10] = Number.POSITIVE_INFINITY;
    const s = InferenceSession.createSync(b.toBytes(), { backend });
    const got = s.runSync({ x: new Tensor('float32', data, SHAPE) })[s.outputNames[0]!]!.data as Float32Array;
    // NHWC position of each NCHW element.
    const [N, C, H, W] = SHAPE as [number, number, number, number];
    let checked = 0;
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
      const v = data[((n * C + c) * H + h) * W + w]!;
      const g = got[((n * H + h) * W + w) * C + c]!;
      if (Number.isNaN(v)) expect(g).toBeNaN();
      else expect(g === Math.max(v, 0)).toBe(true);
      checked++;
    }
    expect(checked).toBe(COUNT);
  });
});
