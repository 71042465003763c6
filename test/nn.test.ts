import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { GraphError, UnsupportedError } from '../src/errors.js';
import { F, expectClose, randomTensor, runKernel, tensor } from './harness.js';

const values = (t: TensorData): number[] => Array.from(t.data as ArrayLike<number | bigint>, Number);

// ---------- naive references, written for clarity ----------

interface Pool2d { kh: number; kw: number; sh?: number; sw?: number; dh?: number; dw?: number; pads?: number[]; ceil?: boolean }

/** Output size per the ONNX pooling formula (ceil_mode drops a last window that starts in the end pad). */
function poolOut(n: number, k: number, s: number, d: number, pb: number, pe: number, ceil: boolean): number {
  const span = (n + pb + pe - ((k - 1) * d + 1)) / s;
  let out = (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
  if (ceil && (out - 1) * s >= n + pb) out--;
  return out;
}

function naivePool2d(x: TensorData, o: Pool2d, kind: 'max' | 'avg' | 'avgpad' | 'lp2'): TensorData {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [sh, sw, dh, dw] = [o.sh ?? 1, o.sw ?? 1, o.dh ?? 1, o.dw ?? 1];
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const OH = poolOut(H, o.kh, sh, dh, pt, pb, !!o.ceil);
  const OW = poolOut(W, o.kw, sw, dw, pl, pr, !!o.ceil);
  const out: number[] = [];
  const xv = x.data as Float32Array;
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const vals: number[] = [];
        let padded = 0;
        for (let a = 0; a < o.kh; a++) {
          for (let b = 0; b < o.kw; b++) {
            const ih = oh * sh - pt + a * dh;
            const iw = ow * sw - pl + b * dw;
            if (ih < H + pb && iw < W + pr) padded++;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) vals.push(xv[(nc * H + ih) * W + iw]!);
          }
        }
        const sum = vals.reduce((s, v) => s + v, 0);
        if (kind === 'max') out.push(Math.max(...vals));
        else if (kind === 'avg') out.push(sum / vals.length);
        else if (kind === 'avgpad') out.push(sum / padded);
        else out.push(Math.sqrt(vals.reduce((s, v) => s + v * v, 0)));
      }
    }
  }
  return tensor('float32', [N, C, OH, OW], out);
}

/** Y = alpha · op(A) · op(B) + beta · C with explicit broadcasting of C. */
function naiveGemm(a: TensorData, b: TensorData, c: TensorData | undefined, tA: boolean, tB: boolean, alpha: number, beta: number): TensorData {
  const [M, K] = tA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const N = tB ? b.shape[0]! : b.shape[1]!;
  const A = (i: number, k: number): number => Number(tA ? a.data[k * M + i] : a.data[i * K + k]);
  const B = (k: number, j: number): number => Number(tB ? b.data[j * K + k] : b.data[k * N + j]);
  const Cv = (i: number, j: number): number => {
    if (!c) return 0;
    const cs = c.shape.length === 1 ? [1, c.shape[0]!] : c.shape.length === 0 ? [1, 1] : c.shape;
    return Number(c.data[(cs[0] === 1 ? 0 : i) * cs[1]! + (cs[1] === 1 ? 0 : j)]);
  };
  const out: number[] = [];
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A(i, k) * B(k, j);
      out.push(alpha * s + beta * Cv(i, j));
    }
  }
  return tensor(a.dtype, [M, N], out);
}

