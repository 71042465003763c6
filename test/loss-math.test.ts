import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { GraphError, UnsupportedError } from '../src/errors.js';
import { expectClose, randomTensor, runKernel, tensor, type AttrValue, F } from './harness.js';

/** Determinant by Laplace expansion along the first row (independent of LU). */
function laplaceDet(a: number[][]): number {
  const m = a.length;
  if (m === 1) return a[0]![0]!;
  let det = 0;
  for (let c = 0; c < m; c++) {
    const minor = a.slice(1).map((row) => row.filter((_, j) => j !== c));
    det += (c % 2 === 0 ? 1 : -1) * a[0]![c]! * laplaceDet(minor);
  }
  return det;
}

describe('Det', () => {
  it('hand-checked 2×2: det [[1, 2], [3, 4]] = -2', () => {
    const [y] = runKernel('Det', [tensor('float32', [2, 2], [1, 2, 3, 4])]);
    expect(y!.shape).toEqual([]);
    expectClose(y!, tensor('float32', [], [-2]), 0, 1e-6);
  });

  it('needs a row swap when the leading entry is zero: det [[0, 1], [1, 0]] = -1', () => {
    const [y] = runKernel('Det', [tensor('float32', [2, 2], [0, 1, 1, 0])]);
    expectClose(y!, tensor('float32', [], [-1]), 0, 1e-6);
  });

  it('a singular matrix has determinant 0', () => {
    const [y] = runKernel('Det', [tensor('float32', [3, 3], [1, 2, 3, 2, 4, 6, 7, 8, 9])]);
    expectClose(y!, tensor('float32', [], [0]), 0, 1e-6);
  });

  it('batched random 1×1..5×5 matrices match Laplace expansion (rtol 1e-4)', () => {
    for (const m of [1, 2, 3, 4, 5]) {
      const x = randomTensor([2, 3, m, m], m);
      const [y] = runKernel('Det', [x]);
      expect(y!.shape).toEqual([2, 3]);
      const expected: number[] = [];
      for (let b = 0; b < 6; b++) {
        const rows = Array.from({ length: m }, (_, r) => Array.from({ length: m }, (_, c) => Number(x.data[b * m * m + r * m + c])));
        expected.push(laplaceDet(rows));
      }
      expectClose(y!, tensor('float32', [2, 3], expected), 1e-4, 1e-6);
    }
  });

  it('rejects non-square input and integer types', () => {
    expect(() => runKernel('Det', [randomTensor([2, 3], 1)])).toThrow(GraphError);
    expect(() => runKernel('Det', [tensor('int32', [2, 2], [1, 2, 3, 4])])).toThrow(UnsupportedError);
  });
});

describe('LpNormalization', () => {
  it('p = 2 over the last axis: [3, 4] -> [0.6, 0.8]; a zero row stays zero', () => {
    const [y] = runKernel('LpNormalization', [tensor('float32', [2, 2], [3, 4, 0, 0])]);
    expectClose(y!, tensor('float32', [2, 2], [0.6, 0.8, 0, 0]), 0, 1e-7);
  });

  it('p = 1 over axis 0: columns divided by their absolute sums', () => {
    const [y] = runKernel('LpNormalization', [tensor('float32', [2, 2], [1, -2, 3, 6])], { p: 1, axis: 0 });
    expectClose(y!, tensor('float32', [2, 2], [0.25, -0.25, 0.75, 0.75]), 0, 1e-7);
  });

  it('rejects p = 3', () => {
    expect(() => runKernel('LpNormalization', [randomTensor([2, 2], 1)], { p: 3 })).toThrow(UnsupportedError);
  });
});

const TRAINING = 'ai.onnx.preview.training';
const r = (v: number) => tensor('float32', [], [v]);
const t = (v: number) => tensor('int64', [], [v]);
const vec = (...v: number[]) => tensor('float32', [v.length], v);

function optimize(op: string, inputs: TensorData[], attrs: Record<string, AttrValue>, outputs: number): TensorData[] {
  return runKernel(op, inputs, attrs, { domain: TRAINING, opset: 1, outputs });
}

