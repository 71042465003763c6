/**
 * TensorProto and SparseTensorProto decoding (onnx.proto). A tensor's fields are first gathered
 * without touching its data; its element count is checked against the limit before any allocation,
 * then its data (raw_data, one typed repeated field, or external data) is read into aligned storage.
 */
import { ONNX_DTYPE_CODES, allocData, sizeOf, storageBytes, storageCtor, type DType, type Data, type TensorData } from '../dtype.js';
import { DecodeError, LimitError, TinferError, UnsupportedError } from '../errors.js';
import { isNarrowFloat, narrowFloatBitsToNumber, type NarrowFloatDType } from './float16.js';
import {
  HOST_IS_LITTLE_ENDIAN,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
  countVarints,
  type ProtoReader,
} from './protobuf.js';

export interface LoadOptions {
  /** Largest tensor (in stored bytes) the decoder will allocate; default 2 GiB. */
  maxTensorBytes?: number;
  /** Reads external tensor data (TensorProto.data_location = EXTERNAL), relative to the model's directory. */
  externalData?: (location: string, offset: number, length: number | undefined) => Uint8Array;
}

export const DEFAULT_MAX_TENSOR_BYTES = 2 ** 31;

// TensorProto field numbers.
const T_DIMS = 1;
const T_DATA_TYPE = 2;
const T_SEGMENT = 3;
const T_FLOAT_DATA = 4;
const T_INT32_DATA = 5;
const T_STRING_DATA = 6;
const T_INT64_DATA = 7;
const T_NAME = 8;
const T_RAW_DATA = 9;
const T_DOUBLE_DATA = 10;
const T_UINT64_DATA = 11;
const T_EXTERNAL_DATA = 13;
const T_DATA_LOCATION = 14;

const DATA_LOCATION_EXTERNAL = 1;

/** One occurrence of a typed repeated data field: a packed run [s, e) or a single unpacked value at s. */
interface DataRun {
  packed: boolean;
  s: number;
  e: number;
}

interface TensorFields {
  name: string;
  dims: number[];
  dataType: number;
  raw: [number, number] | undefined;
  runs: Map<number, DataRun[]>;
  strings: Uint8Array[];
  external: Map<string, string>;
  dataLocation: number;
  /** Offset where the TensorProto starts, for error messages. */
  at: number;
}

/** Which typed repeated field holds a dtype's values when raw_data is absent (onnx.proto comments). */
function typedField(dtype: DType): number {
  switch (dtype) {
    case 'float32':
      return T_FLOAT_DATA;
    case 'float64':
      return T_DOUBLE_DATA;
    case 'int64':
      return T_INT64_DATA;
    case 'uint32':
    case 'uint64':
      return T_UINT64_DATA;
    case 'string':
      return T_STRING_DATA;
    default:
      return T_INT32_DATA; // int8/16/32, uint8/16, bool, float16, bfloat16, float8*, int4/uint4 (bit patterns)
  }
}

function unpackedWireType(field: number): number {
  if (field === T_FLOAT_DATA) return WIRE_FIXED32;
  if (field === T_DOUBLE_DATA) return WIRE_FIXED64;
  return WIRE_VARINT;
}

// Shared empty maps until a tensor has typed runs or external data (most carry raw_data): made on first set.
const NO_RUNS: Map<number, DataRun[]> = new Map();
const NO_EXTERNAL: Map<string, string> = new Map();

function gatherTensorFields(r: ProtoReader, path: string): TensorFields {
  const f: TensorFields = {
    name: '',
    dims: [],
    dataType: 0,
    raw: undefined,
    runs: NO_RUNS,
    strings: [],
    external: NO_EXTERNAL,
    dataLocation: 0,
    at: r.start,
  };
  while (r.next(path)) {
    switch (r.field) {
      case T_DIMS: {
        const what = `${path}.dims`;
        r.repeated(WIRE_VARINT, what, (x) => f.dims.push(x.int64(what)));
        break;
      }
      case T_DATA_TYPE:
        r.expect(WIRE_VARINT, `${path}.data_type`);
        f.dataType = r.int32(`${path}.data_type`);
        break;
      case T_SEGMENT:
        r.fail('segmented tensors (TensorProto.segment) are not supported', `${path}.segment`);
        break;
      case T_FLOAT_DATA:
      case T_INT32_DATA:
      case T_INT64_DATA:
      case T_DOUBLE_DATA:
      case T_UINT64_DATA:
        recordRun(r, f, r.field, path);
        break;
      case T_STRING_DATA:
        f.strings.push(r.bytesView(`${path}.string_data`));
        break;
      case T_NAME:
        f.name = r.string(`${path}.name`);
        break;
      case T_RAW_DATA:
        f.raw = r.range(`${path}.raw_data`);
        break;
      case T_EXTERNAL_DATA: {
        const entry = readStringEntry(r.message(`${path}.external_data`), `${path}.external_data`);
        if (f.external === NO_EXTERNAL) f.external = new Map();
        f.external.set(entry[0], entry[1]);
        break;
      }
      case T_DATA_LOCATION:
        r.expect(WIRE_VARINT, `${path}.data_location`);
        f.dataLocation = r.int32(`${path}.data_location`);
        break;
      default:
        r.skip(path);
    }
  }
  return f;
}

