import { sizeOf } from '../../dtype.js';
import { attrFloat, attrInt } from '../../graph/attributes.js';
import { kernelError, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { requireFloat } from './float-input.js';

type Vec = Float32Array | Float64Array;

// LRN: X [N, C, D1..Dn] -> Y [N, C, D1..Dn]
// Y = X / (bias + alpha / size · Σ_{c'} X[c']²)^beta over c' in [c − floor((size−1)/2), c + ceil((size−1)/2)] ∩ [0, C).
function prepareLrn(ctx: PrepareContext): PreparedKernel {
  const x = requireFloat(ctx, 0);
  if (x.shape.length < 3) throw kernelError(ctx, `X must have rank >= 3, got [${x.shape}]`);
  const size = attrInt(ctx.node, 'size');
  if (size === undefined || size < 1) throw kernelError(ctx, `attribute size must be a positive int, got ${size}`);
  const alpha = attrFloat(ctx.node, 'alpha', 1e-4);
  const beta = attrFloat(ctx.node, 'beta', 0.75);
  const bias = attrFloat(ctx.node, 'bias', 1);
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  const S = sizeOf(x.shape.slice(2));
  const before = Math.floor((size - 1) / 2);
  const after = Math.ceil((size - 1) / 2);
  return {
    outputs: [{ dtype: x.dtype, shape: [...x.shape] }],
    run(inputs, outs) {
      const xv = inputs[0] as Vec;
      const y = outs[0] as Vec;
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) {
          const lo = Math.max(0, c - before);
          const hi = Math.min(C - 1, c + after);
          const base = (n * C + c) * S;
          for (let s = 0; s < S; s++) {
            let sq = 0;
            for (let k = lo; k <= hi; k++) sq += xv[(n * C + k) * S + s]! ** 2;
            y[base + s] = xv[base + s]! / Math.pow(bias + (alpha / size) * sq, beta);
          }
        }
      }
    },
  };
}

export const lrnKernel: KernelDef = { opType: 'LRN', prepare: prepareLrn };
