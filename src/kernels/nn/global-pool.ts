import type { NumericArray } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { readP } from './pool.js';

type GlobalReducer = 'avg' | 'max' | 'lp';

/** Reduces each plane to one value: mean, max, or (Σ|x|^p)^(1/p). X [P, S] -> Y [P] */
function reducePlanes(reducer: GlobalReducer, p: number, planes: number, size: number, x: NumericArray, y: NumericArray): void {
  for (let c = 0; c < planes; c++) {
    const base = c * size;
    let acc = reducer === 'max' ? -Infinity : 0;
    for (let i = 0; i < size; i++) {
      const v = x[base + i]!;
      if (reducer === 'max') acc = v > acc || Number.isNaN(v) ? v : acc;
      else if (reducer === 'lp') acc += Math.pow(Math.abs(v), p);
      else acc += v;
    }
    if (reducer === 'avg') acc /= size;
    else if (reducer === 'lp') acc = Math.pow(acc, 1 / p);
    y[c] = acc;
  }
}

// Global{Average,Max,Lp}Pool: X [N, C, D1..Dn] -> Y [N, C, 1..1]
function globalPool(opType: string, reducer: GlobalReducer): KernelDef {
  return {
    opType,
    prepare(ctx: PrepareContext): PreparedKernel {
      const x = requireInput(ctx, 0);
      if (x.dtype !== 'float32' && x.dtype !== 'float16' && x.dtype !== 'bfloat16' && x.dtype !== 'float64') {
        throw new UnsupportedError(`${nodeLabel(ctx.node)}: dtype ${x.dtype} is not supported`);
      }
      if (x.shape.length < 2) throw kernelError(ctx, `X must have rank >= 2, got [${x.shape}]`);
      const p = reducer === 'lp' ? readP(ctx) : 0;
      const planes = x.shape[0]! * x.shape[1]!;
      const size = x.shape.slice(2).reduce((a, b) => a * b, 1);
      return {
        outputs: [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)] }],
        run(inputs, outs) {
          reducePlanes(reducer, p, planes, size, inputs[0] as NumericArray, outs[0] as NumericArray);
        },
      };
    },
  };
}

export const globalPoolKernels: KernelDef[] = [
  globalPool('GlobalAveragePool', 'avg'),
  globalPool('GlobalMaxPool', 'max'),
  globalPool('GlobalLpPool', 'lp'),
];