function recordRun(r: ProtoReader, f: TensorFields, field: number, path: string): void {
  const what = `${path}.${FIELD_NAMES[field]}`;
  if (f.runs === NO_RUNS) f.runs = new Map();
  let runs = f.runs.get(field);
  if (runs === undefined) f.runs.set(field, (runs = []));
  const wire = unpackedWireType(field);
  if (r.wireType === WIRE_LEN) {
    const [s, e] = r.range(what);
    if (wire === WIRE_FIXED32 && (e - s) % 4 !== 0) r.fail(`packed float run of ${e - s} bytes`, what, s);
    if (wire === WIRE_FIXED64 && (e - s) % 8 !== 0) r.fail(`packed double run of ${e - s} bytes`, what, s);
    if (wire === WIRE_VARINT && e > s && r.bytes[e - 1]! >= 0x80) r.fail('packed varint run ends mid-varint', what, e - 1);
    runs.push({ packed: true, s, e });
    return;
  }
  r.expect(wire, what);
  const s = r.pos;
  r.skip(what);
  runs.push({ packed: false, s, e: r.pos });
}

const FIELD_NAMES: Record<number, string> = {
  [T_FLOAT_DATA]: 'float_data',
  [T_INT32_DATA]: 'int32_data',
  [T_INT64_DATA]: 'int64_data',
  [T_DOUBLE_DATA]: 'double_data',
  [T_UINT64_DATA]: 'uint64_data',
  [T_STRING_DATA]: 'string_data',
};

export function readStringEntry(r: ProtoReader, path: string): [string, string] {
  let key = '';
  let value = '';
  while (r.next(path)) {
    if (r.field === 1) key = r.string(`${path}.key`);
    else if (r.field === 2) value = r.string(`${path}.value`);
    else r.skip(path);
  }
  return [key, value];
}

export function dtypeFromCode(code: number, what: string): DType {
  const dtype = ONNX_DTYPE_CODES[code];
  if (dtype === undefined) {
    throw new UnsupportedError(`${what}: ONNX data type ${code} is not supported`);
  }
  return dtype;
}

/**
 * Checks dims and returns the element count, refusing (before any allocation) negative dims, counts
 * past Number.MAX_SAFE_INTEGER, and tensors whose storage would exceed the limit.
 */
export function checkedElementCount(dims: readonly number[], dtype: DType, limit: number, what: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new LimitError(`${what}: invalid dim ${d} in [${dims.join(',')}]`);
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) throw new LimitError(`${what}: dims [${dims.join(',')}] overflow the element count`);
  }
  const bytes = n * (dtype === 'string' ? 8 : storageBytes(dtype));
  if (bytes > limit) {
    throw new LimitError(`${what}: dims [${dims.join(',')}] of ${dtype} need ${bytes} bytes, over the ${limit}-byte limit`);
  }
  return n;
}

/** Reads one TensorProto message. */
export function readTensor(r: ProtoReader, path: string, options: LoadOptions): TensorData & { name: string } {
  const f = gatherTensorFields(r, path);
  const what = f.name ? `${path}('${f.name}')` : path;
  if (f.dataType === 0) throw new DecodeError('tensor has no data_type', f.at, what);
  const dtype = dtypeFromCode(f.dataType, what);
  const limit = options.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES;
  const n = checkedElementCount(f.dims, dtype, limit, what);
  const shape = f.dims;
  let data: Data;
  if (f.dataLocation === DATA_LOCATION_EXTERNAL) {
    const bytes = readExternal(f, what, options);
    data = decodeRaw(bytes, 0, bytes.length, dtype, n, f.at, what);
  } else if (f.raw !== undefined) {
    data = decodeRaw(r.bytes, f.raw[0], f.raw[1], dtype, n, f.raw[0], `${what}.raw_data`);
  } else if (dtype === 'string') {
    if (f.strings.length !== n) {
      throw new DecodeError(`string_data has ${f.strings.length} elements but dims [${shape}] need ${n}`, f.at, what);
    }
    const td = new TextDecoder('utf-8');
    data = f.strings.map((b) => td.decode(b));
  } else {
    data = decodeTyped(r, f, dtype, n, what);
  }
  return { name: f.name, dtype, shape, data };
}

