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

/** Where a tensor's data lives: always 'cpu' in tinfer, 'none' once disposed (onnxruntime's names). */
export type DataLocation = 'none' | 'cpu';

export class Tensor {
  readonly type: TensorType;
  readonly dims: readonly number[];
  /** The number of elements. */
  readonly size: number;
  private cpuData: TensorDataType | undefined;

  constructor(type: TensorType, data: TensorDataType | readonly number[] | readonly bigint[] | readonly boolean[] | readonly string[], dims?: readonly number[]);
  constructor(data: TensorDataType | readonly number[] | readonly boolean[] | readonly string[], dims?: readonly number[]);
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
    if (!PUBLIC_TYPES.has(type)) {
      throw new InputError(`Tensor: unsupported type '${type}'`, { expected: [...PUBLIC_TYPES].join(', '), actual: String(type) });
    }
    this.type = type as TensorType;
    const stored = toPublicData(this.type, data);
    if (dims !== undefined && !(Array.isArray(dims) || ArrayBuffer.isView(dims))) {
      throw new InputError(`Tensor: dims must be an array of integers, got ${typeof dims}`, { expected: 'number[]', actual: typeof dims });
    }
    this.dims = dims ? Array.from(dims) : [stored.length];
    for (const d of this.dims) {
      if (!Number.isSafeInteger(d) || d < 0) throw new InputError(`Tensor: invalid dims [${this.dims.join(',')}]`, { expected: 'non-negative integers', actual: `[${this.dims.join(',')}]` });
    }
    if (sizeOf(this.dims) !== stored.length) {
      throw new InputError(`Tensor: data has ${stored.length} elements but dims [${this.dims.join(',')}] need ${sizeOf(this.dims)}`, {
        expected: `${sizeOf(this.dims)} elements`,
        actual: `${stored.length} elements`,
      });
    }
    this.cpuData = stored;
    this.size = stored.length;
  }

  /** The elements (throws once the tensor is disposed). */
  get data(): TensorDataType {
    if (this.cpuData === undefined) throw new InputError('Tensor: the data was disposed', { expected: 'a live Tensor', actual: 'a disposed Tensor' });
    return this.cpuData;
  }

  /** 'cpu', or 'none' after dispose(). */
  get location(): DataLocation {
    return this.cpuData === undefined ? 'none' : 'cpu';
  }

  /**
   * The data, as onnxruntime's async getData(): already on the CPU, so it resolves at once. With `releaseData`,
   * the tensor lets go of it (as dispose() does) and the caller owns the array.
   */
  async getData(releaseData?: boolean): Promise<TensorDataType> {
    const data = this.data;
    if (releaseData) this.dispose();
    return data;
  }

  /** Drops the reference to the data; `data` then throws and `location` is 'none'. */
  dispose(): void {
    this.cpuData = undefined;
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
  if (Array.isArray(data) && data.every((x) => typeof x === 'boolean')) return 'bool';
  // onnxruntime reads a plain number[] as float32.
  if (Array.isArray(data) && data.every((x) => typeof x === 'number')) return 'float32';
  throw new InputError('Tensor: cannot infer the type of this data; pass the type explicitly', { expected: 'a typed array, number[], boolean[] or string[]', actual: describe(data) });
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
  if (!(Array.isArray(data) || ArrayBuffer.isView(data))) {
    throw new InputError(`Tensor: data for '${type}' must be an array or a ${Ctor.name}, got ${describe(data)}`, { expected: Ctor.name, actual: describe(data) });
  }
  // A typed array of another kind is refused, as onnxruntime does (a Float64Array for float32 would silently lose
  // precision and double the copy); int64/uint64 also accept an Int32Array/Uint32Array, converted.
  const widening = (type === 'int64' || type === 'uint64') && (data instanceof Int32Array || data instanceof Uint32Array);
  if (ArrayBuffer.isView(data) && !widening) {
    throw new InputError(`Tensor: a ${type} tensor's data must be a ${Ctor.name} (or a plain array), got ${describe(data)}`, { expected: Ctor.name, actual: describe(data) });
  }
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

function describe(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  return typeof x === 'object' ? ((x as object).constructor?.name ?? 'object') : typeof x;
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

/** onnxruntime-common's type names under the class: `ort.Tensor.Type`, `ort.Tensor.DataType`, `ort.Tensor.DataLocation`. */
export declare namespace Tensor {
  type Type = TensorType;
  type DataType = TensorDataType;
  type DataLocation = import('./tensor.js').DataLocation;
}
