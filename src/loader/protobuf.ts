/**
 * A protobuf wire-format reader over a Uint8Array (https://protobuf.dev/programming-guides/encoding/).
 * Every length is checked against the bytes that remain, and every failure is a DecodeError naming
 * the byte offset and the field being read. Group wire types (3/4) are rejected: ONNX never uses them.
 */
import { DecodeError } from '../errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** Message nesting deeper than this is refused (hostile files could otherwise exhaust the stack). */
export const MAX_MESSAGE_DEPTH = 256;

const TWO_POW_32 = 4294967296;
/** Strings up to this many bytes are shared between reads (see ProtoReader.strings). */
const MAX_SHARED_STRING = 64;
const utf8 = new TextDecoder('utf-8');

export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function wireTypeName(wt: number): string {
  switch (wt) {
    case WIRE_VARINT:
      return 'varint';
    case WIRE_FIXED64:
      return 'fixed64';
    case WIRE_LEN:
      return 'length-delimited';
    case 3:
    case 4:
      return 'group';
    case WIRE_FIXED32:
      return 'fixed32';
    default:
      return `invalid(${wt})`;
  }
}

/**
 * Reads one message: `pos` walks from `start` to `end`. A nested message gets its own reader over its
 * byte range via `message()`, so a length can never reach past its parent.
 */
export class ProtoReader {
  pos: number;
  /** Field number and wire type of the last tag read by next(). */
  field = 0;
  wireType = 0;
  /** Low and high 32 bits of the last varint read (two's complement for negative int64). */
  private lo = 0;
  private hi = 0;
  private dataView: DataView | undefined;

  readonly bytes: Uint8Array;
  /**
   * Short ASCII strings already decoded in this message tree, by a hash of their bytes: a model names each value
   * two or three times (its producer's output, its readers' inputs) and repeats op types and domains, so most reads
   * return a string made before (one string object per name, its hash computed once for every map it keys).
   */
  private readonly strings: Map<number, string>;

  constructor(
    bytes: Uint8Array,
    readonly start = 0,
    readonly end = bytes.length,
    readonly depth = 0,
    strings?: Map<number, string>,
  ) {
    // A Node Buffer's slice() shares memory; a plain Uint8Array view makes slice() copy, as decoding expects.
    this.bytes = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
    this.strings = strings ?? new Map();
  }

