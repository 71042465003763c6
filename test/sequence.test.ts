/**
 * Sequence and optional kernels one by one (test/harness.ts runKernel), against hand-checked values.
 * Sequences are { dtype: 'sequence', shape: [n], data: TensorData[] }, optionals { dtype: 'optional', shape: [0|1] }.
 */
import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { GraphError } from '../src/errors.js';
import { runKernel, tensor } from './harness.js';

const f32 = (shape: number[], values: number[]): TensorData => tensor('float32', shape, values);
const i64 = (shape: number[], values: number[]): TensorData => tensor('int64', shape, values);
const seq = (...elems: TensorData[]): TensorData => ({ dtype: 'sequence', shape: [elems.length], data: elems, elemType: elems[0]?.dtype });
const opt = (value?: TensorData): TensorData => ({ dtype: 'optional', shape: [value ? 1 : 0], data: value ? [value] : [], elemType: 'float32' });

/** [shape, values] of each element of a sequence output. */
function contents(t: TensorData): [number[], number[]][] {
  expect(t.dtype).toBe('sequence');
  const elems = t.data as TensorData[];
  expect(t.shape).toEqual([elems.length]);
  return elems.map((e) => [e.shape, Array.from(e.data as ArrayLike<number | bigint>, Number)]);
}

function values(t: TensorData): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

describe('SequenceEmpty / SequenceConstruct / SequenceLength', () => {
  it('SequenceEmpty makes an empty sequence of the dtype attribute (float32 by default)', () => {
    const [s] = runKernel('SequenceEmpty', [], { dtype: 7 });
    expect(s!.dtype).toBe('sequence');
    expect(s!.shape).toEqual([0]);
    expect(s!.elemType).toBe('int64');
    expect(runKernel('SequenceEmpty', [])[0]!.elemType).toBe('float32');
  });

  it('SequenceConstruct keeps the inputs in order, as copies', () => {
    const a = f32([2], [1, 2]);
    const [s] = runKernel('SequenceConstruct', [a, f32([1, 3], [3, 4, 5])]);
    expect(contents(s!)).toEqual([
      [[2], [1, 2]],
      [[1, 3], [3, 4, 5]],
    ]);
    expect((s!.data as TensorData[])[0]!.data).not.toBe(a.data);
  });

  it('SequenceConstruct rejects mixed dtypes', () => {
    expect(() => runKernel('SequenceConstruct', [f32([1], [1]), i64([1], [1])])).toThrow(GraphError);
  });

  it('SequenceLength is an int64 scalar', () => {
    const [n] = runKernel('SequenceLength', [seq(f32([1], [1]), f32([1], [2]), f32([1], [3]))]);
    expect(n!.dtype).toBe('int64');
    expect(n!.shape).toEqual([]);
    expect(values(n!)).toEqual([3]);
  });
});