/** numpy.matmul for A [..., M, K] and B [..., K, N] (batch dims broadcast), by explicit index arithmetic. */
function naiveMatMul(a: TensorData, b: TensorData): number[] {
  const [M, K] = a.shape.slice(-2) as [number, number];
  const N = b.shape[b.shape.length - 1]!;
  const ab = a.shape.slice(0, -2);
  const bb = b.shape.slice(0, -2);
  const r = Math.max(ab.length, bb.length);
  const pa = [...Array(r - ab.length).fill(1), ...ab];
  const pb = [...Array(r - bb.length).fill(1), ...bb];
  const ob = pa.map((d, i) => Math.max(d, pb[i]!));
  const count = ob.reduce((x, y) => x * y, 1);
  const out: number[] = [];
  for (let t = 0; t < count; t++) {
    let rem = t;
    const idx = ob.map(() => 0);
    for (let d = r - 1; d >= 0; d--) {
      idx[d] = rem % ob[d]!;
      rem = Math.floor(rem / ob[d]!);
    }
    const off = (shape: number[]): number => idx.reduce((o, v, d) => o * shape[d]! + (shape[d] === 1 ? 0 : v), 0);
    const ao = off(pa) * M * K;
    const bo = off(pb) * K * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += Number(a.data[ao + i * K + k]) * Number(b.data[bo + k * N + j]);
        out.push(s);
      }
    }
  }
  return out;
}

// ---------- pooling ----------

