/**
 * The public Tensor, shaped like onnxruntime-common's: `new Tensor(type, data, dims)` or `new Tensor(data, dims)`.
 * int64 data is a BigInt64Array (Int32Array or number[] are accepted and converted); float16 is a Uint16Array of
 * IEEE half bits, as onnxruntime returns it; bool is a Uint8Array.
 */
import { sizeOf, type Data, type DType, type TensorData } from '../dtype.js';
import { InputError } from '../errors.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from '../loader/float16.js';

export type TensorType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string';

export type TensorDataType =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

const PUBLIC_TYPES: ReadonlySet<string> = new Set([
  'float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string',
]);

export class Tensor {
  readonly type: TensorType;
  readonly data: TensorDataType;
  readonly dims: readonly number[];

  constructor(type: TensorType, data: TensorDataType | readonly number[] | readonly bigint[] | readonly boolean[] | readonly string[], dims?: readonly number[]);
  constructor(data: TensorDataType, dims?: readonly number[]);
  constructor(a: unknown, b?: unknown, c?: unknown) {
    let type: string;
    let data: unknown;
    let dims: readonly number[] | undefined;
    if (typeof a === 'string') {
      type = a;
      data = b;
      dims = c as readonly number[] | undefined;
    } else {
      data = a;
      dims = b as readonly number[] | undefined;
      type = inferType(data);
    }
    if (!PUBLIC_TYPES.has(type)) throw new InputError(`Tensor: unsupported type '${type}'`);
    this.type = type as TensorType;
    this.data = toPublicData(this.type, data);
    this.dims = dims ? [...dims] : [this.data.length];
    for (const d of this.dims) {
      if (!Number.isInteger(d) || d < 0) throw new InputError(`Tensor: invalid dims [${this.dims.join(',')}]`);
    }
    if (sizeOf(this.dims) !== this.data.length) {
      throw new InputError(`Tensor: data has ${this.data.length} elements but dims [${this.dims.join(',')}] need ${sizeOf(this.dims)}`);
    }
  }

  get size(): number {
    return this.data.length;
  }

  /** Same data, new dims (no copy). */
  reshape(dims: readonly number[]): Tensor {
    return new Tensor(this.type, this.data, dims);
  }
}

function inferType(data: unknown): string {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof BigUint64Array) return 'uint64';
  if (Array.isArray(data) && data.every((x) => typeof x === 'string')) return 'string';
  throw new InputError('Tensor: cannot infer the type of this data; pass the type explicitly');
}

const PUBLIC_CTORS: Record<string, new (n: number) => Exclude<TensorDataType, string[]>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

/** Accepts the canonical typed array as is; converts plain arrays and (for int64) Int32Array/number[]. */
function toPublicData(type: TensorType, data: unknown): TensorDataType {
  if (type === 'string') {
    if (Array.isArray(data) && data.every((x) => typeof x === 'string')) return data as string[];
    throw new InputError('Tensor: string tensors need a string[]');
  }
  const Ctor = PUBLIC_CTORS[type]!;
  if (data instanceof Ctor) return data as TensorDataType;
  if (!(Array.isArray(data) || ArrayBuffer.isView(data))) throw new InputError(`Tensor: data for '${type}' must be an array or typed array`);
  const src = data as ArrayLike<number | bigint | boolean>;
  const out = new Ctor(src.length);
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    if (big) {
      if (typeof v === 'number' && !Number.isInteger(v)) throw new InputError(`Tensor: ${type} value ${v} at ${i} is not an integer`);
      (out as BigInt64Array)[i] = BigInt(v as number | bigint);
    } else (out as Float32Array)[i] = Number(v);
  }
  return out as TensorDataType;
}

/** Public tensor -> internal storage (float16/bfloat16 widened to float32). */
export function toTensorData(t: Tensor): TensorData {
  const dtype = t.type as DType;
  const shape = [...t.dims];
  if (t.type === 'float16' || t.type === 'bfloat16') {
    const bits = t.data as Uint16Array;
    const out = new Float32Array(bits.length);
    const decode = t.type === 'float16' ? float16BitsToFloat32 : bfloat16BitsToFloat32;
    for (let i = 0; i < bits.length; i++) out[i] = decode(bits[i]!);
    return { dtype, shape, data: out };
  }
  return { dtype, shape, data: t.data as Data };
}

/** Internal storage -> public tensor (narrow floats back to their bits; float8/int4 as widened values). */
export function fromTensorData(t: TensorData): Tensor {
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    const src = t.data as Float32Array;
    const bits = new Uint16Array(src.length);
    const encode = t.dtype === 'float16' ? float32ToFloat16Bits : float32ToBfloat16Bits;
    for (let i = 0; i < src.length; i++) bits[i] = encode(src[i]!);
    return new Tensor(t.dtype, bits, t.shape);
  }
  if (t.dtype.startsWith('float8')) return new Tensor('float32', t.data as Float32Array, t.shape);
  if (t.dtype === 'int4') return new Tensor('int8', t.data as Int8Array, t.shape);
  if (t.dtype === 'uint4') return new Tensor('uint8', t.data as Uint8Array, t.shape);
  return new Tensor(t.dtype as TensorType, t.data as TensorDataType, t.shape);
}
