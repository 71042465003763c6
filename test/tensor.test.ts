import { describe, expect, it } from 'vitest';
import { sizeOf, type DType, type TensorData } from '../src/dtype.js';
import { GraphError, InputError } from '../src/errors.js';
import { runKernel, tensor, rng, type RunKernelOptions, type AttrValue } from './harness.js';

// ---- naive references -------------------------------------------------------------------------

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = i % shape[k]!;
    i = Math.floor(i / shape[k]!);
  }
  return idx;
}

function ravel(idx: readonly number[], shape: readonly number[]): number {
  let o = 0;
  for (let k = 0; k < shape.length; k++) o = o * shape[k]! + idx[k]!;
  return o;
}

/** out[p] = x[f(p)] for every output position, or `fill` when f returns null. */
function naiveMap(x: TensorData, outShape: number[], f: (p: number[]) => number[] | null, fill: unknown = 0): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < sizeOf(outShape); i++) {
    const q = f(unravel(i, outShape));
    out.push(q === null ? fill : x.data[ravel(q, x.shape)]);
  }
  return out;
}

function values(t: TensorData): unknown[] {
  return Array.from(t.data as ArrayLike<unknown>);
}

function seq(dtype: DType, shape: number[], offset = 0): TensorData {
  const n = sizeOf(shape);
  if (dtype === 'string') return { dtype, shape, data: Array.from({ length: n }, (_, i) => `s${i + offset}`) };
  return tensor(dtype, shape, Array.from({ length: n }, (_, i) => (dtype === 'bool' ? (i + offset) % 2 : i + offset)));
}

const i64 = (shape: number[], v: number[]) => tensor('int64', shape, v);
const i32 = (shape: number[], v: number[]) => tensor('int32', shape, v);
const f32 = (shape: number[], v: number[]) => tensor('float32', shape, v);

function run1(op: string, inputs: (TensorData | undefined)[], attrs: Record<string, AttrValue> = {}, opts: RunKernelOptions = {}): TensorData {
  return runKernel(op, inputs, attrs, { constant: [1, 2, 3, 4], ...opts })[0]!;
}

function expectTensor(got: TensorData, shape: number[], vals: unknown[]): void {
  expect(got.shape).toEqual(shape);
  expect(values(got)).toEqual(vals);
}

const ALL_DTYPES: DType[] = ['float32', 'float16', 'float64', 'int8', 'uint8', 'int16', 'int32', 'uint32', 'int64', 'bool', 'string'];

// ---- Reshape family ---------------------------------------------------------------------------

describe('Reshape / Flatten / Squeeze / Unsqueeze / Identity', () => {
  it('Reshape copies 0 dims and infers -1, aliasing the input', () => {
    const x = seq('float32', [2, 3, 4]);
    const y = run1('Reshape', [x, i64([3], [0, -1, 2])]);
    expect(y.shape).toEqual([2, 6, 2]);
    expect(y.data).toBe(x.data);
  });
  it('Reshape with allowzero=1 keeps a literal 0 dim', () => {
    const y = run1('Reshape', [seq('float32', [0, 3]), i64([2], [3, 0])], { allowzero: 1 });
    expect(y.shape).toEqual([3, 0]);
  });
  it('Reshape opset 1 reads the shape attribute', () => {
    expect(run1('Reshape', [seq('int64', [6])], { shape: [3, -1] }, { opset: 1 }).shape).toEqual([3, 2]);
  });
  it('Reshape rejects a size mismatch and two -1', () => {
    expect(() => run1('Reshape', [seq('float32', [6]), i64([1], [4])])).toThrow(GraphError);
    expect(() => run1('Reshape', [seq('float32', [6]), i64([2], [-1, -1])])).toThrow(/more than one -1/);
  });
  it('Flatten handles axis 0, default and negative axes', () => {
    const x = seq('float32', [2, 3, 4, 5]);
    expect(run1('Flatten', [x], { axis: 0 }).shape).toEqual([1, 120]);
    expect(run1('Flatten', [x]).shape).toEqual([2, 60]);
    expect(run1('Flatten', [x], { axis: -1 }).shape).toEqual([24, 5]);
    expect(run1('Flatten', [x], { axis: 4 }).shape).toEqual([120, 1]);
  });
  it('Squeeze: attribute form (<13), input form (≥13), no axes, negative axes', () => {
    const x = seq('float32', [1, 3, 1, 2]);
    expect(run1('Squeeze', [x], { axes: [0] }, { opset: 11 }).shape).toEqual([3, 1, 2]);
    expect(run1('Squeeze', [x, i64([1], [-2])], {}, { opset: 13 }).shape).toEqual([1, 3, 2]);
    expect(run1('Squeeze', [x], {}, { opset: 13 }).shape).toEqual([3, 2]);
    expect(() => run1('Squeeze', [x, i64([1], [1])], {}, { opset: 13 })).toThrow(/cannot squeeze axis 1/);
  });
  it('Unsqueeze: attribute and input forms, unsorted and negative axes', () => {
    const x = seq('float32', [3, 4]);
    expect(run1('Unsqueeze', [x], { axes: [0, 3] }, { opset: 11 }).shape).toEqual([1, 3, 4, 1]);
    expect(run1('Unsqueeze', [x, i64([2], [3, 0])], {}, { opset: 13 }).shape).toEqual([1, 3, 4, 1]);
    expect(run1('Unsqueeze', [x, i64([1], [-1])], {}, { opset: 13 }).shape).toEqual([3, 4, 1]);
  });
  it('Identity aliases every dtype', () => {
    for (const dt of ALL_DTYPES) {
      const x = seq(dt, [2, 2]);
      expect(run1('Identity', [x]).data).toBe(x.data);
    }
  });
});