describe('MaxPool / AveragePool / LpPool vs naive 2-D pooling', () => {
  const CASES: Pool2d[] = [
    { kh: 2, kw: 2, sh: 2, sw: 2 },
    { kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1] },
    { kh: 3, kw: 2, sh: 2, sw: 3, pads: [1, 0, 2, 1], ceil: true },
    { kh: 2, kw: 3, dh: 2, dw: 1, pads: [0, 1, 1, 0] },
    { kh: 3, kw: 3, sh: 3, sw: 3, pads: [1, 1, 1, 1], ceil: true },
    { kh: 1, kw: 1 },
  ];
  CASES.forEach((o, i) => {
    const x = randomTensor([2, 3, 7, 8], 100 + i);
    const attrs = {
      kernel_shape: [o.kh, o.kw], strides: [o.sh ?? 1, o.sw ?? 1], pads: o.pads ?? [0, 0, 0, 0], ceil_mode: o.ceil ? 1 : 0,
      ...(o.dh !== undefined ? { dilations: [o.dh, o.dw ?? 1] } : {}),
    };
    it(`MaxPool ${JSON.stringify(o)}`, () => {
      expectClose(runKernel('MaxPool', [x], attrs)[0]!, naivePool2d(x, o, 'max'), 0, 0);
    });
    it(`AveragePool ${JSON.stringify(o)}`, () => {
      expectClose(runKernel('AveragePool', [x], attrs, { opset: 19 })[0]!, naivePool2d(x, o, 'avg'), 1e-5, 1e-6);
      expectClose(runKernel('AveragePool', [x], { ...attrs, count_include_pad: 1 }, { opset: 19 })[0]!, naivePool2d(x, o, 'avgpad'), 1e-5, 1e-6);
    });
    it(`LpPool p=2 ${JSON.stringify(o)}`, () => {
      expectClose(runKernel('LpPool', [x], { ...attrs, p: 2 }, { opset: 18 })[0]!, naivePool2d(x, o, 'lp2'), 1e-5, 1e-6);
    });
  });

  it('MaxPool 3x3 stride 2 on wider planes (the shared-column interior path) matches the naive pool', () => {
    for (const [o, seed] of [[{ kh: 3, kw: 3, sh: 2, sw: 2 }, 1], [{ kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 0, 1], ceil: true }, 2]] as [Pool2d, number][]) {
      const x = randomTensor([1, 2, 17, 23], 300 + seed);
      const attrs = { kernel_shape: [3, 3], strides: [2, 2], pads: o.pads ?? [0, 0, 0, 0], ceil_mode: o.ceil ? 1 : 0 };
      expectClose(runKernel('MaxPool', [x], attrs)[0]!, naivePool2d(x, o, 'max'), 0, 0);
    }
  });

  it('hand-checked: 1-D max and average with ceil_mode', () => {
    const x = tensor('float32', [1, 1, 5], [1, 5, 2, 4, 3]);
    const mx = runKernel('MaxPool', [x], { kernel_shape: [2], strides: [2], ceil_mode: 1 })[0]!;
    expect(values(mx)).toEqual([5, 4, 3]);
    const avg = runKernel('AveragePool', [x], { kernel_shape: [2], strides: [2], ceil_mode: 1 })[0]!;
    expect(values(avg)).toEqual([3, 3, 3]);
  });

  it('SAME_UPPER pads at the end; SAME_LOWER at the begin', () => {
    const x = tensor('float32', [1, 1, 4], [1, 2, 3, 4]);
    expect(values(runKernel('AveragePool', [x], { kernel_shape: [2], auto_pad: 'SAME_UPPER' })[0]!)).toEqual([1.5, 2.5, 3.5, 4]);
    expect(values(runKernel('AveragePool', [x], { kernel_shape: [2], auto_pad: 'SAME_LOWER' })[0]!)).toEqual([1, 1.5, 2.5, 3.5]);
  });

  it('MaxPool Indices are flat input indices, row- or column-major', () => {
    // 2x3 plane [[1, 6, 2], [5, 3, 4]] (second plane = first + 10), kernel 2x2, stride 1: maxima 6 @ (0,1), 6 @ (0,1).
    const x = tensor('float32', [1, 2, 2, 3], [1, 6, 2, 5, 3, 4, 11, 16, 12, 15, 13, 14]);
    const [y, idx] = runKernel('MaxPool', [x], { kernel_shape: [2, 2] }, { outputs: 2 });
    expect(values(y!)).toEqual([6, 6, 16, 16]);
    expect(idx!.dtype).toBe('int64');
    expect(values(idx!)).toEqual([1, 1, 7, 7]);
    const [, col] = runKernel('MaxPool', [x], { kernel_shape: [2, 2], storage_order: 1 }, { outputs: 2 });
    expect(values(col!)).toEqual([2, 2, 8, 8]); // (h=0, w=1) -> h + w·H = 2
  });

  it('MaxPool keeps int8/uint8, 3-D pools work', () => {
    const x = tensor('uint8', [1, 1, 2, 2], [3, 250, 7, 1]);
    const y = runKernel('MaxPool', [x], { kernel_shape: [2, 2] }, { opset: 12 })[0]!;
    expect(y.dtype).toBe('uint8');
    expect(values(y)).toEqual([250]);
    const x3 = tensor('float32', [1, 1, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(values(runKernel('AveragePool', [x3], { kernel_shape: [2, 2, 2] })[0]!)).toEqual([4.5]);
  });

  it('global pools reduce every spatial dim to 1', () => {
    const x = tensor('float32', [1, 2, 2, 2], [1, 2, 3, -4, 0, 0, 3, 4]);
    const avg = runKernel('GlobalAveragePool', [x])[0]!;
    expect(avg.shape).toEqual([1, 2, 1, 1]);
    expect(values(avg)).toEqual([0.5, 1.75]);
    expect(values(runKernel('GlobalMaxPool', [x])[0]!)).toEqual([3, 4]);
    expectClose(runKernel('GlobalLpPool', [x], { p: 2 })[0]!, tensor('float32', [1, 2, 1, 1], [Math.sqrt(30), 5]), 1e-6, 0);
  });

  it('MaxUnpool scatters by index into zeros', () => {
    const x = tensor('float32', [1, 1, 1, 2], [5, 7]);
    const i = tensor('int64', [1, 1, 1, 2], [1, 6]);
    const y = runKernel('MaxUnpool', [x, i], { kernel_shape: [2, 2], strides: [2, 2] })[0]!;
    expect(y.shape).toEqual([1, 1, 2, 4]);
    expect(values(y)).toEqual([0, 5, 0, 0, 0, 0, 7, 0]);
    const big = runKernel('MaxUnpool', [x, i, tensor('int64', [4], [1, 1, 3, 4])], { kernel_shape: [2, 2], strides: [2, 2] })[0]!;
    expect(big.shape).toEqual([1, 1, 3, 4]);
  });

  it('rejects float pools on ints and wrong attribute lengths', () => {
    expect(() => runKernel('AveragePool', [tensor('int32', [1, 1, 2], [1, 2])], { kernel_shape: [2] })).toThrow(UnsupportedError);
    expect(() => runKernel('MaxPool', [randomTensor([1, 1, 4, 4])], { kernel_shape: [2] })).toThrow(GraphError);
    expect(() => runKernel('MaxPool', [randomTensor([1, 1, 4, 4])], {})).toThrow(/kernel_shape/);
  });
});

