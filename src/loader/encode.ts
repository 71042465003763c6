/**
 * The inverse of onnx.ts: a protobuf writer and ModelProto / TensorProto encoders. Numeric tensors go
 * to raw_data (little-endian); narrow floats are written back in their real encoding (float16 bits,
 * float8 bytes, int4 nibbles); strings go to string_data.
 */
import { DTYPE_TO_ONNX_CODE, type TensorData } from '../dtype.js';
import { UnsupportedError } from '../errors.js';
import { isNarrowFloat, numberToNarrowFloatBits } from './float16.js';
import type { Attribute, FunctionDef, Graph, Model, Node, ValueInfo, ValueType } from './model.js';
import { HOST_IS_LITTLE_ENDIAN, WIRE_FIXED32, WIRE_LEN, WIRE_VARINT } from './protobuf.js';

const utf8 = new TextEncoder();

/** An append-only protobuf writer; nested messages are written by a callback and length-prefixed. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;
  private readonly scratch = new DataView(new ArrayBuffer(8));

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  tag(field: number, wireType: number): void {
    this.uvarint(field * 8 + wireType);
  }

  /** A non-negative integer below 2^53 as a varint. */
  uvarint(v: number): void {
    this.reserve(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  /** A signed int64 as protobuf writes it (negative values as 10-byte two's complement). */
  int64(v: number): void {
    if (v >= 0) this.uvarint(v);
    else this.bigVarint(BigInt.asUintN(64, BigInt(Math.trunc(v))));
  }

  bigVarint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    this.reserve(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
  }

  float32(v: number): void {
    this.scratch.setFloat32(0, v, true);
    this.reserve(4);
    for (let i = 0; i < 4; i++) this.buf[this.len++] = this.scratch.getUint8(i);
  }

  bytes(b: Uint8Array): void {
    this.uvarint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  // Field helpers.

  varintField(field: number, v: number): void {
    this.tag(field, WIRE_VARINT);
    this.int64(v);
  }

  floatField(field: number, v: number): void {
    this.tag(field, WIRE_FIXED32);
    this.float32(v);
  }

  bytesField(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.bytes(b);
  }

  stringField(field: number, s: string): void {
    this.bytesField(field, utf8.encode(s));
  }

  /** Writes `field` only when s is non-empty (proto3 default elision). */
  optionalString(field: number, s: string | undefined): void {
    if (s) this.stringField(field, s);
  }

  messageField(field: number, write: (w: ProtoWriter) => void): void {
    const child = new ProtoWriter();
    write(child);
    this.bytesField(field, child.finish());
  }

  packedVarints(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    const child = new ProtoWriter();
    for (const v of values) child.int64(v);
    this.bytesField(field, child.finish());
  }

  packedFloats(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    const child = new ProtoWriter();
    for (const v of values) child.float32(v);
    this.bytesField(field, child.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Encodes a tensor as a TensorProto. */
export function encodeTensor(t: TensorData, name = ''): Uint8Array {
  const w = new ProtoWriter();
  writeTensor(w, t, name);
  return w.finish();
}

function writeTensor(w: ProtoWriter, t: TensorData, name: string): void {
  w.packedVarints(1, t.shape);
  w.varintField(2, DTYPE_TO_ONNX_CODE[t.dtype]);
  if (t.dtype === 'string') {
    for (const s of t.data as string[]) w.stringField(6, s);
  }
  w.optionalString(8, name);
  if (t.dtype !== 'string') w.bytesField(9, rawBytes(t));
}

/** Little-endian raw_data bytes for a numeric tensor, narrowing widened storage to its real encoding. */
function rawBytes(t: TensorData): Uint8Array {
  const data = t.data as Exclude<TensorData['data'], string[] | TensorData[]>;
  const n = data.length;
  if (isNarrowFloat(t.dtype)) {
    const dtype = t.dtype;
    if (dtype === 'float16' || dtype === 'bfloat16') {
      const out = new Uint8Array(2 * n);
      for (let i = 0; i < n; i++) {
        const bits = numberToNarrowFloatBits(dtype, data[i] as number, false);
        out[2 * i] = bits & 0xff;
        out[2 * i + 1] = bits >> 8;
      }
      return out;
    }
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = numberToNarrowFloatBits(dtype, data[i] as number, false);
    return out;
  }
  if (t.dtype === 'int4' || t.dtype === 'uint4') {
    const out = new Uint8Array(Math.ceil(n / 2));
    for (let i = 0; i < n; i++) out[i >> 1]! |= ((data[i] as number) & 0x0f) << (i & 1 ? 4 : 0);
    return out;
  }
  if (t.dtype === 'bool') {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = data[i] ? 1 : 0;
    return out;
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  if (!HOST_IS_LITTLE_ENDIAN && data.BYTES_PER_ELEMENT > 1) {
    const k = data.BYTES_PER_ELEMENT;
    for (let i = 0; i < bytes.length; i += k) bytes.subarray(i, i + k).reverse();
  }
  return bytes;
}

/** Encodes a model as a ModelProto (.onnx bytes). */
export function encodeModel(model: Model): Uint8Array {
  const w = new ProtoWriter();
  w.varintField(1, model.irVersion);
  w.optionalString(2, model.producerName);
  w.optionalString(3, model.producerVersion);
  w.optionalString(4, model.domain);
  if (model.modelVersion) w.varintField(5, model.modelVersion);
  w.optionalString(6, model.docString);
  w.messageField(7, (g) => writeGraph(g, model.graph));
  for (const [domain, version] of model.opsets) w.messageField(8, (o) => writeOpset(o, domain, version));
  for (const [k, v] of model.metadata) w.messageField(14, (e) => writeStringEntry(e, k, v));
  for (const fn of model.functions as FunctionDef[]) w.messageField(25, (f) => writeFunction(f, fn));
  return w.finish();
}

function writeOpset(w: ProtoWriter, domain: string, version: number): void {
  w.optionalString(1, domain);
  w.varintField(2, version);
}

function writeStringEntry(w: ProtoWriter, key: string, value: string): void {
  w.stringField(1, key);
  w.stringField(2, value);
}

function writeGraph(w: ProtoWriter, g: Graph): void {
  for (const node of g.nodes) w.messageField(1, (n) => writeNode(n, node));
  w.optionalString(2, g.name);
  for (const [name, t] of g.initializers) w.messageField(5, (x) => writeTensor(x, t, name));
  for (const v of g.inputs) w.messageField(11, (x) => writeValueInfo(x, v));
  for (const v of g.outputs) w.messageField(12, (x) => writeValueInfo(x, v));
  for (const v of g.valueInfo) w.messageField(13, (x) => writeValueInfo(x, v));
}

function writeNode(w: ProtoWriter, node: Node): void {
  for (const i of node.inputs) w.stringField(1, i);
  for (const o of node.outputs) w.stringField(2, o);
  w.optionalString(3, node.name);
  w.stringField(4, node.opType);
  for (const [name, a] of node.attributes) w.messageField(5, (x) => writeAttribute(x, name, a));
  for (const [name, ref] of node.attributeRefs ?? []) {
    w.messageField(5, (x) => {
      x.stringField(1, name);
      x.stringField(21, ref);
    });
  }
  w.optionalString(7, node.domain);
}

const ATTR_TYPE_CODES: Record<Attribute['type'], number> = {
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  graph: 5,
  floats: 6,
  ints: 7,
  strings: 8,
  tensors: 9,
  graphs: 10,
  sparse_tensor: 11,
  sparse_tensors: 12,
  type_proto: 13,
  type_protos: 14,
};

function writeAttribute(w: ProtoWriter, name: string, a: Attribute): void {
  w.stringField(1, name);
  w.varintField(20, ATTR_TYPE_CODES[a.type]);
  switch (a.type) {
    case 'float':
      return w.floatField(2, a.value);
    case 'int':
      return w.varintField(3, a.value);
    case 'string':
      return w.stringField(4, a.value);
    case 'tensor':
      return w.messageField(5, (x) => writeTensor(x, a.value, ''));
    case 'graph':
      return w.messageField(6, (x) => writeGraph(x, a.value));
    case 'floats':
      return w.packedFloats(7, a.value);
    case 'ints':
      return w.packedVarints(8, a.value);
    case 'strings':
      for (const s of a.value) w.stringField(9, s);
      return;
    case 'tensors':
      for (const t of a.value) w.messageField(10, (x) => writeTensor(x, t, ''));
      return;
    case 'graphs':
      for (const g of a.value) w.messageField(11, (x) => writeGraph(x, g));
      return;
    case 'type_proto':
      return w.messageField(14, (x) => writeType(x, a.value));
    case 'type_protos':
      for (const t of a.value) w.messageField(15, (x) => writeType(x, t));
      return;
    // Sparse attributes are densified by the decoder; written back as sparse tensors with every element.
    case 'sparse_tensor':
      return w.messageField(22, (x) => writeDenseAsSparse(x, a.value));
    case 'sparse_tensors':
      for (const t of a.value) w.messageField(23, (x) => writeDenseAsSparse(x, t));
      return;
  }
}

/** A SparseTensorProto holding every element of a dense tensor (linear int64 indices). */
function writeDenseAsSparse(w: ProtoWriter, t: TensorData): void {
  const n = t.data.length;
  w.messageField(1, (x) => writeTensor(x, { dtype: t.dtype, shape: [n], data: t.data }, ''));
  const idx = new BigInt64Array(n);
  for (let i = 0; i < n; i++) idx[i] = BigInt(i);
  w.messageField(2, (x) => writeTensor(x, { dtype: 'int64', shape: [n], data: idx }, ''));
  w.packedVarints(3, t.shape);
}

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.stringField(1, v.name);
  if (v.type.kind !== 'unknown') w.messageField(2, (x) => writeType(x, v.type));
  w.optionalString(3, v.docString);
}

function writeType(w: ProtoWriter, t: ValueType): void {
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor':
      return w.messageField(t.kind === 'tensor' ? 1 : 8, (x) => {
        x.varintField(1, DTYPE_TO_ONNX_CODE[t.dtype]);
        if (t.shape !== null) {
          const shape = t.shape;
          x.messageField(2, (s) => {
            for (const d of shape) {
              s.messageField(1, (dim) => {
                if (typeof d === 'number') dim.varintField(1, d);
                else if (typeof d === 'string') dim.stringField(2, d);
              });
            }
          });
        }
      });
    case 'sequence':
    case 'optional': {
      const elem = t.elem;
      return w.messageField(t.kind === 'sequence' ? 4 : 9, (x) => {
        if (elem !== null) x.messageField(1, (e) => writeType(e, elem));
      });
    }
    case 'map':
      return w.messageField(5, () => {});
    case 'unknown':
      return;
    default:
      throw new UnsupportedError(`cannot encode value type ${(t as { kind: string }).kind}`);
  }
}

function writeFunction(w: ProtoWriter, fn: FunctionDef): void {
  w.stringField(1, fn.name);
  for (const i of fn.inputs) w.stringField(4, i);
  for (const o of fn.outputs) w.stringField(5, o);
  for (const a of fn.attributeNames) w.stringField(6, a);
  for (const node of fn.nodes) w.messageField(7, (n) => writeNode(n, node));
  w.optionalString(8, fn.docString);
  for (const [domain, version] of fn.opsets) w.messageField(9, (o) => writeOpset(o, domain, version));
  w.optionalString(10, fn.domain);
  for (const [name, a] of fn.attributeDefaults) w.messageField(11, (x) => writeAttribute(x, name, a));
  for (const v of fn.valueInfo) w.messageField(12, (x) => writeValueInfo(x, v));
  w.optionalString(13, fn.overload);
}
