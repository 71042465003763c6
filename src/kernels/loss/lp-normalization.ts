import type { NumericArray } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { requireInput, type KernelDef } from '../kernel.js';
import { normalizeAxis, requireFloat, splitAt } from '../reduce/common.js';

/**
 * LpNormalization (ONNX 1, 22): input (...) -> output (...), y = x / ‖x‖_p along `axis` (default -1), p ∈ {1, 2}.
 * A zero vector stays zero (onnxruntime's behaviour) instead of becoming 0/0 = NaN.
 */
export const lpNormalizationKernel: KernelDef = {
  opType: 'LpNormalization',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    requireFloat(ctx, x.dtype);
    const p = attrInt(ctx.node, 'p', 2);
    if (p !== 1 && p !== 2) throw new UnsupportedError(`${nodeLabel(ctx.node)}: p = ${p} is not supported (1 or 2)`);
    const axis = normalizeAxis(ctx, attrInt(ctx.node, 'axis', -1), x.shape.length);
    const { outer, n, inner } = splitAt(x.shape, axis);
    return {
      outputs: [{ dtype: x.dtype, shape: [...x.shape] }],
      run(inputs, outputs) {
        const a = inputs[0] as NumericArray;
        const y = outputs[0] as NumericArray;
        for (let o = 0; o < outer; o++) {
          for (let i = 0; i < inner; i++) {
            const base = o * n * inner + i;
            let norm = 0;
            for (let j = 0; j < n; j++) {
              const v = a[base + j * inner]!;
              norm += p === 1 ? Math.abs(v) : v * v;
            }
            if (p === 2) norm = Math.sqrt(norm);
            const scale = norm === 0 ? 0 : 1 / norm;
            for (let j = 0; j < n; j++) y[base + j * inner] = a[base + j * inner]! * scale;
          }
        }
      },
    };
  },
};
