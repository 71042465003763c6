/**
 * Element types and their storage. Narrow float formats (float16, bfloat16, float8) are widened to
 * float32 in memory; int4/uint4 are widened to one byte per element. int64 stays exact as BigInt64Array.
 */
import { LimitError } from './errors.js';

export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'float8e4m3fn'
  | 'float8e4m3fnuz'
  | 'float8e5m2'
  | 'float8e5m2fnuz'
  | 'int4'
  | 'uint4'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string'
  // Pseudo dtypes for ONNX sequence and optional values (never in the arena; see TensorData).
  | 'sequence'
  | 'optional';

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;
export type BigIntArray = BigInt64Array | BigUint64Array;
/** The in-memory storage of a tensor's elements (or of a sequence's / optional's values). */
export type Data = NumericArray | BigIntArray | string[] | TensorData[];

/**
 * A tensor value with its type and shape: constants, initializers, feeds and outputs.
 * Sequences are `{ dtype: 'sequence', shape: [n], data: TensorData[] }` and optionals
 * `{ dtype: 'optional', shape: [0 or 1], data: TensorData[] }`; `elemType` names the element type of
 * those (needed when they are empty).
 */
export interface TensorData {
  dtype: DType;
  shape: number[];
  data: Data;
  elemType?: DType;
}

/** A tensor's type at plan time: concrete dims only (symbolic dims are resolved by the feeds). */
export interface TensorType {
  dtype: DType;
  shape: number[];
}

/** ONNX TensorProto.DataType codes (onnx.proto3). */
export const ONNX_DTYPE_CODES: Readonly<Record<number, DType>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
  17: 'float8e4m3fn',
  18: 'float8e4m3fnuz',
  19: 'float8e5m2',
  20: 'float8e5m2fnuz',
  21: 'uint4',
  22: 'int4',
};

/** Codes of tensor dtypes; the pseudo dtypes 'sequence' and 'optional' have none (undefined). */
export const DTYPE_TO_ONNX_CODE: Readonly<Record<DType, number>> = Object.fromEntries(
  Object.entries(ONNX_DTYPE_CODES).map(([code, dtype]) => [dtype, Number(code)]),
) as Record<DType, number>;

/** True for the pseudo dtypes whose values hold other values: sequences and optionals. */
export function isContainer(dtype: DType): dtype is 'sequence' | 'optional' {
  return dtype === 'sequence' || dtype === 'optional';
}

/** True when storage is a plain JS array (strings, sequences, optionals), not a typed array. */
export function isElementArray(dtype: DType): boolean {
  return dtype === 'string' || isContainer(dtype);
}

/**
 * A copy that shares no mutable storage with `t`: typed arrays and element arrays are copied, and a
 * sequence's / optional's elements are copied recursively.
 */
export function cloneValue(t: TensorData): TensorData {
  const data = isContainer(t.dtype) ? (t.data as TensorData[]).map(cloneValue) : (t.data.slice() as Data);
  const out: TensorData = { dtype: t.dtype, shape: [...t.shape], data };
  if (t.elemType !== undefined) out.elemType = t.elemType;
  return out;
}

/** Bytes per stored element (after widening). Strings, sequences and optionals are not arena-allocated; 0. */
export function storageBytes(dtype: DType): number {
  switch (dtype) {
    case 'float64':
    case 'int64':
    case 'uint64':
      return 8;
    case 'float32':
    case 'float16':
    case 'bfloat16':
    case 'float8e4m3fn':
    case 'float8e4m3fnuz':
    case 'float8e5m2':
    case 'float8e5m2fnuz':
    case 'int32':
    case 'uint32':
      return 4;
    case 'int16':
    case 'uint16':
      return 2;
    case 'int4':
    case 'uint4':
    case 'int8':
    case 'uint8':
    case 'bool':
      return 1;
    case 'string':
    case 'sequence':
    case 'optional':
      return 0;
  }
}

/** True for types whose storage is Float32Array or Float64Array. */
export function isFloat(dtype: DType): boolean {
  return storageBytes(dtype) > 0 && (dtype.startsWith('float') || dtype === 'bfloat16');
}

export function isBigInt(dtype: DType): boolean {
  return dtype === 'int64' || dtype === 'uint64';
}

/** Typed-array storage (everything but string[] and TensorData[]). */
export type TypedData = NumericArray | BigIntArray;

type ArrayCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TypedData;

export function storageCtor(dtype: DType): ArrayCtor & { new (length: number): TypedData } {
  switch (dtype) {
    case 'float64':
      return Float64Array;
    case 'int64':
      return BigInt64Array;
    case 'uint64':
      return BigUint64Array;
    case 'int32':
      return Int32Array;
    case 'uint32':
      return Uint32Array;
    case 'int16':
      return Int16Array;
    case 'uint16':
      return Uint16Array;
    case 'int8':
    case 'int4':
      return Int8Array;
    case 'uint8':
    case 'uint4':
    case 'bool':
      return Uint8Array;
    case 'string':
    case 'sequence':
    case 'optional':
      throw new Error(`${dtype} values have no typed-array storage`);
    default:
      return Float32Array;
  }
}

/** A fresh zeroed storage array for `length` elements. */
export function allocData(dtype: DType, length: number): Data {
  if (!(length * Math.max(storageBytes(dtype), 8 * +(dtype === 'string' || isContainer(dtype))) <= 2 ** 31)) throw new LimitError(`cannot allocate ${length} ${dtype} elements: over the 2 GiB tensor limit`);
  if (dtype === 'string') return new Array<string>(length).fill('');
  if (isContainer(dtype)) return Array.from({ length }, emptyPlaceholder);
  return new (storageCtor(dtype))(length);
}

/** Fills fresh sequence storage until a kernel or a copy writes the real elements. */
function emptyPlaceholder(): TensorData {
  return { dtype: 'float32', shape: [0], data: new Float32Array(0) };
}

/** A view of `length` elements of `dtype` at `byteOffset` in `buffer` (the arena). */
export function viewData(dtype: DType, buffer: ArrayBufferLike, byteOffset: number, length: number): Data {
  return new (storageCtor(dtype))(buffer, byteOffset, length);
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}

export function shapeToString(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
}
