import { sizeOf } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef } from '../kernel.js';
import { elems } from './common.js';

// Trilu: x [..., n, m], k (int64 scalar, optional) -> [..., n, m]
// upper keeps elements with col - row ≥ k, lower those with col - row ≤ k; the rest become 0.
const Trilu: KernelDef = {
  opType: 'Trilu',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const r = x.shape.length;
    if (r < 2) throw kernelError(ctx, `input must have rank ≥ 2, got [${x.shape}]`);
    if (x.dtype === 'string') throw kernelError(ctx, 'string tensors are not supported');
    const upper = attrInt(ctx.node, 'upper', 1) !== 0;
    const rows = x.shape[r - 2]!;
    const cols = x.shape[r - 1]!;
    const batches = sizeOf(x.shape.slice(0, r - 2));
    const zero = x.dtype === 'int64' || x.dtype === 'uint64' ? 0n : 0;
    const hasK = ctx.inputs[1] !== undefined;
    return {
      outputs: [{ dtype: x.dtype, shape: x.shape.slice() }],
      run(inputs, outputs) {
        const src = elems(inputs[0]!);
        const dst = elems(outputs[0]!);
        const k = hasK ? Number(inputs[1]![0]) : 0;
        for (let b = 0; b < batches; b++) {
          for (let i = 0; i < rows; i++) {
            const o = (b * rows + i) * cols;
            for (let j = 0; j < cols; j++) {
              const keep = upper ? j - i >= k : j - i <= k;
              dst[o + j] = keep ? src[o + j] : zero;
            }
          }
        }
      },
    };
  },
};

export const triluKernels: KernelDef[] = [Trilu];
