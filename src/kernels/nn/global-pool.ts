import type { NumericArray } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { kernelError, jsFallbacks, ranOnWasm, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { readP } from './pool.js';
import { ROW_MEAN_MODULE } from '../../wasm/reduce-kernels.js';

type GlobalReducer = 'avg' | 'max' | 'lp';

/** The mean of each plane, four running sums per plane (a monomorphic loop for the CNN case). X [P, S] -> Y [P] */
function averagePlanes(planes: number, size: number, x: Float32Array, y: Float32Array): void {
  const size4 = size & ~3;
  for (let c = 0; c < planes; c++) {
    const base = c * size;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let i = 0;
    for (; i < size4; i += 4) {
      s0 += x[base + i]!;
      s1 += x[base + i + 1]!;
      s2 += x[base + i + 2]!;
      s3 += x[base + i + 3]!;
    }
    for (; i < size; i++) s0 += x[base + i]!;
    y[c] = (s0 + s1 + (s2 + s3)) / size;
  }
}

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
      const outShape = [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)];
      if (reducer === 'avg' && x.dtype === 'float32') {
        const wasm = ctx.options.wasm;
        const rowMean = wasm?.use(ROW_MEAN_MODULE);
        const fallbacks = jsFallbacks();
        return {
          outputs: [{ dtype: x.dtype, shape: outShape }],
          detail: rowMean !== undefined ? 'wasm row mean' : 'js row mean',
          jsFallbacks: fallbacks,
          run(inputs, outs) {
            const [xs, ys] = [inputs[0] as Float32Array, outs[0] as Float32Array];
            if (rowMean !== undefined && ranOnWasm(fallbacks, xs.buffer === wasm!.memory.buffer && ys.buffer === xs.buffer)) {
              rowMean(xs.byteOffset, planes, size, ys.byteOffset, 1 / size);
            } else averagePlanes(planes, size, xs, ys);
          },
        };
      }
      return {
        outputs: [{ dtype: x.dtype, shape: outShape }],
        detail: `js global ${reducer} pool`,
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