// ---- Transpose ---------------------------------------------------------------------------------

function naiveTranspose(x: TensorData, perm: number[]): unknown[] {
  const outShape = perm.map((p) => x.shape[p]!);
  return naiveMap(x, outShape, (p) => {
    const q = new Array<number>(perm.length);
    perm.forEach((a, k) => (q[a] = p[k]!));
    return q;
  });
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

describe('Transpose', () => {
  it('matches the naive reference for every 4-D permutation on odd shapes', () => {
    const x = seq('float32', [2, 3, 5, 7]);
    for (const perm of permutations(4)) {
      const y = run1('Transpose', [x], { perm });
      expectTensor(y, perm.map((p) => x.shape[p]!), naiveTranspose(x, perm));
    }
  });
  it('handles large 2-D (tiled path), size-1 dims, 5-D shuffles and the default reversal', () => {
    const cases: [number[], number[] | undefined][] = [
      [[67, 45], [1, 0]],
      [[1, 40, 1, 33], [0, 3, 1, 2]],
      [[2, 2, 3, 4, 5], [0, 2, 1, 3, 4]],
      [[3, 4, 5], undefined],
      [[2, 0, 3], [2, 0, 1]],
    ];
    for (const [shape, perm] of cases) {
      const x = seq('float32', shape);
      const p = perm ?? shape.map((_, i) => shape.length - 1 - i);
      const y = run1('Transpose', [x], perm ? { perm } : {});
      expectTensor(y, p.map((a) => shape[a]!), naiveTranspose(x, p));
    }
  });
  it('moves elements of every dtype, including int64 and strings', () => {
    for (const dt of ALL_DTYPES) {
      const x = seq(dt, [2, 3, 4]);
      expectTensor(run1('Transpose', [x], { perm: [2, 0, 1] }), [4, 2, 3], naiveTranspose(x, [2, 0, 1]));
    }
  });
  it('rejects a bad perm', () => {
    expect(() => run1('Transpose', [seq('float32', [2, 3])], { perm: [0, 0] })).toThrow(GraphError);
  });
});

// ---- Concat / Split ----------------------------------------------------------------------------

describe('Concat / Split', () => {
  it('concatenates along a negative axis, skipping 0-size inputs', () => {
    const a = f32([2, 2], [1, 2, 3, 4]);
    const b = f32([2, 0], []);
    const c = f32([2, 1], [5, 6]);
    expectTensor(run1('Concat', [a, b, c], { axis: -1 }), [2, 3], [1, 2, 5, 3, 4, 6]);
  });
  it('concatenates every dtype with large blocks (TypedArray.set path)', () => {
    for (const dt of ALL_DTYPES) {
      const a = seq(dt, [2, 20]);
      const b = seq(dt, [3, 20], 100);
      const y = run1('Concat', [a, b], { axis: 0 });
      expectTensor(y, [5, 20], [...values(a), ...values(b)]);
    }
  });
  it('rejects mismatched shapes', () => {
    expect(() => run1('Concat', [f32([2, 2], [1, 2, 3, 4]), f32([3, 1], [1, 2, 3])], { axis: 1 })).toThrow(/does not match/);
  });
  it('splits equally by output count, by attribute (<13) and by input (≥13)', () => {
    const x = seq('int64', [2, 6]);
    const eq = runKernel('Split', [x], { axis: 1 }, { outputs: 3 });
    expectTensor(eq[1]!, [2, 2], [2n, 3n, 8n, 9n]);
    const byAttr = runKernel('Split', [x], { axis: -1, split: [1, 5] }, { outputs: 2, opset: 11 });
    expectTensor(byAttr[0]!, [2, 1], [0n, 6n]);
    const byInput = runKernel('Split', [x, i64([2], [4, 2])], { axis: 1 }, { outputs: 2, opset: 13, constant: [1] });
    expectTensor(byInput[1]!, [2, 2], [4n, 5n, 10n, 11n]);
  });
  it('opset 18 num_outputs gives an uneven last chunk; zero-size splits work', () => {
    const out = runKernel('Split', [seq('float32', [7])], { num_outputs: 3 }, { outputs: 3, opset: 18 });
    expect(out.map((t) => t.shape[0])).toEqual([3, 3, 1]);
    expectTensor(out[2]!, [1], [6]);
    const z = runKernel('Split', [seq('float32', [3]), i64([2], [3, 0])], {}, { outputs: 2, opset: 13, constant: [1] });
    expect(z[1]!.shape).toEqual([0]);
  });
  it('rejects a split that does not sum to the axis', () => {
    expect(() => runKernel('Split', [seq('float32', [4])], { split: [1, 2] }, { outputs: 2, opset: 11 })).toThrow(GraphError);
  });
});

// ---- Slice -------------------------------------------------------------------------------------

function naiveSlice(x: TensorData, starts: number[], ends: number[], axes: number[], steps: number[]): { shape: number[]; vals: unknown[] } {
  // Enumerate the selected indices per axis directly from the spec's loop semantics.
  const picks = x.shape.map((d) => Array.from({ length: d }, (_, i) => i));
  axes.forEach((a0, i) => {
    const a = a0 < 0 ? a0 + x.shape.length : a0;
    const d = x.shape[a]!;
    const st = steps[i]!;
    let s = starts[i]! < 0 ? starts[i]! + d : starts[i]!;
    let e = ends[i]! < 0 ? ends[i]! + d : ends[i]!;
    const lo = st > 0 ? 0 : -1;
    const hi = st > 0 ? d : d - 1;
    s = Math.min(Math.max(s, st > 0 ? 0 : 0), st > 0 ? d : d - 1);
    e = Math.min(Math.max(e, lo), hi);
    const list: number[] = [];
    for (let j = s; st > 0 ? j < e : j > e; j += st) list.push(j);
    picks[a] = list;
  });
  const shape = picks.map((p) => p.length);
  return { shape, vals: naiveMap(x, shape, (p) => p.map((v, k) => picks[k]![v]!)) };
}

describe('Slice', () => {
  const x = seq('float32', [5, 6, 4]);
  const cases: [number[], number[], number[], number[]][] = [
    [[1, 0], [3, 10], [0, 1], [1, 2]],
    [[-1], [-1000], [1], [-2]],
    [[4, 3], [0, -9e18], [0, 2], [-1, -1]],
    [[0], [9.2e18], [-1], [3]],
    [[10], [20], [0], [1]],
    [[-20], [3], [2], [1]],
  ];
  it('matches the naive reference with negative steps, clamping and INT64 sentinels', () => {
    for (const [s, e, a, st] of cases) {
      const ref = naiveSlice(x, s, e, a, st);
      const y = run1('Slice', [x, i64([s.length], s), i64([e.length], e), i64([a.length], a), i64([st.length], st)]);
      expectTensor(y, ref.shape, ref.vals);
    }
  });
  it('defaults axes and steps; opset 1 uses attributes', () => {
    const y = run1('Slice', [x, i32([2], [1, 2]), i32([2], [3, 4])]);
    expect(y.shape).toEqual([2, 2, 4]);
    const z = run1('Slice', [x], { starts: [1], ends: [2], axes: [2] }, { opset: 1 });
    expectTensor(z, [5, 6, 1], naiveSlice(x, [1], [2], [2], [1]).vals);
  });
  it('copies long contiguous rows (block-copy path) correctly', () => {
    const w = seq('int64', [4, 40]);
    const ref = naiveSlice(w, [1, 3], [4, 37], [0, 1], [2, 1]);
    expectTensor(run1('Slice', [w, i64([2], [1, 3]), i64([2], [4, 37]), i64([2], [0, 1]), i64([2], [2, 1])]), ref.shape, ref.vals);
  });
  it('slices strings and int64', () => {
    const s = seq('string', [4]);
    expectTensor(run1('Slice', [s, i64([1], [3]), i64([1], [0]), i64([1], [0]), i64([1], [-1])]), [3], ['s3', 's2', 's1']);
  });
  it('rejects step 0', () => {
    expect(() => run1('Slice', [x, i64([1], [0]), i64([1], [1]), i64([1], [0]), i64([1], [0])])).toThrow(/steps/);
  });
});

// ---- Gather family -----------------------------------------------------------------------------

describe('Gather / GatherElements / GatherND', () => {
  it('Gather along axis 1 with negative int32 indices of rank 2', () => {
    const x = seq('float32', [2, 4, 3]);
    const idx = i32([2, 2], [0, -1, 2, 1]);
    const y = run1('Gather', [x, idx], { axis: 1 }, { constant: [] });
    const ref = naiveMap(x, [2, 2, 2, 3], (p) => {
      const v = [0, -1, 2, 1][p[1]! * 2 + p[2]!]!;
      return [p[0]!, v < 0 ? v + 4 : v, p[3]!];
    });
    expectTensor(y, [2, 2, 2, 3], ref);
  });
  it('Gather with scalar indices drops the axis; works on strings', () => {
    const x = seq('string', [3, 2]);
    expectTensor(run1('Gather', [x, i64([], [2])], {}, { constant: [] }), [2], ['s4', 's5']);
  });
  it('Gather throws InputError for out-of-range runtime indices', () => {
    expect(() => run1('Gather', [seq('float32', [3]), i64([1], [3])], {}, { constant: [] })).toThrow(InputError);
  });
  it('Gather rejects out-of-range constant indices at prepare with a GraphError', () => {
    expect(() => run1('Gather', [seq('float32', [3]), i64([1], [-4])], {}, { constant: [1] })).toThrow(GraphError);
  });
  it('GatherElements follows the spec example (axis 1, negative index)', () => {
    const y = run1('GatherElements', [f32([2, 2], [1, 2, 3, 4]), i64([2, 2], [0, 0, -1, 0])], { axis: 1 }, { constant: [] });
    expectTensor(y, [2, 2], [1, 1, 4, 3]);
  });
  it('GatherElements with smaller indices than data on axis 0', () => {
    const x = f32([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const y = run1('GatherElements', [x, i32([2, 3], [1, 2, 0, 2, 0, 0])], { axis: 0 }, { constant: [] });
    expectTensor(y, [2, 3], [4, 8, 3, 7, 2, 3]);
  });
  it('GatherND spec examples, including batch_dims=1', () => {
    const d = i32([2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
    expectTensor(run1('GatherND', [d, i64([2, 2], [0, 1, 1, 0])], {}, { constant: [] }), [2, 2], [2, 3, 4, 5]);
    expectTensor(run1('GatherND', [d, i64([2, 1, 2], [0, 1, 1, 0])], {}, { constant: [] }), [2, 1, 2], [2, 3, 4, 5]);
    expectTensor(run1('GatherND', [d, i64([2, 1], [1, 0])], { batch_dims: 1 }, { constant: [] }), [2, 2], [2, 3, 4, 5]);
    expectTensor(run1('GatherND', [d, i64([2, 3], [0, 0, 1, 1, 0, 1])], {}, { constant: [] }), [2], [1, 5]);
  });
});

// ---- Scatter family ----------------------------------------------------------------------------

describe('ScatterElements / Scatter / ScatterND', () => {
  it('ScatterElements spec example with axis 1 and negative index', () => {
    const y = run1('ScatterElements', [f32([1, 5], [1, 2, 3, 4, 5]), i64([1, 2], [1, -2]), f32([1, 2], [1.1, 2.1])], { axis: 1 }, { constant: [] });
    expectTensor(y, [1, 5], values(f32([5], [1, 1.1, 3, 2.1, 5])));
  });
  it('ScatterElements reductions add/mul/max/min with duplicate indices', () => {
    const data = f32([1, 5], [1, 2, 3, 4, 5]);
    const idx = i64([1, 2], [1, 1]);
    const upd = f32([1, 2], [1.5, 3]);
    const want: Record<string, number> = { add: 6.5, mul: 9, max: 3, min: 1.5 };
    for (const [reduction, v] of Object.entries(want)) {
      const y = run1('ScatterElements', [data, idx, upd], { axis: 1, reduction }, { constant: [], opset: 18 });
      expect(values(y)).toEqual([1, v, 3, 4, 5]);
    }
  });
  it('Scatter (opset 9) equals ScatterElements on int64 data', () => {
    const y = run1('Scatter', [seq('int64', [3, 3]), i64([2, 3], [1, 0, 2, 0, 2, 1]), i64([2, 3], [10, 11, 12, 20, 21, 22])], {}, { opset: 9, constant: [] });
    expectTensor(y, [3, 3], [20n, 11n, 2n, 10n, 4n, 22n, 6n, 21n, 12n]);
  });
  it('ScatterND spec examples: element updates and slice updates, with add', () => {
    const y = run1('ScatterND', [seq('float32', [8], 1), i64([4, 1], [4, 3, 1, 7]), f32([4], [9, 10, 11, 12])], {}, { constant: [] });
    expectTensor(y, [8], [1, 11, 3, 10, 9, 6, 7, 12]);
    const z = run1('ScatterND', [f32([2, 2], [1, 1, 1, 1]), i64([2, 1], [1, 1]), f32([2, 2], [1, 2, 3, 4])], { reduction: 'add' }, { constant: [], opset: 16 });
    expectTensor(z, [2, 2], [1, 1, 5, 7]);
  });
  it('ScatterND rejects mis-shaped updates', () => {
    expect(() => run1('ScatterND', [seq('float32', [8]), i64([2, 1], [0, 1]), f32([3], [1, 2, 3])], {}, { constant: [] })).toThrow(GraphError);
  });
});

// ---- Expand / Tile -----------------------------------------------------------------------------

describe('Expand / Tile', () => {
  it('Expand broadcasts against the naive reference, with the shape of lower rank or with 1s', () => {
    const x = seq('float32', [3, 1]);
    const y = run1('Expand', [x, i64([3], [2, 1, 6])]);
    expectTensor(y, [2, 3, 6], naiveMap(x, [2, 3, 6], (p) => [p[1]!, 0]));
    expectTensor(run1('Expand', [x, i64([1], [4])]), [3, 4], naiveMap(x, [3, 4], (p) => [p[0]!, 0]));
  });
  it('Expand works for strings and int64, and rejects incompatible shapes', () => {
    const s = seq('string', [1, 2]);
    expectTensor(run1('Expand', [s, i64([2], [2, 2])]), [2, 2], ['s0', 's1', 's0', 's1']);
    expect(() => run1('Expand', [seq('int64', [3]), i64([1], [2])])).toThrow(/broadcast/);
  });
  it('Tile matches the naive reference', () => {
    const x = seq('int64', [2, 3, 2]);
    const y = run1('Tile', [x, i64([3], [2, 1, 3])]);
    expectTensor(y, [4, 3, 6], naiveMap(x, [4, 3, 6], (p) => [p[0]! % 2, p[1]!, p[2]! % 2]));
    expect(run1('Tile', [x, i64([3], [1, 0, 1])]).shape).toEqual([2, 0, 2]);
  });
});

// ---- Pad ---------------------------------------------------------------------------------------

function naivePadIndex(mode: string, i: number, n: number): number | null {
  if (i >= 0 && i < n) return i;
  if (mode === 'constant') return null;
  if (mode === 'edge') return i < 0 ? 0 : n - 1;
  if (mode === 'wrap') return ((i % n) + n) % n;
  // reflect by repeated folding
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

describe('Pad', () => {
  const x = seq('float32', [3, 4], 1);
  for (const mode of ['constant', 'reflect', 'edge', 'wrap']) {
    it(`mode ${mode} matches the naive reference, including negative pads`, () => {
      for (const pads of [
        [1, 2, 2, 1],
        [0, -1, 1, 2],
        [2, 3, 0, 0],
      ]) {
        const out = [3 + pads[0]! + pads[2]!, 4 + pads[1]! + pads[3]!];
        const y = run1('Pad', [x, i64([4], pads), f32([], [7.5])], { mode }, { opset: 19 });
        const ref = naiveMap(x, out, (p) => {
          const a = naivePadIndex(mode, p[0]! - pads[0]!, 3);
          const b = naivePadIndex(mode, p[1]! - pads[1]!, 4);
          return a === null || b === null ? null : [a, b];
        }, 7.5);
        expectTensor(y, out, ref);
      }
    });
  }
  it('opset 2 reads pads/value attributes; opset 18 axes input pads only the listed axes', () => {
    const y = run1('Pad', [f32([2], [1, 2])], { pads: [1, 2], value: 9.5 }, { opset: 2 });
    expectTensor(y, [5], [9.5, 1, 2, 9.5, 9.5]);
    const z = run1('Pad', [seq('int64', [2, 2]), i64([2], [1, 0]), undefined, i64([1], [-1])], {}, { opset: 18 });
    expectTensor(z, [2, 3], [0n, 0n, 1n, 0n, 2n, 3n]);
  });
});

describe('CenterCropPad', () => {
  it('crops and pads centred on the listed axes', () => {
    const x = seq('float32', [3, 5], 1);
    // rows: 3 -> 5 pads 1 before, 1 after; cols: 5 -> 2 crops from floor(3/2) = 1.
    const y = run1('CenterCropPad', [x, i64([2], [5, 2])], {}, { opset: 18 });
    expectTensor(y, [5, 2], [0, 0, 2, 3, 7, 8, 12, 13, 0, 0]);
    const z = run1('CenterCropPad', [seq('int64', [2, 4]), i64([1], [2])], { axes: [-1] }, { opset: 18 });
    expectTensor(z, [2, 2], [1n, 2n, 5n, 6n]);
  });
});

// ---- Shape / Size / Constant / ConstantOfShape / Range / EyeLike -------------------------------

describe('Shape / Size / Constant / ConstantOfShape / Range / EyeLike', () => {
  it('Shape with start/end clamping (opset 15) and Size', () => {
    const x = seq('float32', [2, 3, 4]);
    expectTensor(run1('Shape', [x]), [3], [2n, 3n, 4n]);
    expectTensor(run1('Shape', [x], { start: -2 }, { opset: 15 }), [2], [3n, 4n]);
    expectTensor(run1('Shape', [x], { start: 1, end: 10 }, { opset: 15 }), [2], [3n, 4n]);
    expectTensor(run1('Shape', [x], { start: 2, end: 1 }, { opset: 15 }), [0], []);
    const s = run1('Size', [x]);
    expect(s.dtype).toBe('int64');
    expectTensor(s, [], [24n]);
  });
  it('Constant from each attribute form', () => {
    expectTensor(run1('Constant', [], { value: f32([2], [1, 2]) }), [2], [1, 2]);
    expectTensor(run1('Constant', [], { value_float: 1.5 }), [], [1.5]);
    expectTensor(run1('Constant', [], { value_ints: [1, 2] }), [2], [1n, 2n]);
    expectTensor(run1('Constant', [], { value_int: 3 }), [], [3n]);
    expectTensor(run1('Constant', [], { value_strings: ['a', 'b'] }), [2], ['a', 'b']);
    expectTensor(run1('Constant', [], { value_string: 'z' }), [], ['z']);
  });
  it('ConstantOfShape defaults to float 0, takes the value dtype, allows 0 dims', () => {
    const a = run1('ConstantOfShape', [i64([2], [2, 3])], {}, { constant: [0] });
    expect(a.dtype).toBe('float32');
    expectTensor(a, [2, 3], [0, 0, 0, 0, 0, 0]);
    const b = run1('ConstantOfShape', [i64([1], [2])], { value: i64([1], [7]) }, { constant: [0] });
    expectTensor(b, [2], [7n, 7n]);
    expect(run1('ConstantOfShape', [i64([1], [0])], { value: i32([1], [1]) }, { constant: [0] }).shape).toEqual([0]);
  });
  it('Range for float, int32 negative delta and int64', () => {
    expectTensor(run1('Range', [f32([], [3]), f32([], [9]), f32([], [3])], {}, { constant: [0, 1, 2] }), [2], [3, 6]);
    expectTensor(run1('Range', [i32([], [10]), i32([], [6]), i32([], [-3])], {}, { constant: [0, 1, 2] }), [2], [10, 7]);
    expectTensor(run1('Range', [i64([], [0]), i64([], [3]), i64([], [1])], {}, { constant: [0, 1, 2] }), [3], [0n, 1n, 2n]);
    expect(run1('Range', [f32([], [5]), f32([], [1]), f32([], [1])], {}, { constant: [0, 1, 2] }).shape).toEqual([0]);
  });
  it('EyeLike with k offsets and dtype override', () => {
    expectTensor(run1('EyeLike', [seq('float32', [3, 4])], { k: 1 }), [3, 4], [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const y = run1('EyeLike', [seq('float32', [2, 2])], { k: -1, dtype: 7 });
    expect(y.dtype).toBe('int64');
    expect(values(y)).toEqual([0n, 0n, 1n, 0n]);
  });
});

// ---- DepthToSpace / SpaceToDepth ---------------------------------------------------------------

describe('DepthToSpace / SpaceToDepth', () => {
  // Spec: DCR out[n, c, h*b + i, w*b + j] = x[n, (i*b + j)*C' + c, h, w]; CRD: x[n, c*b*b + i*b + j, h, w].
  const x = seq('float32', [1, 8, 2, 3]);
  const ref = (mode: string) =>
    naiveMap(x, [1, 2, 4, 6], ([n, c, hh, ww]) => {
      const [h, i, w, j] = [Math.floor(hh! / 2), hh! % 2, Math.floor(ww! / 2), ww! % 2];
      return [n!, mode === 'DCR' ? (i * 2 + j) * 2 + c! : c! * 4 + i * 2 + j, h, w];
    });
  it('DCR and CRD match the spec formulas', () => {
    expectTensor(run1('DepthToSpace', [x], { blocksize: 2 }), [1, 2, 4, 6], ref('DCR'));
    expectTensor(run1('DepthToSpace', [x], { blocksize: 2, mode: 'CRD' }), [1, 2, 4, 6], ref('CRD'));
  });
  it('SpaceToDepth inverts DepthToSpace DCR', () => {
    const d = run1('DepthToSpace', [x], { blocksize: 2 });
    expectTensor(run1('SpaceToDepth', [d], { blocksize: 2 }), [1, 8, 2, 3], values(x));
  });
  it('rejects channels not divisible by blocksize²', () => {
    expect(() => run1('DepthToSpace', [seq('float32', [1, 6, 2, 2])], { blocksize: 2 })).toThrow(GraphError);
  });
});

// ---- OneHot / NonZero / Trilu / Compress / ReverseSequence / Unique ---------------------------

describe('OneHot / NonZero / Trilu / Compress / ReverseSequence / Unique', () => {
  it('OneHot with negative and out-of-range indices, on axis 0 and the default axis', () => {
    const idx = i64([3], [0, -1, 5]);
    const vals = f32([2], [2, 9]);
    expectTensor(run1('OneHot', [idx, f32([], [3]), vals], {}, { constant: [1] }), [3, 3], [9, 2, 2, 2, 2, 9, 2, 2, 2]);
    expectTensor(run1('OneHot', [idx, i64([1], [3]), vals], { axis: 0 }, { constant: [1] }), [3, 3], [9, 2, 2, 2, 2, 2, 2, 9, 2]);
  });
  it('NonZero gives int64 coordinates in row-major order', () => {
    const y = run1('NonZero', [tensor('bool', [2, 2], [1, 0, 1, 1])], {}, { allConstant: true });
    expectTensor(y, [2, 3], [0n, 1n, 1n, 0n, 0n, 1n]);
  });
  it('Trilu upper/lower with k, batched, int64', () => {
    const x = seq('int64', [2, 3, 3], 1);
    const up = run1('Trilu', [x, i64([], [1])]);
    expect(values(up).slice(0, 9)).toEqual([0n, 2n, 3n, 0n, 0n, 6n, 0n, 0n, 0n]);
    const lo = run1('Trilu', [seq('float32', [3, 2], 1)], { upper: 0 });
    expectTensor(lo, [3, 2], [1, 0, 3, 4, 5, 6]);
    const loNeg = run1('Trilu', [seq('float32', [3, 2], 1), i64([], [-1])], { upper: 0 });
    expectTensor(loNeg, [3, 2], [0, 0, 3, 0, 5, 6]);
  });
  it('Compress along an axis, flattened, and with a short condition', () => {
    const x = f32([3, 2], [1, 2, 3, 4, 5, 6]);
    expectTensor(run1('Compress', [x, tensor('bool', [3], [0, 1, 1])], { axis: 0 }), [2, 2], [3, 4, 5, 6]);
    expectTensor(run1('Compress', [x, tensor('bool', [2], [0, 1])], { axis: -1 }), [3, 1], [2, 4, 6]);
    expectTensor(run1('Compress', [x, tensor('bool', [5], [0, 1, 0, 0, 1])]), [2], [2, 5]);
  });
  it('ReverseSequence with time axis 0 and batch axis 0', () => {
    const x = seq('float32', [4, 4]);
    const y = run1('ReverseSequence', [x, i64([4], [4, 3, 2, 1])], { time_axis: 0, batch_axis: 1 }, { constant: [] });
    expectTensor(y, [4, 4], [12, 9, 6, 3, 8, 5, 2, 7, 4, 1, 10, 11, 0, 13, 14, 15]);
    const z = run1('ReverseSequence', [x, i64([4], [1, 2, 3, 4])], { time_axis: 1, batch_axis: 0 }, { constant: [] });
    expectTensor(z, [4, 4], [0, 1, 2, 3, 5, 4, 6, 7, 10, 9, 8, 11, 15, 14, 13, 12]);
    expect(() => run1('ReverseSequence', [x, i64([4], [5, 1, 1, 1])], {}, { constant: [] })).toThrow(InputError);
  });
  it('Unique: spec examples sorted/unsorted and along an axis', () => {
    const x = f32([6], [2, 1, 1, 3, 4, 3]);
    const out = runKernel('Unique', [x], { sorted: 0 }, { outputs: 4, allConstant: true });
    expect(values(out[0]!)).toEqual([2, 1, 3, 4]);
    expect(values(out[1]!)).toEqual([0n, 1n, 3n, 4n]);
    expect(values(out[2]!)).toEqual([0n, 1n, 1n, 2n, 3n, 2n]);
    expect(values(out[3]!)).toEqual([1n, 2n, 2n, 1n]);
    const s = runKernel('Unique', [x], {}, { outputs: 4, allConstant: true });
    expect(values(s[0]!)).toEqual([1, 2, 3, 4]);
    expect(values(s[2]!)).toEqual([1n, 0n, 0n, 2n, 3n, 2n]);
    const m = runKernel('Unique', [f32([3, 3], [1, 0, 0, 1, 0, 0, 2, 3, 4])], { axis: 0 }, { outputs: 4, allConstant: true });
    expectTensor(m[0]!, [2, 3], [1, 0, 0, 2, 3, 4]);
    expect(values(m[3]!)).toEqual([2n, 1n]);
  });
});

// ---- randomized cross-checks -------------------------------------------------------------------

describe('randomized', () => {
  it('Gather on random shapes and axes matches the naive reference', () => {
    const r = rng(7);
    for (let t = 0; t < 20; t++) {
      const shape = [1 + Math.floor(r() * 3), 1 + Math.floor(r() * 4), 1 + Math.floor(r() * 3)];
      const axis = Math.floor(r() * 3) - (r() < 0.5 ? 3 : 0);
      const a = axis < 0 ? axis + 3 : axis;
      const d = shape[a]!;
      const idxVals = [0, 1, 2].map(() => Math.floor(r() * 2 * d) - d);
      const x = seq('float64', shape);
      const y = run1('Gather', [x, i64([3], idxVals)], { axis }, { constant: [] });
      const outShape = shape.slice();
      outShape[a] = 3;
      const ref = naiveMap(x, outShape, (p) => {
        const q = p.slice();
        const v = idxVals[p[a]!]!;
        q[a] = v < 0 ? v + d : v;
        return q;
      });
      expectTensor(y, outShape, ref);
    }
  });
});

