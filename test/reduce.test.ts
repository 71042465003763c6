import { describe, expect, it } from 'vitest';
import { sizeOf, type TensorData } from '../src/dtype.js';
import { GraphError, UnsupportedError } from '../src/errors.js';
import { expectClose, randomTensor, runKernel, tensor } from './harness.js';

/** Multi-index of flat offset i in `shape`. */
function unravel(i: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

function ravel(idx: number[], shape: number[]): number {
  let off = 0;
  for (let d = 0; d < shape.length; d++) off = off * shape[d]! + idx[d]!;
  return off;
}

/** Naive reference: groups every element by its output index, then folds the group. */
function naiveReduce(x: TensorData, axes: number[], keepdims: boolean, fold: (vals: number[]) => number): TensorData {
  const rank = x.shape.length;
  const red = axes.length === 0 ? x.shape.map((_, i) => i) : axes.map((a) => (a < 0 ? a + rank : a));
  const keptShape = x.shape.map((d, i) => (red.includes(i) ? 1 : d));
  const groups: number[][] = Array.from({ length: sizeOf(keptShape) }, () => []);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape).map((v, d) => (red.includes(d) ? 0 : v));
    groups[ravel(idx, keptShape)]!.push(Number(x.data[i]));
  }
  const shape = keepdims ? keptShape : x.shape.filter((_, i) => !red.includes(i));
  return tensor('float32', shape, groups.map(fold));
}

const sum = (v: number[]): number => v.reduce((a, b) => a + b, 0);
const FOLDS: Record<string, (v: number[]) => number> = {
  ReduceSum: sum,
  ReduceMean: (v) => sum(v) / v.length,
  ReduceMax: (v) => Math.max(...v),
  ReduceMin: (v) => Math.min(...v),
  ReduceProd: (v) => v.reduce((a, b) => a * b, 1),
  ReduceL1: (v) => sum(v.map(Math.abs)),
  ReduceL2: (v) => Math.sqrt(sum(v.map((a) => a * a))),
  ReduceLogSum: (v) => Math.log(sum(v)),
  ReduceLogSumExp: (v) => Math.log(sum(v.map(Math.exp))),
  ReduceSumSquare: (v) => sum(v.map((a) => a * a)),
};

