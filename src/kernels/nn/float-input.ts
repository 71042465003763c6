import type { TensorType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { requireInput, type PrepareContext } from '../kernel.js';

/** Input `i`, which must be a float type (float16/bfloat16/float32 stored as Float32Array, or float64). */
export function requireFloat(ctx: PrepareContext, i: number): TensorType {
  const t = requireInput(ctx, i);
  if (t.dtype !== 'float32' && t.dtype !== 'float16' && t.dtype !== 'bfloat16' && t.dtype !== 'float64') {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: input ${i} has dtype ${t.dtype}; only float types are supported`);
  }
  return t;
}

/** Optional input `i`; when present it must be a float type. */
export function optionalFloat(ctx: PrepareContext, i: number): TensorType | undefined {
  return ctx.inputs[i] === undefined ? undefined : requireFloat(ctx, i);
}
