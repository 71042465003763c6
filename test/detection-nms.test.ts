import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { GraphError } from '../src/errors.js';
import { runKernel, tensor } from './harness.js';

// Three unit boxes as [y1, x1, y2, x2]: box 1 overlaps box 0 with IoU 0.81/1.19 ≈ 0.68, box 2 is disjoint.
const boxes = tensor('float32', [1, 3, 4], [0, 0, 1, 1, 0.1, 0.1, 1.1, 1.1, 5, 5, 6, 6]);
const scores = tensor('float32', [1, 1, 3], [0.9, 0.95, 0.3]);
const f = (v: number) => tensor('float32', [1], [v]);
const i64 = (v: number) => tensor('int64', [1], [v]);

function selected(inputs: (TensorData | undefined)[], attrs = {}): number[][] {
  const [y] = runKernel('NonMaxSuppression', inputs, attrs, { opset: 11 });
  const flat = Array.from(y!.data as BigInt64Array, Number);
  return Array.from({ length: flat.length / 3 }, (_, i) => flat.slice(i * 3, i * 3 + 3));
}

describe('NonMaxSuppression', () => {
  it('keeps the best of overlapping boxes, in score order', () => {
    expect(selected([boxes, scores, i64(10), f(0.5)])).toEqual([[0, 0, 1], [0, 0, 2]]);
  });
  it('keeps both when the IoU is under the threshold', () => {
    expect(selected([boxes, scores, i64(10), f(0.7)])).toEqual([[0, 0, 1], [0, 0, 0], [0, 0, 2]]);
  });
  it('limits the boxes per class and drops scores at or under score_threshold', () => {
    expect(selected([boxes, scores, i64(1), f(0.5)])).toEqual([[0, 0, 1]]);
    expect(selected([boxes, scores, i64(10), f(0.7), f(0.3)])).toEqual([[0, 0, 1], [0, 0, 0]]);
  });
  it('selects nothing when max_output_boxes_per_class is absent (default 0)', () => {
    expect(selected([boxes, scores])).toEqual([]);
  });
  it('reads centre-format boxes and flipped corners alike', () => {
    const centre = tensor('float32', [1, 3, 4], [0.5, 0.5, 1, 1, 0.6, 0.6, 1, 1, 5.5, 5.5, 1, 1]);
    expect(selected([centre, scores, i64(10), f(0.5)], { center_point_box: 1 })).toEqual([[0, 0, 1], [0, 0, 2]]);
    const flipped = tensor('float32', [1, 3, 4], [1, 1, 0, 0, 0.1, 1.1, 1.1, 0.1, 6, 5, 5, 6]);
    expect(selected([flipped, scores, i64(10), f(0.5)])).toEqual([[0, 0, 1], [0, 0, 2]]);
  });
  it('runs each class on its own', () => {
    const two = tensor('float32', [1, 2, 3], [0.9, 0.95, 0.3, 0.1, 0.2, 0.8]);
    expect(selected([boxes, two, i64(1), f(0.5)])).toEqual([[0, 0, 1], [0, 1, 2]]);
  });
  it('rejects mismatched scores', () => {
    expect(() => selected([boxes, tensor('float32', [1, 1, 2], [1, 2]), i64(1)])).toThrow(GraphError);
  });
});