describe('Reduce*', () => {
  const x = randomTensor([2, 3, 4, 5], 7, 0.1, 2);
  const cases: [number[], number][] = [
    [[1], 1],
    [[3], 0],
    [[-1], 1],
    [[0, 2], 0],
    [[-3, -1], 1],
    [[], 1],
    [[], 0],
  ];
  for (const [op, fold] of Object.entries(FOLDS)) {
    for (const [axes, keepdims] of cases) {
      it(`${op} axes=[${axes}] keepdims=${keepdims} (opset 13 attribute form)`, () => {
        const attrs = axes.length ? { axes, keepdims } : { keepdims };
        const axesInput = op === 'ReduceSum' ? [axes.length ? tensor('int64', [axes.length], axes) : undefined] : [];
        const [y] = runKernel(op, [x, ...axesInput], op === 'ReduceSum' ? { keepdims } : attrs, { opset: 13, constant: [1] });
        expectClose(y!, naiveReduce(x, axes, keepdims === 1, fold), 1e-5, 1e-5);
      });
    }
  }

  it('treats kept size-1 axes between reduced ones as one block', () => {
    const t = randomTensor([2, 3, 1, 4, 2], 12);
    for (const fold of ['ReduceMax', 'ReduceSum', 'ReduceL2']) {
      const [y] = runKernel(fold, [t], { axes: [1, 3], keepdims: 1 }, { opset: 11 });
      expectClose(y!, naiveReduce(t, [1, 3], true, FOLDS[fold]!), 1e-5, 1e-6);
    }
  });

  it('reads axes from an input at opset 18', () => {
    const [y] = runKernel('ReduceMean', [x, tensor('int64', [2], [-1, 1])], { keepdims: 0 }, { opset: 18, constant: [1] });
    expectClose(y!, naiveReduce(x, [-1, 1], false, FOLDS.ReduceMean!), 1e-5, 1e-6);
  });

  it('reads axes from the attribute before opset 13 for ReduceSum', () => {
    const [y] = runKernel('ReduceSum', [x], { axes: [0], keepdims: 0 }, { opset: 11 });
    expectClose(y!, naiveReduce(x, [0], false, sum), 1e-5, 1e-5);
  });

  it('is the identity with empty axes and noop_with_empty_axes', () => {
    const [y] = runKernel('ReduceSum', [x, tensor('int64', [0], [])], { noop_with_empty_axes: 1 }, { opset: 13, constant: [1] });
    expectClose(y!, x);
  });

  it('reduces all axes with an empty axes input and noop 0', () => {
    const [y] = runKernel('ReduceSum', [x, tensor('int64', [0], [])], { keepdims: 0 }, { opset: 13, constant: [1] });
    expect(y!.shape).toEqual([]);
    expectClose(y!, naiveReduce(x, [], false, sum), 1e-5, 1e-4);
  });

  it('gives the identity of the operation over a zero-size axis', () => {
    const e = tensor('float32', [2, 0, 3], []);
    const exp: Record<string, number> = { ReduceSum: 0, ReduceProd: 1, ReduceMax: -Infinity, ReduceMin: Infinity, ReduceLogSum: -Infinity, ReduceSumSquare: 0 };
    for (const [op, v] of Object.entries(exp)) {
      const [y] = runKernel(op, [e], { axes: [1], keepdims: 0 }, { opset: 11 });
      expect(y!.shape).toEqual([2, 3]);
      expect(Array.from(y!.data as Float32Array)).toEqual(new Array(6).fill(v));
    }
  });

  it('is exact on int64 and int32', () => {
    const big = tensor('int64', [2, 2], [2n ** 60n, 1n, 3n, -4n] as unknown as number[]);
    const [s] = runKernel('ReduceSum', [big, tensor('int64', [1], [1])], { keepdims: 0 }, { opset: 13, constant: [1] });
    expect(Array.from(s!.data as BigInt64Array)).toEqual([2n ** 60n + 1n, -1n]);
    const [m] = runKernel('ReduceMax', [tensor('int32', [3], [-5, 9, 2])], { keepdims: 1 }, { opset: 13 });
    expect(m!.dtype).toBe('int32');
    expect(Array.from(m!.data as Int32Array)).toEqual([9]);
  });

  it('truncates ReduceMean on int32 over a leading axis (row-accumulating path)', () => {
    const [y] = runKernel('ReduceMean', [tensor('int32', [2, 2], [1, 2, 4, 7])], { axes: [0], keepdims: 0 }, { opset: 13 });
    expect(Array.from(y!.data as Int32Array)).toEqual([2, 4]);
  });

  it('computes ReduceLogSumExp stably for large inputs', () => {
    const [y] = runKernel('ReduceLogSumExp', [tensor('float32', [2], [1000, 1000])], { keepdims: 0 }, { opset: 13 });
    expect((y!.data as Float32Array)[0]).toBeCloseTo(1000 + Math.LN2, 3);
  });

  it('rejects an out-of-range axis and string input', () => {
    expect(() => runKernel('ReduceMean', [x], { axes: [4] }, { opset: 13 })).toThrow(GraphError);
    expect(() => runKernel('ReduceMax', [{ dtype: 'string', shape: [1], data: ['a'] }], {}, { opset: 13 })).toThrow(UnsupportedError);
  });
});

describe('ArgMax / ArgMin', () => {
  const x = tensor('float32', [2, 3], [1, 5, 5, 7, 0, 7]);
  it('returns the first extreme index along axis 1 as int64', () => {
    const [y] = runKernel('ArgMax', [x], { axis: 1, keepdims: 1 });
    expect(y!.dtype).toBe('int64');
    expect(y!.shape).toEqual([2, 1]);
    expect(Array.from(y!.data as BigInt64Array)).toEqual([1n, 0n]);
  });
  it('returns the last extreme index with select_last_index', () => {
    const [y] = runKernel('ArgMax', [x], { axis: -1, keepdims: 0, select_last_index: 1 });
    expect(y!.shape).toEqual([2]);
    expect(Array.from(y!.data as BigInt64Array)).toEqual([2n, 2n]);
  });
  it('ArgMin over the default axis 0', () => {
    const [y] = runKernel('ArgMin', [x], {});
    expect(y!.shape).toEqual([1, 3]);
    expect(Array.from(y!.data as BigInt64Array)).toEqual([0n, 1n, 0n]);
  });
});

function naiveSoftmax(row: number[], kind: string): number[] {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = sum(e);
  if (kind === 'Softmax') return e.map((v) => v / s);
  if (kind === 'LogSoftmax') return row.map((v) => v - m - Math.log(s));
  const first = row.indexOf(m);
  return row.map((_, i) => (i === first ? 1 : 0));
}