function readExternal(f: TensorFields, what: string, options: LoadOptions): Uint8Array {
  const location = f.external.get('location');
  if (location === undefined || location === '') throw new DecodeError('external data without a location', f.at, what);
  checkExternalLocation(location, what);
  const offset = parseExternalNumber(f.external.get('offset'), 'offset', f.at, what) ?? 0;
  const length = parseExternalNumber(f.external.get('length'), 'length', f.at, what);
  if (options.externalData === undefined) {
    throw new TinferError(
      `${what}: tensor data is stored externally in '${location}' but no externalData reader was given (pass LoadOptions.externalData, or load from a file path)`,
    );
  }
  const limit = options.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES;
  if (length !== undefined && length > limit) {
    throw new LimitError(`${what}: external data length ${length} is over the ${limit}-byte limit`);
  }
  const bytes = options.externalData(location, offset, length);
  if (length !== undefined && bytes.length !== length) {
    throw new DecodeError(`external data '${location}' returned ${bytes.length} bytes, expected ${length}`, f.at, what);
  }
  return bytes;
}

/** External data must stay inside the model's directory: relative, with no '..' segments. */
export function checkExternalLocation(location: string, what: string): void {
  const absolute = location.startsWith('/') || location.startsWith('\\') || /^[A-Za-z]:/.test(location);
  const escapes = location.split(/[\\/]/).some((seg) => seg === '..');
  if (absolute || escapes || location.includes('\0')) {
    throw new TinferError(`${what}: external data location '${location}' must be a relative path inside the model's directory`);
  }
}

function parseExternalNumber(v: string | undefined, key: string, at: number, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new DecodeError(`external data ${key} '${v}' is not a non-negative integer`, at, what);
  }
  return Number(v);
}

/** Bytes raw_data must have for n elements of dtype (int4/uint4 are packed two per byte). */
function rawByteLength(dtype: DType, n: number): number {
  switch (dtype) {
    case 'int4':
    case 'uint4':
      return Math.ceil(n / 2);
    case 'float16':
    case 'bfloat16':
      return 2 * n;
    case 'float8e4m3fn':
    case 'float8e4m3fnuz':
    case 'float8e5m2':
    case 'float8e5m2fnuz':
      return n;
    default:
      return storageBytes(dtype) * n;
  }
}

/** Decodes little-endian raw bytes [s, e) into fresh aligned storage. */
export function decodeRaw(bytes: Uint8Array, s: number, e: number, dtype: DType, n: number, at: number, what: string): Data {
  if (dtype === 'string') throw new DecodeError('string tensors cannot use raw_data', at, what);
  const expected = rawByteLength(dtype, n);
  if (e - s !== expected) {
    throw new DecodeError(`raw_data has ${e - s} bytes but ${n} elements of ${dtype} need ${expected}`, at, what);
  }
  if (isNarrowFloat(dtype)) return widenNarrowRaw(bytes, s, dtype, n);
  if (dtype === 'int4' || dtype === 'uint4') return unpackInt4(bytes, s, n, dtype === 'int4');
  const width = storageBytes(dtype);
  let out: Exclude<Data, string[]>;
  if (HOST_IS_LITTLE_ENDIAN || width === 1) {
    // slice() copies into a fresh, aligned buffer without zero-filling it first.
    out = new (storageCtor(dtype))(new Uint8Array(bytes.buffer, bytes.byteOffset + s, e - s).slice().buffer, 0, n);
  } else {
    out = allocData(dtype, n) as Exclude<Data, string[]>;
    copyLittleEndian(bytes, s, out);
  }
  if (dtype === 'bool') normaliseBool(out as Uint8Array);
  return out;
}

function copyLittleEndian(bytes: Uint8Array, s: number, out: Exclude<Data, string[]>): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + s);
  const n = out.length;
  if (out instanceof Float32Array) for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
  else if (out instanceof Float64Array) for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
  else if (out instanceof Int32Array) for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
  else if (out instanceof Uint32Array) for (let i = 0; i < n; i++) out[i] = dv.getUint32(4 * i, true);
  else if (out instanceof Int16Array) for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true);
  else if (out instanceof Uint16Array) for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, true);
  else if (out instanceof BigInt64Array) for (let i = 0; i < n; i++) out[i] = dv.getBigInt64(8 * i, true);
  else if (out instanceof BigUint64Array) for (let i = 0; i < n; i++) out[i] = dv.getBigUint64(8 * i, true);
}