describe('Adagrad', () => {
  it('hand-checked: x_new = x - r/(1 + t·decay) · g/√(h + g²)', () => {
    // t = 0: r' = 0.1, h_new = 2 + 1 = 3, x_new = 1 + 0.1/√3.
    const [x0, h0] = optimize('Adagrad', [r(0.1), t(0), vec(1), vec(-1), vec(2)], { decay_factor: new F(0.1) }, 2);
    expectClose(x0!, vec(1 + 0.1 / Math.sqrt(3)), 0, 1e-6);
    expectClose(h0!, vec(3), 0, 1e-6);
    // t = 1: r' = 0.1 / 1.1.
    const [x1] = optimize('Adagrad', [r(0.1), t(1), vec(1), vec(-1), vec(2)], { decay_factor: new F(0.1) }, 2);
    expectClose(x1!, vec(1 + 0.1 / 1.1 / Math.sqrt(3)), 0, 1e-6);
  });

  it('several tensors: inputs X1, X2, G1, G2, H1, H2 -> X1_new, X2_new, H1_new, H2_new', () => {
    const outs = optimize('Adagrad', [r(1), t(0), vec(0), vec(0, 0), vec(3), vec(4, -2), vec(0), vec(0, 0)], {}, 4);
    // With zero state and no decay: h_new = g², x_new = x - g/|g|.
    expectClose(outs[0]!, vec(-1), 0, 1e-6);
    expectClose(outs[1]!, vec(-1, 1), 0, 1e-6);
    expectClose(outs[2]!, vec(9), 0, 1e-6);
    expectClose(outs[3]!, vec(16, 4), 0, 1e-6);
  });
});

describe('Adam', () => {
  it('hand-checked step at t = 0 (no bias correction) with epsilon 0.01', () => {
    // g' = 0.001·1 - 1 = -0.999; v = 0.95·2 + 0.05·g' = 1.85005; h = 0.85·0.5 + 0.15·g'² = 0.57470015;
    // x = 1 - 0.1·v/(√h + 0.01).
    const attrs = { alpha: 0.95, beta: 0.85, epsilon: 0.01, norm_coefficient: 0.001 };
    const [x, v, h] = optimize('Adam', [r(0.1), t(0), vec(1), vec(-1), vec(2), vec(0.5)], attrs, 3);
    expectClose(v!, vec(1.85005), 0, 1e-6);
    expectClose(h!, vec(0.57470015), 0, 1e-6);
    expectClose(x!, vec(1 - (0.1 * 1.85005) / (Math.sqrt(0.57470015) + 0.01)), 0, 1e-6);
  });

  it('bias correction at t = 2 and norm_coefficient_post', () => {
    // g' = 1, v = 0.5·0 + 0.5·1 = 0.5, h = 0.5·0 + 0.5·1 = 0.5; r' = 1·√(1 - 0.25)/(1 - 0.25) = 1/√0.75.
    const attrs = { alpha: 0.5, beta: 0.5, norm_coefficient_post: 0.5 };
    const [x] = optimize('Adam', [r(1), t(2), vec(2), vec(1), vec(0), vec(0)], attrs, 3);
    expectClose(x!, vec(0.5 * (2 - (1 / Math.sqrt(0.75)) * (0.5 / Math.sqrt(0.5)))), 0, 1e-6);
  });
});

describe('Momentum', () => {
  const base = { alpha: 0.5, beta: 0.2, norm_coefficient: new F(0) };

  it('standard: the first step (t = 0) uses coefficient 1 for the gradient, later ones beta', () => {
    const [x0, v0] = optimize('Momentum', [r(0.1), t(0), vec(1), vec(2), vec(3)], { ...base, mode: 'standard' }, 2);
    expectClose(v0!, vec(3.5), 0, 1e-6);
    expectClose(x0!, vec(0.65), 0, 1e-6);
    const [x1, v1] = optimize('Momentum', [r(0.1), t(1), vec(1), vec(2), vec(3)], { ...base, mode: 'standard' }, 2);
    expectClose(v1!, vec(1.9), 0, 1e-6);
    expectClose(x1!, vec(0.81), 0, 1e-6);
  });

  it('nesterov: x_new = x - r·(g + alpha·v_new); norm_coefficient adds λ·x to the gradient', () => {
    const [x1] = optimize('Momentum', [r(0.1), t(1), vec(1), vec(2), vec(3)], { ...base, mode: 'nesterov' }, 2);
    expectClose(x1!, vec(0.705), 0, 1e-6);
    // λ = 0.5: g' = 2.5, v = 1.5 + 0.2·2.5 = 2, x = 1 - 0.1·(2.5 + 1) = 0.65.
    const [x2, v2] = optimize('Momentum', [r(0.1), t(1), vec(1), vec(2), vec(3)], { ...base, norm_coefficient: 0.5, mode: 'nesterov' }, 2);
    expectClose(v2!, vec(2), 0, 1e-6);
    expectClose(x2!, vec(0.65), 0, 1e-6);
  });

  it('requires alpha/beta/norm_coefficient, a known mode and matching shapes', () => {
    const inputs = [r(0.1), t(1), vec(1), vec(2), vec(3)];
    expect(() => optimize('Momentum', inputs, { alpha: 0.5, beta: 0.2, mode: 'standard' }, 2)).toThrow(/norm_coefficient/);
    expect(() => optimize('Momentum', inputs, { ...base, mode: 'heavy' }, 2)).toThrow(/mode/);
    expect(() => optimize('Momentum', [r(0.1), t(1), vec(1), vec(2, 3), vec(3)], { ...base, mode: 'standard' }, 2)).toThrow(/must match/);
  });
});