describe('SequenceAt / SequenceInsert / SequenceErase', () => {
  const s3 = (): TensorData => seq(i64([1], [10]), i64([2], [20, 21]), i64([1], [30]));

  it('SequenceAt reads positions from the front and (negative) from the back', () => {
    expect(values(runKernel('SequenceAt', [s3(), i64([], [1])])[0]!)).toEqual([20, 21]);
    expect(values(runKernel('SequenceAt', [s3(), tensor('int32', [], [-1])])[0]!)).toEqual([30]);
    expect(values(runKernel('SequenceAt', [s3(), i64([], [-3])])[0]!)).toEqual([10]);
    expect(() => runKernel('SequenceAt', [s3(), i64([], [3])])).toThrow(/out of range/);
    expect(() => runKernel('SequenceAt', [s3(), i64([], [-4])])).toThrow(/out of range/);
  });

  it('SequenceInsert appends by default and inserts before a given position', () => {
    const t = i64([1], [99]);
    const back = runKernel('SequenceInsert', [s3(), t]);
    expect(contents(back[0]!).map(([, v]) => v)).toEqual([[10], [20, 21], [30], [99]]);
    const front = runKernel('SequenceInsert', [s3(), t, i64([], [0])]);
    expect(contents(front[0]!).map(([, v]) => v)).toEqual([[99], [10], [20, 21], [30]]);
    const beforeLast = runKernel('SequenceInsert', [s3(), t, i64([], [-1])]);
    expect(contents(beforeLast[0]!).map(([, v]) => v)).toEqual([[10], [20, 21], [99], [30]]);
    const atEnd = runKernel('SequenceInsert', [s3(), t, i64([], [3])]);
    expect(contents(atEnd[0]!).map(([, v]) => v)).toEqual([[10], [20, 21], [30], [99]]);
    expect(() => runKernel('SequenceInsert', [s3(), t, i64([], [4])])).toThrow(/out of range/);
  });

  it('SequenceInsert into an empty sequence takes the sequence dtype and rejects another', () => {
    const empty: TensorData = { dtype: 'sequence', shape: [0], data: [], elemType: 'float32' };
    expect(contents(runKernel('SequenceInsert', [empty, f32([1], [5])])[0]!)).toEqual([[[1], [5]]]);
    expect(() => runKernel('SequenceInsert', [empty, i64([1], [5])])).toThrow(GraphError);
  });

  it('SequenceErase removes the last element by default, or the given position', () => {
    expect(contents(runKernel('SequenceErase', [s3()])[0]!).map(([, v]) => v)).toEqual([[10], [20, 21]]);
    expect(contents(runKernel('SequenceErase', [s3(), i64([], [0])])[0]!).map(([, v]) => v)).toEqual([[20, 21], [30]]);
    expect(contents(runKernel('SequenceErase', [s3(), i64([], [-2])])[0]!).map(([, v]) => v)).toEqual([[10], [30]]);
    expect(() => runKernel('SequenceErase', [s3(), i64([], [3])])).toThrow(/out of range/);
  });
});

describe('SplitToSequence', () => {
  // x = [[0, 1, 2], [3, 4, 5]]
  const x = (): TensorData => f32([2, 3], [0, 1, 2, 3, 4, 5]);

  it('without split: slices of 1, keeping the axis (keepdims=1) or dropping it (keepdims=0)', () => {
    expect(contents(runKernel('SplitToSequence', [x()], { axis: 1 })[0]!)).toEqual([
      [[2, 1], [0, 3]],
      [[2, 1], [1, 4]],
      [[2, 1], [2, 5]],
    ]);
    expect(contents(runKernel('SplitToSequence', [x()], { axis: 0, keepdims: 0 })[0]!)).toEqual([
      [[3], [0, 1, 2]],
      [[3], [3, 4, 5]],
    ]);
  });

  it('a scalar split gives chunks of that size, the last one shorter', () => {
    expect(contents(runKernel('SplitToSequence', [x(), i64([], [2])], { axis: -1 })[0]!)).toEqual([
      [[2, 2], [0, 1, 3, 4]],
      [[2, 1], [2, 5]],
    ]);
  });

  it('a 1-D split gives those sizes (keepdims ignored) and must sum to the axis length', () => {
    expect(contents(runKernel('SplitToSequence', [x(), i64([2], [1, 2])], { axis: 1, keepdims: 0 })[0]!)).toEqual([
      [[2, 1], [0, 3]],
      [[2, 2], [1, 2, 4, 5]],
    ]);
    expect(() => runKernel('SplitToSequence', [x(), i64([2], [1, 1])], { axis: 1 })).toThrow(/sum to 2/);
  });

  it('copies any dtype element by element (int64, strings)', () => {
    const [a] = runKernel('SplitToSequence', [i64([4], [1, 2, 3, 4]), i64([], [3])]);
    expect(contents(a!)).toEqual([
      [[3], [1, 2, 3]],
      [[1], [4]],
    ]);
    const [s] = runKernel('SplitToSequence', [{ dtype: 'string', shape: [2], data: ['a', 'b'] }]);
    expect((s!.data as TensorData[]).map((e) => e.data)).toEqual([['a'], ['b']]);
  });
});

