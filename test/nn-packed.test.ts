import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { expectClose, F, Fs, randomTensor, runKernel, tensor } from './harness.js';

/** Naive op(A)·op(B) in float64: A [M,K] or [K,M], B [K,N] or [N,K]. */
function matmul(a: TensorData, b: TensorData, transA: boolean, transB: boolean): { M: number; N: number; y: Float64Array } {
  const [M, K] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const N = transB ? b.shape[0]! : b.shape[1]!;
  const y = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const av = Number(transA ? a.data[k * M + i] : a.data[i * K + k]);
        const bv = Number(transB ? b.data[j * K + k] : b.data[k * N + j]);
        s += av * bv;
      }
      y[i * N + j] = s;
    }
  }
  return { M, N, y };
}

const relu6 = { 'tinfer.activation': 'clip', 'tinfer.activation_params': new Fs([0, 6]) };
const clip6 = (v: number): number => Math.min(6, Math.max(0, v));

describe('Gemm with constant B (packed once at prepare) agrees with a naive reference', () => {
  const cShapes: (number[] | undefined)[] = [undefined, [11], [1, 11], [5, 11], [5, 1], []];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const cShape of cShapes) {
        it(`transA ${transA} transB ${transB} C ${cShape ? `[${cShape}]` : 'none'}, alpha 1.5, beta 0.5, fused Relu6`, () => {
          const a = randomTensor(transA ? [13, 5] : [5, 13], 1, -2, 2);
          const b = randomTensor(transB ? [11, 13] : [13, 11], 2, -2, 2);
          const c = cShape === undefined ? undefined : randomTensor(cShape, 3, -4, 4);
          const { M, N, y } = matmul(a, b, transA, transB);
          const cv = (i: number, j: number): number => {
            if (c === undefined) return 0;
            const rows = cShape!.length === 2 ? cShape![0]! : 1;
            const cols = cShape!.length >= 1 ? cShape![cShape!.length - 1]! : 1;
            return Number(c.data[(rows === 1 ? 0 : i) * cols + (cols === 1 ? 0 : j)]);
          };
          const want = tensor('float32', [M, N], Array.from(y, (v, k) => clip6(1.5 * v + 0.5 * cv(Math.floor(k / N), k % N))));
          const attrs = { transA: transA ? 1 : 0, transB: transB ? 1 : 0, alpha: 1.5, beta: 0.5, ...relu6 };
          const inputs = c === undefined ? [a, b] : [a, b, c];
          for (const constant of [[1], [1, 2], []]) {
            expectClose(runKernel('Gemm', inputs, attrs, { constant })[0]!, want, 1e-5, 1e-5);
          }
        });
      }
    }
  }

  it('beta 0 ignores C even when it is constant', () => {
    const a = randomTensor([3, 4], 4);
    const b = randomTensor([4, 2], 5);
    const c = tensor('float32', [2], [100, 100]);
    const { y } = matmul(a, b, false, false);
    const got = runKernel('Gemm', [a, b, c], { beta: new F(0) }, { constant: [1, 2] })[0]!;
    expectClose(got, tensor('float32', [3, 2], y), 1e-5, 1e-6);
  });
});

describe('MatMul with constant B (packed once) and a fused activation', () => {
  const cases: [number[], number[]][] = [
    [[5, 13], [13, 11]],
    [[2, 3, 5, 13], [13, 11]],
    [[13], [13, 11]],
    [[1, 1], [1, 9]],
  ];
  for (const [aShape, bShape] of cases) {
    it(`A [${aShape}] · B [${bShape}] with fused LeakyRelu(0.2) matches the naive product`, () => {
      const a = randomTensor(aShape, 6, -2, 2);
      const b = randomTensor(bShape, 7, -2, 2);
      const K = bShape[0]!;
      const rows = a.data.length / K;
      const { y } = matmul({ ...a, shape: [rows, K] }, b, false, false);
      const outShape = aShape.length === 1 ? [bShape[1]!] : [...aShape.slice(0, -1), bShape[1]!];
      const want = tensor('float32', outShape, Array.from(y, (v) => (v >= 0 ? v : 0.2 * v)));
      const attrs = { 'tinfer.activation': 'leakyrelu', 'tinfer.activation_params': new Fs([0.2]) };
      for (const constant of [[1], []]) expectClose(runKernel('MatMul', [a, b], attrs, { constant })[0]!, want, 1e-5, 1e-5);
    });
  }

  it('float64 MatMul applies the fused activation too', () => {
    const a = tensor('float64', [1, 2], [1, -3]);
    const b = tensor('float64', [2, 2], [1, 0, 0, 1]);
    const y = runKernel('MatMul', [a, b], { 'tinfer.activation': 'relu' }, { constant: [1] })[0]!;
    expect([...(y.data as Float64Array)]).toEqual([1, 0]);
  });
});