function normaliseBool(out: Uint8Array): void {
  for (let i = 0; i < out.length; i++) if (out[i]! > 1) out[i] = 1;
}

/** A decode table for all bit patterns of a narrow float format (local: built per large tensor). */
function narrowTable(dtype: NarrowFloatDType): Float32Array {
  const size = dtype === 'float16' || dtype === 'bfloat16' ? 65536 : 256;
  const t = new Float32Array(size);
  for (let b = 0; b < size; b++) t[b] = narrowFloatBitsToNumber(dtype, b);
  return t;
}

/**
 * IEEE binary16 → binary32 by moving the bit fields (exact, no table): normals rebias the exponent (15 → 127),
 * Inf/NaN keep their mantissa, zero and subnormals are m · 2^-24 (exact in float32).
 */
function widenFloat16Raw(bytes: Uint8Array, s: number, n: number): Float32Array {
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const h = bytes[s + 2 * i]! | (bytes[s + 2 * i + 1]! << 8);
    const sign = (h & 0x8000) << 16;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) out[i] = (sign ? -1 : 1) * m * 2 ** -24;
    else if (e === 31) bits[i] = sign | 0x7f800000 | (m << 13);
    else bits[i] = sign | ((e + 112) << 23) | (m << 13);
  }
  return out;
}

function widenNarrowRaw(bytes: Uint8Array, s: number, dtype: NarrowFloatDType, n: number): Float32Array {
  if (dtype === 'float16') return widenFloat16Raw(bytes, s, n);
  const out = new Float32Array(n);
  const wide = dtype === 'bfloat16';
  if (n > 4096 || !wide) {
    const t = narrowTable(dtype);
    if (wide) for (let i = 0; i < n; i++) out[i] = t[bytes[s + 2 * i]! | (bytes[s + 2 * i + 1]! << 8)]!;
    else for (let i = 0; i < n; i++) out[i] = t[bytes[s + i]!]!;
  } else {
    for (let i = 0; i < n; i++) out[i] = narrowFloatBitsToNumber(dtype, bytes[s + 2 * i]! | (bytes[s + 2 * i + 1]! << 8));
  }
  return out;
}

/** Unpacks n int4/uint4 values, two per byte (low nibble first), into one byte each (sign-extended for int4). */
function unpackInt4(bytes: ArrayLike<number>, s: number, n: number, signed: boolean): Int8Array | Uint8Array {
  const out = signed ? new Int8Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const byte = bytes[s + (i >> 1)]! & 0xff;
    const nibble = i & 1 ? byte >> 4 : byte & 0x0f;
    out[i] = signed && nibble >= 8 ? nibble - 16 : nibble;
  }
  return out;
}

function countRunElements(r: ProtoReader, runs: DataRun[], field: number): number {
  let n = 0;
  for (const run of runs) {
    if (!run.packed) n++;
    else if (field === T_FLOAT_DATA) n += (run.e - run.s) / 4;
    else if (field === T_DOUBLE_DATA) n += (run.e - run.s) / 8;
    else n += countVarints(r.bytes, run.s, run.e);
  }
  return n;
}

/** Calls `each` for every element of a typed field's runs, with a reader positioned at it. */
function forEachElement(r: ProtoReader, runs: DataRun[], each: (x: ProtoReader) => void): void {
  for (const run of runs) {
    const x = r.sub(run.s, run.e);
    if (run.packed) while (x.pos < x.end) each(x);
    else each(x);
  }
}

