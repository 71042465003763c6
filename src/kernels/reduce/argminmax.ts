import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef } from '../kernel.js';
import { normalizeAxis, requireNumeric, splitAt } from './common.js';

/**
 * ArgMax / ArgMin (ONNX 1, 11, 12, 13): index of the first (or, with select_last_index, the last)
 * extreme element along `axis`, as int64.
 */
function makeArg(opType: 'ArgMax' | 'ArgMin'): KernelDef {
  const wantMax = opType === 'ArgMax';
  return {
    opType,
    prepare(ctx) {
      // X (..., n, ...) -> Y int64 (..., 1, ...) or (...) without keepdims
      const x = requireInput(ctx, 0);
      requireNumeric(ctx, x.dtype);
      const rank = x.shape.length;
      const axis = normalizeAxis(ctx, attrInt(ctx.node, 'axis', 0), rank);
      const keepdims = attrInt(ctx.node, 'keepdims', 1) !== 0;
      const selectLast = attrInt(ctx.node, 'select_last_index', 0) !== 0;
      const { outer, n, inner } = splitAt(x.shape, axis);
      if (n === 0) throw kernelError(ctx, `cannot take ${opType} over an empty axis ${axis}`);
      const outShape = keepdims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
      return {
        outputs: [{ dtype: 'int64', shape: outShape }],
        run(inputs, outputs) {
          const xd = inputs[0]! as ArrayLike<number | bigint>;
          const y = outputs[0] as BigInt64Array;
          for (let o = 0; o < outer; o++) {
            for (let j = 0; j < inner; j++) y[o * inner + j] = BigInt(argExtreme(xd, o * n * inner + j, n, inner, wantMax, selectLast));
          }
        },
      };
    },
  };
}

/**
 * Index of the extreme of x[b + i*s], i < n. Strict comparison keeps the first extreme,
 * non-strict moves to the last one (select_last_index).
 */
function argExtreme<T extends number | bigint>(x: ArrayLike<T>, b: number, n: number, s: number, wantMax: boolean, last: boolean): number {
  let best = x[b]!;
  let bestI = 0;
  if (wantMax) {
    for (let i = 1, p = b + s; i < n; i++, p += s) {
      const v = x[p]!;
      if (v > best || (last && v === best)) {
        best = v;
        bestI = i;
      }
    }
  } else {
    for (let i = 1, p = b + s; i < n; i++, p += s) {
      const v = x[p]!;
      if (v < best || (last && v === best)) {
        best = v;
        bestI = i;
      }
    }
  }
  return bestI;
}

export const argKernels: KernelDef[] = [makeArg('ArgMax'), makeArg('ArgMin')];
