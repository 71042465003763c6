/** Dtype groups as the ONNX type constraints name them, and the checks kernels make against them. */
import type { DType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import type { PrepareContext } from '../kernel.js';
import { isNarrowFloat, roundToNarrowFloat } from '../../loader/float16.js';

export const FLOATS: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16'];
export const SIGNED_INTS: readonly DType[] = ['int8', 'int16', 'int32', 'int64'];
export const UNSIGNED_INTS: readonly DType[] = ['uint8', 'uint16', 'uint32', 'uint64'];
export const INTS: readonly DType[] = [...SIGNED_INTS, ...UNSIGNED_INTS];
export const SIGNED_NUMERIC: readonly DType[] = [...FLOATS, ...SIGNED_INTS];
export const NUMERIC: readonly DType[] = [...FLOATS, ...INTS];
export const BOOL: readonly DType[] = ['bool'];
export const ALL_NON_STRING: readonly DType[] = [...NUMERIC, 'bool'];

/** Throws UnsupportedError naming the node when `dtype` is not one of `allowed`. */
export function checkDtype(ctx: PrepareContext, dtype: DType, allowed: readonly DType[], what = 'input'): void {
  if (!allowed.includes(dtype)) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${what} dtype ${dtype} is not supported (expected one of ${allowed.join(', ')})`);
  }
}

/** True when the dtype's storage is a BigInt64Array/BigUint64Array. */
export function isBigIntDtype(dtype: DType): boolean {
  return dtype === 'int64' || dtype === 'uint64';
}

/**
 * Narrow floats (float16, bfloat16, float8) are stored widened in Float32Array: their results are
 * rounded to their own precision straight from the float64 result (no double rounding via float32).
 */
export function roundUnaryFor(dtype: DType, f: (x: number) => number): (x: number) => number {
  if (!isNarrowFloat(dtype)) return f;
  return (x) => roundToNarrowFloat(dtype, f(x));
}

export function roundBinaryFor(dtype: DType, f: (a: number, b: number) => number): (a: number, b: number) => number {
  if (!isNarrowFloat(dtype)) return f;
  return (a, b) => roundToNarrowFloat(dtype, f(a, b));
}
