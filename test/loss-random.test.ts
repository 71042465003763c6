import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { UnsupportedError } from '../src/errors.js';
import { Xoshiro128 } from '../src/kernels/loss/random.js';
import { runKernel, tensor, F } from './harness.js';

function moments(t: TensorData): { mean: number; variance: number; min: number; max: number } {
  const v = Array.from(t.data as Float32Array, Number);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
  return { mean, variance, min: Math.min(...v), max: Math.max(...v) };
}

describe('Xoshiro128', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = new Xoshiro128(42);
    const b = new Xoshiro128(42);
    const c = new Xoshiro128(43);
    const sa = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(sa);
  });
});

// 40000 draws: the standard error of a mean is ≤ σ/200, so the tolerances below are > 5 standard errors.
const N = 40000;

describe('RandomUniform / RandomNormal', () => {
  it('RandomUniform fills [low, high) with mean (low+high)/2 and variance (high-low)²/12', () => {
    const [y] = runKernel('RandomUniform', [], { shape: [200, 200], low: new F(2), high: new F(5), seed: new F(1) });
    expect(y!.dtype).toBe('float32');
    const m = moments(y!);
    expect(m.min).toBeGreaterThanOrEqual(2);
    expect(m.max).toBeLessThanOrEqual(5);
    expect(Math.abs(m.mean - 3.5)).toBeLessThan(0.03);
    expect(Math.abs(m.variance - 0.75)).toBeLessThan(0.03);
  });

  it('RandomNormal has the given mean and scale; dtype 11 gives float64', () => {
    const [y] = runKernel('RandomNormal', [], { shape: [N], mean: new F(-1), scale: new F(2), seed: new F(7), dtype: 11 });
    expect(y!.dtype).toBe('float64');
    const m = moments(y!);
    expect(Math.abs(m.mean + 1)).toBeLessThan(0.06);
    expect(Math.abs(Math.sqrt(m.variance) - 2)).toBeLessThan(0.06);
  });

  it('the same seed gives the same values; without a seed two kernels differ', () => {
    const a = runKernel('RandomNormal', [], { shape: [16], seed: new F(3) })[0]!;
    const b = runKernel('RandomNormal', [], { shape: [16], seed: new F(3) })[0]!;
    expect(Array.from(a.data as Float32Array)).toEqual(Array.from(b.data as Float32Array));
    const c = runKernel('RandomNormal', [], { shape: [16] })[0]!;
    const d = runKernel('RandomNormal', [], { shape: [16] })[0]!;
    expect(Array.from(c.data as Float32Array)).not.toEqual(Array.from(d.data as Float32Array));
  });

  it('the *Like variants take the input shape and (by default) its type', () => {
    const x = tensor('float64', [3, 4], new Array(12).fill(0));
    const [u] = runKernel('RandomUniformLike', [x], { seed: new F(1) });
    expect(u!.dtype).toBe('float64');
    expect(u!.shape).toEqual([3, 4]);
    const [n] = runKernel('RandomNormalLike', [tensor('int32', [2], [0, 0])], { dtype: 1 });
    expect(n!.dtype).toBe('float32');
    expect(() => runKernel('RandomNormalLike', [tensor('int32', [2], [0, 0])])).toThrow(UnsupportedError);
  });

  it('requires shape', () => {
    expect(() => runKernel('RandomUniform', [], {})).toThrow(/shape/);
  });
});

describe('Bernoulli', () => {
  it('p = 0 and p = 1 are certain; p = 0.3 gives ones with frequency 0.3', () => {
    const p = tensor('float32', [N + 2], [0, 1, ...new Array(N).fill(0.3)]);
    const [y] = runKernel('Bernoulli', [p], { seed: new F(5) });
    expect(y!.dtype).toBe('float32');
    expect(y!.data[0]).toBe(0);
    expect(y!.data[1]).toBe(1);
    let ones = 0;
    for (let i = 2; i < N + 2; i++) ones += Number(y!.data[i]);
    expect(Math.abs(ones / N - 0.3)).toBeLessThan(0.012);
  });

  it('dtype selects bool or int64 output', () => {
    const p = tensor('float64', [2], [1, 0]);
    expect(runKernel('Bernoulli', [p], { dtype: 9 })[0]!.data).toEqual(new Uint8Array([1, 0]));
    expect(runKernel('Bernoulli', [p], { dtype: 7 })[0]!.data).toEqual(new BigInt64Array([1n, 0n]));
  });
});

describe('Multinomial', () => {
  it('draws class c with probability softmax(logits)[c]', () => {
    // log([0.2, 0.5, 0.3]) + 7 (an offset softmax ignores); a second row always picks class 2.
    const logits = tensor('float32', [2, 3], [Math.log(0.2) + 7, Math.log(0.5) + 7, Math.log(0.3) + 7, -1e9, -1e9, 0]);
    const [y] = runKernel('Multinomial', [logits], { sample_size: N, seed: new F(9) });
    expect(y!.dtype).toBe('int32');
    expect(y!.shape).toEqual([2, N]);
    const counts = [0, 0, 0];
    for (let s = 0; s < N; s++) counts[y!.data[s] as number]! += 1;
    expect(Math.abs(counts[0]! / N - 0.2)).toBeLessThan(0.012);
    expect(Math.abs(counts[1]! / N - 0.5)).toBeLessThan(0.012);
    expect(Math.abs(counts[2]! / N - 0.3)).toBeLessThan(0.012);
    let others = 0;
    for (let s = N; s < 2 * N; s++) if (y!.data[s] !== 2) others++;
    expect(others).toBe(0);
  });

  it('int64 output with dtype 7', () => {
    const [y] = runKernel('Multinomial', [tensor('float32', [1, 2], [0, -1e9])], { sample_size: 3, dtype: 7 });
    expect(y!.data).toEqual(new BigInt64Array([0n, 0n, 0n]));
  });
});