  /** Made on first use: most messages hold no fixed-width field. */
  private get view(): DataView {
    return (this.dataView ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength));
  }

  fail(message: string, what: string, at = this.pos): never {
    throw new DecodeError(message, at, what);
  }

  /** Reads the next tag; false at the end of the message. */
  next(what: string): boolean {
    if (this.pos >= this.end) return false;
    const at = this.pos;
    const tag = this.uint53(what);
    this.field = Math.floor(tag / 8);
    this.wireType = tag % 8;
    if (this.field === 0 || this.field > 0x1fffffff) this.fail(`invalid field number ${this.field}`, what, at);
    if (this.wireType === 3 || this.wireType === 4) {
      this.fail(`group wire type (${this.wireType}) in field ${this.field} is not supported`, what, at);
    }
    if (this.wireType > 5) this.fail(`invalid wire type ${this.wireType} in field ${this.field}`, what, at);
    return true;
  }

  /** Throws unless the current field has the given wire type. */
  expect(wireType: number, what: string): void {
    if (this.wireType !== wireType) {
      this.fail(
        `field ${this.field} has wire type ${wireTypeName(this.wireType)}, expected ${wireTypeName(wireType)}`,
        what,
      );
    }
  }

  /** Skips the current field's value (unknown fields). */
  skip(what: string): void {
    switch (this.wireType) {
      case WIRE_VARINT:
        this.rawVarint(what);
        return;
      case WIRE_FIXED64:
        this.advance(8, what);
        return;
      case WIRE_FIXED32:
        this.advance(4, what);
        return;
      case WIRE_LEN:
        this.advance(this.length(what), what);
        return;
      default:
        this.fail(`cannot skip wire type ${this.wireType}`, what);
    }
  }

  private advance(n: number, what: string): number {
    const at = this.pos;
    if (n > this.end - at) this.fail(`needs ${n} bytes but only ${this.end - at} remain`, what);
    this.pos = at + n;
    return at;
  }

  /** Reads a varint of up to 10 bytes into lo/hi (64-bit, wrapping like protobuf). */
  private rawVarint(what: string): void {
    const b = this.bytes;
    let p = this.pos;
    const end = this.end;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; ; i++) {
      if (p >= end) this.fail('truncated varint', what, p);
      if (i >= 10) this.fail('varint longer than 10 bytes', what, p);
      const byte = b[p++]!;
      if (i < 4) lo |= (byte & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x7f) >> 4;
      } else hi |= (byte & 0x7f) << (7 * i - 32);
      if (byte < 0x80) break;
    }
    this.pos = p;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** A varint as an unsigned number; refuses values beyond 2^53 (used for tags and lengths). */
  private uint53(what: string): number {
    const at = this.pos;
    this.rawVarint(what);
    if (this.hi > 0x1fffff) this.fail('varint too large', what, at);
    return this.hi * TWO_POW_32 + this.lo;
  }

  /** An int64/int32/enum varint as a signed number (exact for |v| < 2^53). */
  int64(what: string): number {
    this.rawVarint(what);
    return (this.hi | 0) * TWO_POW_32 + this.lo;
  }

  /** A uint64 varint as a number (exact below 2^53). */
  uint64(what: string): number {
    this.rawVarint(what);
    return this.hi * TWO_POW_32 + this.lo;
  }

  /** An int32 varint (negative int32 values are sign-extended to 10 bytes on the wire). */
  int32(what: string): number {
    this.rawVarint(what);
    return this.lo | 0;
  }

  int64BigInt(what: string): bigint {
    this.rawVarint(what);
    if (this.hi === 0) return BigInt(this.lo);
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(this.lo));
  }

  uint64BigInt(what: string): bigint {
    this.rawVarint(what);
    if (this.hi === 0) return BigInt(this.lo);
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  bool(what: string): boolean {
    this.rawVarint(what);
    return (this.lo | this.hi) !== 0;
  }

  float32(what: string): number {
    return this.view.getFloat32(this.advance(4, what), true);
  }

  float64(what: string): number {
    return this.view.getFloat64(this.advance(8, what), true);
  }

  fixed32(what: string): number {
    return this.view.getUint32(this.advance(4, what), true);
  }

  /** A length prefix, checked against the bytes that remain. */
  length(what: string): number {
    const at = this.pos;
    const n = this.uint53(what);
    if (n > this.end - this.pos) this.fail(`length ${n} exceeds the ${this.end - this.pos} bytes that remain`, what, at);
    return n;
  }

  /** The byte range [start, end) of the current length-delimited field, consumed. */
  range(what: string): [number, number] {
    this.expect(WIRE_LEN, what);
    const n = this.length(what);
    const s = this.advance(n, what);
    return [s, s + n];
  }

  /** A length-delimited field as a view (no copy). */
  bytesView(what: string): Uint8Array {
    const [s, e] = this.range(what);
    return this.bytes.subarray(s, e);
  }

  string(what: string): string {
    this.expect(WIRE_LEN, what);
    const n = this.length(what);
    const s = this.advance(n, what);
    if (n === 0) return '';
    if (n > MAX_SHARED_STRING) return utf8.decode(this.bytes.subarray(s, s + n));
    const b = this.bytes;
    let h = n;
    for (let i = s; i < s + n; i++) {
      const c = b[i]!;
      if (c >= 0x80) return utf8.decode(b.subarray(s, s + n));
      h = Math.imul(h ^ c, 0x01000193);
    }
    const hit = this.strings.get(h);
    if (hit !== undefined && hit.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (hit.charCodeAt(i) !== b[s + i]) {
          same = false;
          break;
        }
      }
      if (same) return hit;
    }
    const str = utf8.decode(b.subarray(s, s + n));
    this.strings.set(h, str);
    return str;
  }

  /** A reader over the current length-delimited field (a nested message). */
  message(what: string): ProtoReader {
    this.expect(WIRE_LEN, what);
    const n = this.length(what);
    const s = this.advance(n, what);
    if (this.depth + 1 > MAX_MESSAGE_DEPTH) {
      this.fail(`messages nested deeper than ${MAX_MESSAGE_DEPTH}`, what, s);
    }
    return new ProtoReader(this.bytes, s, s + n, this.depth + 1, this.strings);
  }

  /** A reader over [s, e) at the same depth, used to re-read a recorded range. */
  sub(s: number, e: number): ProtoReader {
    return new ProtoReader(this.bytes, s, e, this.depth, this.strings);
  }

  /**
   * Reads a repeated scalar field in either encoding, packed (one length-delimited run) or not
   * (one value per tag), calling `each` per element. `scalarWire` is the unpacked wire type.
   */
  repeated(scalarWire: number, what: string, each: (r: ProtoReader) => void): void {
    if (this.wireType === WIRE_LEN) {
      const [s, e] = this.range(what);
      const r = this.sub(s, e);
      if (scalarWire === WIRE_FIXED32 && (e - s) % 4 !== 0) this.fail(`packed fixed32 run of ${e - s} bytes`, what, s);
      if (scalarWire === WIRE_FIXED64 && (e - s) % 8 !== 0) this.fail(`packed fixed64 run of ${e - s} bytes`, what, s);
      while (r.pos < r.end) each(r);
      return;
    }
    this.expect(scalarWire, what);
    each(this);
  }
}

/** Number of varints in [s, e) (bytes without the continuation bit); the last must be complete. */
export function countVarints(bytes: Uint8Array, s: number, e: number): number {
  let n = 0;
  for (let i = s; i < e; i++) if (bytes[i]! < 0x80) n++;
  return n;
}