// ---------- Gemm / MatMul ----------

describe('Gemm vs a naive triple loop', () => {
  const CASES: [number[], number[], number[] | undefined, number, number][] = [
    [[3, 5], [5, 4], [3, 4], 0, 0],
    [[5, 3], [5, 4], [4], 1, 0],
    [[3, 5], [4, 5], [3, 1], 0, 1],
    [[5, 3], [4, 5], [], 1, 1],
    [[1, 7], [7, 13], undefined, 0, 0],
    [[13, 1], [1, 2], [1, 2], 0, 0],
  ];
  CASES.forEach(([as, bs, cs, tA, tB], i) => {
    it(`A [${as}] B [${bs}] C [${cs ?? '-'}] transA ${tA} transB ${tB}`, () => {
      const a = randomTensor(as, 200 + i);
      const b = randomTensor(bs, 300 + i);
      const c = cs ? randomTensor(cs, 400 + i) : undefined;
      const attrs = { transA: tA, transB: tB, alpha: 0.5, beta: new F(2) };
      const got = runKernel('Gemm', c ? [a, b, c] : [a, b], attrs)[0]!;
      expectClose(got, naiveGemm(a, b, c, !!tA, !!tB, 0.5, 2), 1e-5, 1e-6);
    });
  });
  it('float64 uses the float64 path', () => {
    const a = tensor('float64', [2, 2], [1, 2, 3, 4]);
    const b = tensor('float64', [2, 2], [5, 6, 7, 8]);
    const y = runKernel('Gemm', [a, b, tensor('float64', [1], [0.5])])[0]!;
    expect(y.dtype).toBe('float64');
    expect(values(y)).toEqual([19.5, 22.5, 43.5, 50.5]);
  });
  it('rejects mismatched inner dims and non-broadcastable C', () => {
    expect(() => runKernel('Gemm', [randomTensor([2, 3]), randomTensor([4, 2])])).toThrow(GraphError);
    expect(() => runKernel('Gemm', [randomTensor([2, 3]), randomTensor([3, 2]), randomTensor([3])])).toThrow(/broadcast/);
  });
});

