import { sizeOf } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireConstant, requireInput, type KernelDef } from '../kernel.js';
import { elems, normalizeAxis, scalarValue } from './common.js';

// OneHot: indices [A..., B...], depth (scalar), values [off, on] -> [A..., depth, B...] (axis = len(A))
// out[a, j, b] = on if indices[a, b] (wrapped once when negative) == j else off; out-of-range indices give all off.
const OneHot: KernelDef = {
  opType: 'OneHot',
  prepare(ctx) {
    const ind = requireInput(ctx, 0);
    const vals = requireInput(ctx, 2);
    if (sizeOf(vals.shape) !== 2) throw kernelError(ctx, `values must hold [off, on], got shape [${vals.shape}]`);
    const depthValue = scalarValue(ctx, requireConstant(ctx, 1), 'depth');
    const depth = Math.floor(depthValue);
    if (!(depth >= 1)) throw kernelError(ctx, `depth must be positive, got ${depthValue}`);
    const r = ind.shape.length;
    const axis = normalizeAxis(ctx, attrInt(ctx.node, 'axis', -1), r + 1);
    const outer = sizeOf(ind.shape.slice(0, axis));
    const inner = sizeOf(ind.shape.slice(axis));
    return {
      outputs: [{ dtype: vals.dtype, shape: [...ind.shape.slice(0, axis), depth, ...ind.shape.slice(axis)] }],
      run(inputs, outputs) {
        const indices = inputs[0]!;
        const v = elems(inputs[2]!);
        const off = v[0];
        const on = v[1];
        const out = elems(outputs[0]!);
        const n = out.length;
        for (let i = 0; i < n; i++) out[i] = off;
        for (let a = 0; a < outer; a++) {
          for (let b = 0; b < inner; b++) {
            let j = Math.floor(Number(indices[a * inner + b]));
            if (j < 0) j += depth;
            if (j >= 0 && j < depth) out[(a * depth + j) * inner + b] = on;
          }
        }
      },
    };
  },
};

export const oneHotKernels: KernelDef[] = [OneHot];
