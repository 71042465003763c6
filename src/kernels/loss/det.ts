import type { NumericArray } from '../../dtype.js';
import { kernelError, requireInput, type KernelDef } from '../kernel.js';
import { product, requireFloat } from '../reduce/common.js';

/**
 * det(A) of one m×m matrix by LU decomposition with partial pivoting (Golub & Van Loan, alg. 3.4.1):
 * det = (-1)^swaps · Π u_ii. `lu` is the m·m float64 work matrix, overwritten.
 */
export function luDeterminant(a: NumericArray, offset: number, m: number, lu: Float64Array): number {
  for (let i = 0; i < m * m; i++) lu[i] = a[offset + i]!;
  let det = 1;
  for (let k = 0; k < m; k++) {
    let pivot = k;
    let best = Math.abs(lu[k * m + k]!);
    for (let r = k + 1; r < m; r++) {
      const v = Math.abs(lu[r * m + k]!);
      if (v > best) {
        best = v;
        pivot = r;
      }
    }
    if (best === 0) return 0;
    if (pivot !== k) {
      for (let c = 0; c < m; c++) {
        const t = lu[k * m + c]!;
        lu[k * m + c] = lu[pivot * m + c]!;
        lu[pivot * m + c] = t;
      }
      det = -det;
    }
    const ukk = lu[k * m + k]!;
    det *= ukk;
    for (let r = k + 1; r < m; r++) {
      const f = lu[r * m + k]! / ukk;
      if (f === 0) continue;
      for (let c = k + 1; c < m; c++) lu[r * m + c] = lu[r * m + c]! - f * lu[k * m + c]!;
    }
  }
  return det;
}

/** Det (ONNX 11, 22): X (*, M, M) float -> Y (*), one determinant per trailing square matrix. */
export const detKernel: KernelDef = {
  opType: 'Det',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    requireFloat(ctx, x.dtype);
    const r = x.shape.length;
    if (r < 2 || x.shape[r - 1] !== x.shape[r - 2]) throw kernelError(ctx, `input must be (*, M, M), got shape [${x.shape}]`);
    const m = x.shape[r - 1]!;
    const batch = product(x.shape, 0, r - 2);
    const lu = new Float64Array(m * m);
    return {
      outputs: [{ dtype: x.dtype, shape: x.shape.slice(0, r - 2) }],
      run(inputs, outputs) {
        const a = inputs[0] as NumericArray;
        const y = outputs[0] as NumericArray;
        for (let b = 0; b < batch; b++) y[b] = luDeterminant(a, b * m * m, m, lu);
      },
    };
  },
};