describe('MatMul vs numpy semantics', () => {
  const CASES: [number[], number[]][] = [
    [[3, 4], [4, 5]],
    [[2, 3, 4], [4, 5]],
    [[2, 3, 4], [2, 4, 5]],
    [[2, 1, 3, 4], [3, 4, 5]],
    [[1, 3, 4], [2, 1, 4, 1]],
    [[4, 1, 13], [13, 1]],
  ];
  CASES.forEach(([as, bs], i) => {
    it(`[${as}] x [${bs}]`, () => {
      const a = randomTensor(as, 500 + i);
      const b = randomTensor(bs, 600 + i);
      const got = runKernel('MatMul', [a, b])[0]!;
      const exp = naiveMatMul(a, b);
      const batch = got.shape.slice(0, -2);
      expect(got.shape).toEqual([...batch, as[as.length - 2]!, bs[bs.length - 1]!]);
      expectClose(got, tensor('float32', got.shape, exp), 1e-5, 1e-6);
    });
  });
  it('1-D operands drop their dim', () => {
    const v = tensor('float32', [3], [1, 2, 3]);
    const m = tensor('float32', [3, 2], [1, 0, 0, 1, 1, 1]);
    const vm = runKernel('MatMul', [v, m])[0]!;
    expect(vm.shape).toEqual([2]);
    expect(values(vm)).toEqual([4, 5]);
    const mv = runKernel('MatMul', [tensor('float32', [2, 3], [1, 0, 0, 1, 1, 1]), v])[0]!;
    expect(mv.shape).toEqual([2]);
    expect(values(mv)).toEqual([1, 6]);
    const dot = runKernel('MatMul', [v, v])[0]!;
    expect(dot.shape).toEqual([]);
    expect(values(dot)).toEqual([14]);
  });
  it('int32 wraps like C, int64 is exact, uint64 reads unsigned', () => {
    const i32 = runKernel('MatMul', [tensor('int32', [1, 2], [65536, 3]), tensor('int32', [2, 1], [65536, -4])])[0]!;
    expect(i32.dtype).toBe('int32');
    expect(values(i32)).toEqual([-12]); // 2^32 wraps to 0, plus 3·(−4)
    const big = 2n ** 40n;
    const i64 = runKernel('MatMul', [tensor('int64', [2, 2], [big, 1n, 2n, 3n]), tensor('int64', [2, 1], [3n, 5n])])[0]!;
    expect(i64.dtype).toBe('int64');
    expect(Array.from(i64.data as BigInt64Array)).toEqual([3n * big + 5n, 21n]);
    const u64 = runKernel('MatMul', [tensor('uint64', [1, 1], [2n ** 63n]), tensor('uint64', [1, 1], [1n])])[0]!;
    expect(Array.from(u64.data as BigUint64Array)).toEqual([2n ** 63n]);
    expect(() => runKernel('MatMul', [tensor('int8', [1, 1], [1]), tensor('int8', [1, 1], [1])])).toThrow(UnsupportedError);
  });
  it('float64 and bad shapes', () => {
    const y = runKernel('MatMul', [tensor('float64', [1, 2], [1, 2]), tensor('float64', [2, 1], [3, 4])])[0]!;
    expect(y.dtype).toBe('float64');
    expect(values(y)).toEqual([11]);
    expect(() => runKernel('MatMul', [randomTensor([2, 3]), randomTensor([2, 3])])).toThrow(GraphError);
    expect(() => runKernel('MatMul', [randomTensor([2, 2, 3]), randomTensor([3, 3, 2])])).toThrow(/broadcast/);
  });
});

// ---------- normalization ----------

/** Mean and biased variance of `xs`. */
function moments(xs: number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [m, xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length];
}