describe('Softmax / LogSoftmax / Hardmax', () => {
  const x = randomTensor([2, 3, 4], 3, -5, 5);
  /** Applies naiveSoftmax along axis `axis` of a [2,3,4] tensor. */
  function alongAxis(kind: string, axis: number): TensorData {
    const out = new Float32Array(24);
    const shape = x.shape;
    for (let i = 0; i < 24; i++) {
      const idx = unravel(i, shape);
      if (idx[axis] !== 0) continue;
      const offs = Array.from({ length: shape[axis]! }, (_, k) => ravel(idx.map((v, d) => (d === axis ? k : v)), shape));
      const res = naiveSoftmax(offs.map((o) => x.data[o] as number), kind);
      offs.forEach((o, k) => (out[o] = res[k]!));
    }
    return { dtype: 'float32', shape, data: out };
  }
  for (const kind of ['Softmax', 'LogSoftmax', 'Hardmax']) {
    for (const axis of [0, 1, 2, -1]) {
      it(`${kind} opset 13 along axis ${axis}`, () => {
        const [y] = runKernel(kind, [x], { axis }, { opset: 13 });
        expectClose(y!, alongAxis(kind, axis < 0 ? axis + 3 : axis), 1e-5, 1e-6);
      });
    }
    it(`${kind} opset 11 coerces to 2-D at axis 1 (default)`, () => {
      const [y] = runKernel(kind, [x], {}, { opset: 11 });
      const rows = [0, 1].flatMap((r) => naiveSoftmax(Array.from(x.data as Float32Array).slice(r * 12, r * 12 + 12), kind));
      expectClose(y!, tensor('float32', [2, 3, 4], rows), 1e-5, 1e-6);
    });
  }
  it('stays finite for large inputs', () => {
    const [y] = runKernel('Softmax', [tensor('float32', [3], [1000, 1001, 1002])], {}, { opset: 13 });
    expectClose(y!, tensor('float32', [3], naiveSoftmax([0, 1, 2], 'Softmax')), 1e-5, 1e-7);
  });
  it('rejects integer input', () => {
    expect(() => runKernel('Softmax', [tensor('int32', [2], [1, 2])], {}, { opset: 13 })).toThrow(UnsupportedError);
  });
});

