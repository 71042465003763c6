import { allocData, ONNX_DTYPE_CODES, type DType, type TensorData } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrInt } from '../../graph/attributes.js';
import { isNarrowFloat, roundToNarrowFloat } from '../../loader/float16.js';
import { kernelError, requireConstant, type PrepareContext } from '../kernel.js';

/** The value of a scalar (or one-element) input known at plan time, as a number. */
export function scalarInput(ctx: PrepareContext, i: number, what: string): number {
  const t = requireConstant(ctx, i);
  if (t.data.length !== 1) throw kernelError(ctx, `${what} must be a scalar, got shape [${t.shape}]`);
  const v = Number(t.data[0]);
  if (!Number.isFinite(v)) throw kernelError(ctx, `${what} must be finite, got ${v}`);
  return v;
}

/** A scalar integer input known at plan time that must be ≥ min. */
export function intInput(ctx: PrepareContext, i: number, what: string, min: number): number {
  const v = scalarInput(ctx, i, what);
  if (!Number.isInteger(v) || v < min) throw kernelError(ctx, `${what} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

const GENERATED_DTYPES: ReadonlySet<DType> = new Set<DType>([
  'float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64',
]);

/** The dtype named by an `output_datatype` / `dtype` attribute (a TensorProto.DataType code). */
export function dtypeAttr(ctx: PrepareContext, name: string, fallbackCode: number): DType {
  const code = attrInt(ctx.node, name, fallbackCode);
  const dtype = ONNX_DTYPE_CODES[code];
  if (dtype === undefined || !GENERATED_DTYPES.has(dtype)) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${name} ${code} (${dtype ?? 'unknown'}) is not supported`);
  }
  return dtype;
}

/**
 * A tensor of `dtype` holding `values` (float64 math results); integer types truncate toward zero, like Cast,
 * and float16/bfloat16 values are rounded to their precision (stored widened).
 */
export function tensorOf(dtype: DType, shape: number[], values: ArrayLike<number>): TensorData {
  const data = allocData(dtype, values.length);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < values.length; i++) data[i] = BigInt(Math.trunc(values[i]!));
  } else if (isNarrowFloat(dtype)) {
    const out = data as Float32Array;
    for (let i = 0; i < values.length; i++) out[i] = roundToNarrowFloat(dtype, values[i]!);
  } else {
    const out = data as Float64Array;
    for (let i = 0; i < values.length; i++) out[i] = values[i]!;
  }
  return { dtype, shape, data };
}