function decodeTyped(r: ProtoReader, f: TensorFields, dtype: DType, n: number, what: string): Data {
  const field = typedField(dtype);
  const fieldWhat = `${what}.${FIELD_NAMES[field]}`;
  const runs = f.runs.get(field) ?? [];
  const count = countRunElements(r, runs, field);
  const packedInt4 = dtype === 'int4' || dtype === 'uint4';
  const expected = packedInt4 ? Math.ceil(n / 2) : n;
  if (count !== expected) {
    const others = [...f.runs.keys()].filter((k) => k !== field).map((k) => FIELD_NAMES[k]);
    const note = others.length ? ` (data found in ${others.join(', ')}, which does not hold ${dtype})` : '';
    throw new DecodeError(`${FIELD_NAMES[field]} has ${count} elements but dims [${f.dims}] need ${expected}${note}`, f.at, what);
  }
  if (packedInt4) {
    const bytes = new Uint8Array(count);
    let i = 0;
    forEachElement(r, runs, (x) => (bytes[i++] = x.int32(fieldWhat) & 0xff));
    return unpackInt4(bytes, 0, n, dtype === 'int4');
  }
  if (isNarrowFloat(dtype)) {
    const out = new Float32Array(n);
    let i = 0;
    forEachElement(r, runs, (x) => (out[i++] = narrowFloatBitsToNumber(dtype, x.int32(fieldWhat))));
    return out;
  }
  const out = new (storageCtor(dtype))(n);
  let i = 0;
  if (out instanceof BigInt64Array) forEachElement(r, runs, (x) => (out[i++] = x.int64BigInt(fieldWhat)));
  else if (out instanceof BigUint64Array) forEachElement(r, runs, (x) => (out[i++] = x.uint64BigInt(fieldWhat)));
  else if (field === T_FLOAT_DATA) forEachElement(r, runs, (x) => (out[i++] = x.float32(fieldWhat)));
  else if (field === T_DOUBLE_DATA) forEachElement(r, runs, (x) => (out[i++] = x.float64(fieldWhat)));
  else if (field === T_UINT64_DATA) forEachElement(r, runs, (x) => (out[i++] = x.uint64(fieldWhat)));
  else if (dtype === 'bool') forEachElement(r, runs, (x) => (out[i++] = x.int64(fieldWhat) !== 0 ? 1 : 0));
  else forEachElement(r, runs, (x) => (out[i++] = x.int32(fieldWhat)));
  return out;
}

/**
 * Reads a SparseTensorProto and densifies it: values[k] goes to the position given by indices[k],
 * either linear ([NNZ] indices) or coordinates ([NNZ, rank] indices). Positions are bounds-checked.
 */
export function readSparseTensor(r: ProtoReader, path: string, options: LoadOptions): TensorData & { name: string } {
  let values: (TensorData & { name: string }) | undefined;
  let indices: (TensorData & { name: string }) | undefined;
  const dims: number[] = [];
  const at = r.start;
  while (r.next(path)) {
    if (r.field === 1) values = readTensor(r.message(`${path}.values`), `${path}.values`, options);
    else if (r.field === 2) indices = readTensor(r.message(`${path}.indices`), `${path}.indices`, options);
    else if (r.field === 3) r.repeated(WIRE_VARINT, `${path}.dims`, (x) => dims.push(x.int64(`${path}.dims`)));
    else r.skip(path);
  }
  if (values === undefined) throw new DecodeError('sparse tensor has no values', at, path);
  const what = values.name ? `${path}('${values.name}')` : path;
  const limit = options.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES;
  const n = checkedElementCount(dims, values.dtype, limit, what);
  const nnz = values.data.length;
  if (values.shape.length !== 1) throw new DecodeError(`sparse values must be 1-D, got [${values.shape}]`, at, what);
  const idx = indices?.data;
  if (nnz > 0 && (indices === undefined || !(idx instanceof BigInt64Array))) {
    throw new DecodeError('sparse tensor indices must be an int64 tensor', at, what);
  }
  const dense = allocData(values.dtype, n);
  if (nnz === 0) return { name: values.name, dtype: values.dtype, shape: dims, data: dense };
  const ishape = indices!.shape;
  const coords = ishape.length === 2;
  if (!(ishape.length === 1 && ishape[0] === nnz) && !(coords && ishape[0] === nnz && ishape[1] === dims.length)) {
    throw new DecodeError(`sparse indices shape [${ishape}] does not fit ${nnz} values of rank ${dims.length}`, at, what);
  }
  const strides = dims.map((_, i) => sizeOf(dims.slice(i + 1)));
  for (let k = 0; k < nnz; k++) {
    let pos = 0;
    if (coords) {
      for (let d = 0; d < dims.length; d++) {
        const c = Number((idx as BigInt64Array)[k * dims.length + d]);
        if (c < 0 || c >= dims[d]!) throw new DecodeError(`sparse index ${c} out of range for dim ${d} (${dims[d]})`, at, what);
        pos += c * strides[d]!;
      }
    } else {
      pos = Number((idx as BigInt64Array)[k]);
      if (pos < 0 || pos >= n) throw new DecodeError(`sparse index ${pos} out of range for ${n} elements`, at, what);
    }
    (dense as unknown[])[pos] = (values.data as unknown[])[k];
  }
  return { name: values.name, dtype: values.dtype, shape: dims, data: dense };
}
