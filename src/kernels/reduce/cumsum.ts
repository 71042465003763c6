import type { NumericArray } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef } from '../kernel.js';
import { isBigIntData, requireNumeric, splitAt } from './common.js';

/**
 * CumSum (ONNX 11, 14): running sums along `axis` (a 0-D or 1-element int32/int64 input).
 * exclusive: y[i] = Σ x[<i]; reverse: sums run from the end.
 */
export const cumSumKernel: KernelDef = {
  opType: 'CumSum',
  prepare(ctx) {
    // X (any shape), axis int [] -> Y (same shape)
    const x = requireInput(ctx, 0);
    requireNumeric(ctx, x.dtype);
    const axisT = requireInput(ctx, 1);
    if (axisT.dtype !== 'int32' && axisT.dtype !== 'int64') throw kernelError(ctx, `axis must be int32 or int64, got ${axisT.dtype}`);
    if (axisT.shape.reduce((a, b) => a * b, 1) !== 1) throw kernelError(ctx, `axis must be a scalar, got shape [${axisT.shape}]`);
    const exclusive = attrInt(ctx.node, 'exclusive', 0) !== 0;
    const reverse = attrInt(ctx.node, 'reverse', 0) !== 0;
    const rank = x.shape.length;
    const shape = [...x.shape];
    return {
      outputs: [{ dtype: x.dtype, shape }],
      run(inputs, outputs) {
        // The axis is read here, so it may be a runtime value: the split is a few multiplications.
        let axis = Number(inputs[1]![0]);
        if (axis < -rank || axis >= rank) throw kernelError(ctx, `axis ${axis} is out of range for rank ${rank}`);
        if (axis < 0) axis += rank;
        const { outer, n, inner } = splitAt(shape, axis);
        const xd = inputs[0]!;
        const y = outputs[0]!;
        const step = reverse ? -inner : inner;
        for (let o = 0; o < outer; o++) {
          for (let j = 0; j < inner; j++) {
            const first = o * n * inner + j + (reverse ? (n - 1) * inner : 0);
            if (isBigIntData(xd)) cumulateBig(xd, y as BigInt64Array, first, step, n, exclusive);
            else cumulate(xd as NumericArray, y as NumericArray, first, step, n, exclusive);
          }
        }
      },
    };
  },
};

function cumulate(x: NumericArray, y: NumericArray, first: number, step: number, n: number, exclusive: boolean): void {
  let acc = 0;
  for (let i = 0, p = first; i < n; i++, p += step) {
    const v = x[p]!;
    if (exclusive) {
      y[p] = acc;
      acc += v;
    } else {
      acc += v;
      y[p] = acc;
    }
  }
}

function cumulateBig(x: BigInt64Array | BigUint64Array, y: BigInt64Array | BigUint64Array, first: number, step: number, n: number, exclusive: boolean): void {
  let acc = 0n;
  for (let i = 0, p = first; i < n; i++, p += step) {
    const v = x[p]!;
    if (exclusive) {
      y[p] = acc;
      acc += v;
    } else {
      acc += v;
      y[p] = acc;
    }
  }
}