describe('TopK', () => {
  const x = tensor('float32', [2, 4], [3, 1, 3, 2, 0, -1, 5, 5]);
  it('returns the k largest, ties by lower index', () => {
    const [v, i] = runKernel('TopK', [x, tensor('int64', [1], [3])], {}, { opset: 11, outputs: 2, constant: [1] });
    expect(v!.shape).toEqual([2, 3]);
    expect(Array.from(v!.data as Float32Array)).toEqual([3, 3, 2, 5, 5, 0]);
    expect(Array.from(i!.data as BigInt64Array)).toEqual([0n, 2n, 3n, 2n, 3n, 0n]);
  });
  it('returns the k smallest along axis 0', () => {
    const [v, i] = runKernel('TopK', [x, tensor('int64', [1], [1])], { axis: 0, largest: 0 }, { opset: 11, outputs: 2, constant: [1] });
    expect(Array.from(v!.data as Float32Array)).toEqual([0, -1, 3, 2]);
    expect(Array.from(i!.data as BigInt64Array)).toEqual([1n, 1n, 0n, 0n]);
  });
  it('reads k from the attribute at opset 1', () => {
    const [v] = runKernel('TopK', [x], { k: 1 }, { opset: 1, outputs: 2 });
    expect(Array.from(v!.data as Float32Array)).toEqual([3, 5]);
  });
  for (const k of [3, 40]) {
    it(`matches a full sort with repeated values (k=${k}, ${k * 4 <= 100 ? 'heap selection' : 'full sort'} path)`, () => {
      const n = 100;
      const vals = Array.from({ length: 3 * n }, (_, i) => ((i * 37) % 23) - 11);
      const xt = tensor('float32', [3, n], vals);
      const [v, idx] = runKernel('TopK', [xt, tensor('int64', [1], [k])], { axis: 1 }, { opset: 11, outputs: 2, constant: [1] });
      for (let r = 0; r < 3; r++) {
        const row = vals.slice(r * n, r * n + n);
        const expIdx = row.map((_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b).slice(0, k);
        expect(Array.from(idx!.data as BigInt64Array).slice(r * k, r * k + k)).toEqual(expIdx.map(BigInt));
        expect(Array.from(v!.data as Float32Array).slice(r * k, r * k + k)).toEqual(expIdx.map((i) => row[i]));
      }
    });
  }
  it('rejects k larger than the axis', () => {
    expect(() => runKernel('TopK', [x, tensor('int64', [1], [5])], {}, { opset: 11, outputs: 2, constant: [1] })).toThrow(GraphError);
  });
});

describe('CumSum', () => {
  const x = tensor('float32', [2, 3], [1, 2, 3, 4, 5, 6]);
  const cases: [number, number, number, number[]][] = [
    [1, 0, 0, [1, 3, 6, 4, 9, 15]],
    [1, 1, 0, [0, 1, 3, 0, 4, 9]],
    [1, 0, 1, [6, 5, 3, 15, 11, 6]],
    [1, 1, 1, [5, 3, 0, 11, 6, 0]],
    [0, 0, 0, [1, 2, 3, 5, 7, 9]],
    [-2, 0, 1, [5, 7, 9, 4, 5, 6]],
  ];
  for (const [axis, exclusive, reverse, exp] of cases) {
    it(`axis ${axis} exclusive=${exclusive} reverse=${reverse}`, () => {
      const [y] = runKernel('CumSum', [x, tensor('int32', [], [axis])], { exclusive, reverse });
      expect(Array.from(y!.data as Float32Array)).toEqual(exp);
    });
  }
  it('sums int64 exactly', () => {
    const [y] = runKernel('CumSum', [tensor('int64', [2], [2n ** 60n, 1n] as unknown as number[]), tensor('int64', [], [0])]);
    expect(Array.from(y!.data as BigInt64Array)).toEqual([2n ** 60n, 2n ** 60n + 1n]);
  });
});

/** Naive einsum: enumerates every label assignment. */
function naiveEinsum(eq: string, xs: TensorData[]): TensorData {
  const [lhs, rhs] = eq.split('->') as [string, string];
  const terms = lhs.split(',');
  const size = new Map<string, number>();
  terms.forEach((t, k) => [...t].forEach((c, d) => size.set(c, xs[k]!.shape[d]!)));
  const labels = [...size.keys()];
  const outShape = [...rhs].map((c) => size.get(c)!);
  const out = new Float64Array(sizeOf(outShape));
  const dims = labels.map((l) => size.get(l)!);
  for (let i = 0; i < sizeOf(dims); i++) {
    const idx = unravel(i, dims);
    const val = (c: string): number => idx[labels.indexOf(c)]!;
    let p = 1;
    terms.forEach((t, k) => (p *= Number(xs[k]!.data[ravel([...t].map(val), xs[k]!.shape)])));
    out[ravel([...rhs].map(val), outShape)]! += p;
  }
  return tensor('float32', outShape, out);
}

describe('Einsum', () => {
  const eqs: [string, number[][]][] = [
    ['bij,bjk->bik', [[2, 3, 4], [2, 4, 5]]],
    ['bhid,bhjd->bhij', [[1, 2, 3, 4], [1, 2, 5, 4]]],
    ['ij->ji', [[3, 4]]],
    ['ij->', [[3, 4]]],
    ['ii->i', [[4, 4]]],
    ['i,j->ij', [[3], [4]]],
    ['ij,ij->i', [[3, 4], [3, 4]]],
    ['ijk->ki', [[2, 3, 4]]],
    ['bij,bkj->bki', [[2, 3, 4], [2, 5, 4]]],
    ['ij,jk,kl->il', [[2, 3], [3, 4], [4, 2]]],
    ['bii->bi', [[2, 3, 3]]],
    ['bji,bjk->bik', [[2, 4, 3], [2, 4, 5]]],
    ['ik,jk->ji', [[3, 4], [5, 4]]],
    ['bij,jk->bik', [[2, 3, 4], [4, 5]]],
    ['i,i->', [[7], [7]]],
  ];
  for (const [eq, shapes] of eqs) {
    it(eq, () => {
      const xs = shapes.map((s, k) => randomTensor(s, 11 + k));
      const [y] = runKernel('Einsum', xs, { equation: eq }, { opset: 12 });
      expectClose(y!, naiveEinsum(eq, xs), 1e-5, 1e-5);
    });
  }
  it('supports the implicit output and ellipsis', () => {
    const a = randomTensor([2, 3, 4], 1);
    const b = randomTensor([2, 4, 5], 2);
    const [y] = runKernel('Einsum', [a, b], { equation: '...ij,...jk' }, { opset: 12 });
    expectClose(y!, naiveEinsum('zij,zjk->zik', [a, b]), 1e-5, 1e-5);
  });
  it('works on int64', () => {
    const a = tensor('int64', [2, 2], [1, 2, 3, 4]);
    const [y] = runKernel('Einsum', [a, a], { equation: 'ij,jk->ik' }, { opset: 12 });
    expect(Array.from(y!.data as BigInt64Array)).toEqual([7n, 10n, 15n, 22n]);
  });
  it('rejects a label count that does not match the rank', () => {
    expect(() => runKernel('Einsum', [randomTensor([2, 3])], { equation: 'ijk->i' }, { opset: 12 })).toThrow(GraphError);
  });
});