describe('ConcatFromSequence', () => {
  it('joins along an existing axis (new_axis=0)', () => {
    const s = seq(f32([1, 2], [1, 2]), f32([2, 2], [3, 4, 5, 6]));
    const [y] = runKernel('ConcatFromSequence', [s], { axis: 0 });
    expect(y!.shape).toEqual([3, 2]);
    expect(values(y!)).toEqual([1, 2, 3, 4, 5, 6]);
    // [[1],[2]] ++ [[3,4],[5,6]] on axis 1 -> [[1,3,4],[2,5,6]]
    const [z] = runKernel('ConcatFromSequence', [seq(f32([2, 1], [1, 2]), f32([2, 2], [3, 4, 5, 6]))], { axis: -1 });
    expect(z!.shape).toEqual([2, 3]);
    expect(values(z!)).toEqual([1, 3, 4, 2, 5, 6]);
  });

  it('stacks along a new axis (new_axis=1), which may be the last (axis = rank)', () => {
    const s = seq(f32([2], [1, 2]), f32([2], [3, 4]));
    const [y] = runKernel('ConcatFromSequence', [s], { axis: 0, new_axis: 1 });
    expect(y!.shape).toEqual([2, 2]);
    expect(values(y!)).toEqual([1, 2, 3, 4]);
    const [z] = runKernel('ConcatFromSequence', [s], { axis: 1, new_axis: 1 });
    expect(z!.shape).toEqual([2, 2]);
    expect(values(z!)).toEqual([1, 3, 2, 4]);
    const [w] = runKernel('ConcatFromSequence', [s], { axis: -1, new_axis: 1 });
    expect(values(w!)).toEqual([1, 3, 2, 4]);
  });

  it('rejects mismatched shapes, a bad axis and an empty sequence', () => {
    expect(() => runKernel('ConcatFromSequence', [seq(f32([1, 2], [1, 2]), f32([1, 3], [1, 2, 3]))], { axis: 0 })).toThrow(GraphError);
    expect(() => runKernel('ConcatFromSequence', [seq(f32([2], [1, 2]))], { axis: 1 })).toThrow(/out of range/);
    expect(() => runKernel('ConcatFromSequence', [{ dtype: 'sequence', shape: [0], data: [] }], { axis: 0 })).toThrow(/empty/);
  });
});

describe('Optional / OptionalHasElement / OptionalGetElement', () => {
  it('Optional wraps its input', () => {
    const [o] = runKernel('Optional', [f32([2], [1, 2])], {}, { opset: 15 });
    expect(o!.dtype).toBe('optional');
    expect(o!.shape).toEqual([1]);
    expect(values((o!.data as TensorData[])[0]!)).toEqual([1, 2]);
  });

  it('OptionalHasElement: empty -> false, holding a value -> true; opset 18 takes tensors and a missing input', () => {
    const has = (input: TensorData | undefined, opset: number): number => values(runKernel('OptionalHasElement', [input], {}, { opset })[0]!)[0]!;
    expect(has(opt(), 15)).toBe(0);
    expect(has(opt(f32([1], [3])), 15)).toBe(1);
    expect(has(f32([1], [3]), 18)).toBe(1);
    expect(has(undefined, 18)).toBe(0);
    expect(() => has(f32([1], [3]), 15)).toThrow(GraphError);
    const [out] = runKernel('OptionalHasElement', [opt()], {}, { opset: 15 });
    expect(out!.dtype).toBe('bool');
    expect(out!.shape).toEqual([]);
  });

  it('OptionalGetElement returns the held value and fails on an empty optional; opset 18 passes tensors through', () => {
    expect(values(runKernel('OptionalGetElement', [opt(f32([2], [4, 5]))], {}, { opset: 15 })[0]!)).toEqual([4, 5]);
    expect(() => runKernel('OptionalGetElement', [opt()], {}, { opset: 15 })).toThrow(/empty/);
    expect(values(runKernel('OptionalGetElement', [f32([1], [7])], {}, { opset: 18 })[0]!)).toEqual([7]);
    expect(() => runKernel('OptionalGetElement', [f32([1], [7])], {}, { opset: 15 })).toThrow(GraphError);
    const inner = seq(f32([1], [1]));
    expect(contents(runKernel('OptionalGetElement', [{ dtype: 'optional', shape: [1], data: [inner] }], {}, { opset: 15 })[0]!)).toEqual([[[1], [1]]]);
  });
});
