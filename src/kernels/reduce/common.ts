import { type Data, type DType, type TensorData } from '../../dtype.js';
import { kernelError, type PrepareContext } from '../kernel.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';

/** Row-major strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function product(dims: readonly number[], from = 0, to = dims.length): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= dims[i]!;
  return n;
}

/** Maps an ONNX axis in [-rank, rank-1] to [0, rank-1], or throws naming the node. */
export function normalizeAxis(ctx: PrepareContext, axis: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw kernelError(ctx, `${what} ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** The values of an integer or float tensor as plain numbers (int64 converted exactly where it fits). */
export function tensorNumbers(t: TensorData): number[] {
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < t.data.length; i++) out[i] = Number(t.data[i]);
  return out;
}

export function isBigIntData(d: Data): d is BigInt64Array | BigUint64Array {
  return d instanceof BigInt64Array || d instanceof BigUint64Array;
}

const NUMERIC_DTYPES: ReadonlySet<DType> = new Set<DType>([
  'float32',
  'float64',
  'float16',
  'bfloat16',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
]);

/** Throws UnsupportedError unless `dtype` is a real number type (no bool/string/float8/int4). */
export function requireNumeric(ctx: PrepareContext, dtype: DType, what = 'input'): void {
  if (!NUMERIC_DTYPES.has(dtype)) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${what} of type ${dtype} is not supported`);
  }
}

/** Throws UnsupportedError unless `dtype` is stored as Float32Array or Float64Array. */
export function requireFloat(ctx: PrepareContext, dtype: DType, what = 'input'): void {
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'float16' && dtype !== 'bfloat16') {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${what} of type ${dtype} is not supported (float types only)`);
  }
}

/** The (outer, n, inner) split of `shape` around `axis`: element (o, i, j) lives at (o*n + i)*inner + j. */
export function splitAt(shape: readonly number[], axis: number): { outer: number; n: number; inner: number } {
  return { outer: product(shape, 0, axis), n: shape[axis] ?? 1, inner: product(shape, axis + 1) };
}