describe('normalization', () => {
  it('BatchNormalization (inference) is scale·(x−mean)/sqrt(var+eps)+B per channel', () => {
    const x = tensor('float32', [1, 2, 2], [1, 2, 3, 4]);
    const p = (a: number[]) => tensor('float32', [2], a);
    const y = runKernel('BatchNormalization', [x, p([1, 2]), p([0, 1]), p([1, 3]), p([4, 1])], { epsilon: new F(0) })[0]!;
    expectClose(y, tensor('float32', [1, 2, 2], [0, 0.5, 1, 3]), 1e-6, 1e-7);
  });

  it('BatchNormalization training mode uses batch stats and updates running stats', () => {
    const x = tensor('float32', [2, 1, 2], [1, 2, 3, 6]); // mean 3, var (4+1+0+9)/4 = 3.5
    const one = (v: number) => tensor('float32', [1], [v]);
    const [y, rm, rv] = runKernel('BatchNormalization', [x, one(1), one(0), one(1), one(1)], { epsilon: new F(0), momentum: 0.5, training_mode: 1 }, { opset: 15, outputs: 3 });
    const s = Math.sqrt(3.5);
    expectClose(y!, tensor('float32', [2, 1, 2], [-2 / s, -1 / s, 0, 3 / s]), 1e-6, 1e-6);
    expect(values(rm!)).toEqual([2]);
    expect(values(rv!)).toEqual([2.25]);
  });

  it('InstanceNormalization normalises each (n, c) plane', () => {
    const x = randomTensor([2, 3, 4, 5], 7);
    const scale = randomTensor([3], 8);
    const bias = randomTensor([3], 9);
    const y = runKernel('InstanceNormalization', [x, scale, bias], { epsilon: 1e-5 })[0]!;
    const exp: number[] = [];
    for (let p = 0; p < 6; p++) {
      const xs = Array.from((x.data as Float32Array).subarray(p * 20, p * 20 + 20));
      const [m, v] = moments(xs);
      for (const xv of xs) exp.push(((xv - m) / Math.sqrt(v + 1e-5)) * (scale.data[p % 3] as number) + (bias.data[p % 3] as number));
    }
    expectClose(y, tensor('float32', x.shape, exp), 1e-4, 1e-5);
  });

  it('GroupNormalization normalises channel groups (opset 21 per-channel scale)', () => {
    const x = randomTensor([1, 4, 3], 10);
    const y = runKernel('GroupNormalization', [x, tensor('float32', [4], [1, 1, 2, 2]), tensor('float32', [4], [0, 0, 1, 1])], { num_groups: 2, epsilon: new F(0) }, { opset: 21 })[0]!;
    const exp: number[] = [];
    for (let g = 0; g < 2; g++) {
      const xs = Array.from((x.data as Float32Array).subarray(g * 6, g * 6 + 6));
      const [m, v] = moments(xs);
      for (const xv of xs) exp.push(((xv - m) / Math.sqrt(v)) * (g + 1) + g);
    }
    expectClose(y, tensor('float32', x.shape, exp), 1e-4, 1e-5);
  });

  it('LayerNormalization over the last axes, with Mean and InvStdDev outputs and broadcast scale', () => {
    const x = randomTensor([2, 3, 4], 11);
    const scale = randomTensor([4], 12);
    const bias = randomTensor([3, 1], 13);
    const [y, mean, inv] = runKernel('LayerNormalization', [x, scale, bias], { axis: 1 }, { outputs: 3 });
    expect(mean!.shape).toEqual([2, 1, 1]);
    expect(inv!.shape).toEqual([2, 1, 1]);
    const exp: number[] = [];
    for (let r = 0; r < 2; r++) {
      const xs = Array.from((x.data as Float32Array).subarray(r * 12, r * 12 + 12));
      const [m, v] = moments(xs);
      expect(mean!.data[r]).toBeCloseTo(m, 5);
      expect(inv!.data[r]).toBeCloseTo(1 / Math.sqrt(v + 1e-5), 4);
      xs.forEach((xv, i) => exp.push(((xv - m) / Math.sqrt(v + 1e-5)) * (scale.data[i % 4] as number) + (bias.data[Math.floor(i / 4)] as number)));
    }
    expectClose(y!, tensor('float32', x.shape, exp), 1e-4, 1e-5);
  });

  it('LRN divides by the local channel energy', () => {
    const x = tensor('float32', [1, 3, 1], [1, 2, 3]);
    const y = runKernel('LRN', [x], { size: 3, alpha: new F(3), beta: new F(1), bias: new F(1) })[0]!;
    // c=0: 1 + (1+4) = 6; c=1: 1 + 14 = 15; c=2: 1 + (4+9) = 14.
    expectClose(y, tensor('float32', [1, 3, 1], [1 / 6, 2 / 15, 3 / 14]), 1e-6, 1e-7);
  });

  it('MeanVarianceNormalization over axes [0, 2, 3] per channel', () => {
    const x = randomTensor([2, 3, 2, 2], 14);
    const y = runKernel('MeanVarianceNormalization', [x])[0]!;
    const exp = new Array<number>(24);
    for (let c = 0; c < 3; c++) {
      const idx: number[] = [];
      for (let n = 0; n < 2; n++) for (let s = 0; s < 4; s++) idx.push((n * 3 + c) * 4 + s);
      const [m, v] = moments(idx.map((i) => x.data[i] as number));
      for (const i of idx) exp[i] = ((x.data[i] as number) - m) / (Math.sqrt(v) + 1e-9);
    }
    expectClose(y, tensor('float32', x.shape, exp), 1e-4, 1e-5);
  });
});
