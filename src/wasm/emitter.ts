/**
 * A small WebAssembly assembler: binary module encoding (WebAssembly Core Specification 2.0, chapter 5
 * "Binary Format", plus the fixed-width SIMD and relaxed-SIMD proposals) and a function-body builder with
 * the instructions our kernels use. The runtime writes its kernels' bytes with this at load time, so nothing
 * binary is committed and no toolchain is needed.
 */

/** Value types (spec 5.3.1). */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof V128;

/** Unsigned LEB128 of a non-negative integer below 2^32. */
export function uleb(value: number, out: number[] = []): number[] {
  let v = value >>> 0;
  if (v !== value) throw new RangeError(`uleb: ${value} is not a u32`);
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of an integer in [-2^31, 2^31). */
export function sleb(value: number, out: number[] = []): number[] {
  let v = value | 0;
  if (v !== value) throw new RangeError(`sleb: ${value} is not an i32`);
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function f32Bytes(value: number): number[] {
  const b = new Uint8Array(new Float32Array([value]).buffer);
  return Array.from(b);
}

/** Binary encodings of the instructions the builder emits (spec 5.4). */
const OP = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f, call: 0x10,
  drop: 0x1a, select: 0x1b, localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, f32Load: 0x2a, i32Load8s: 0x2c, i32Load8u: 0x2d, i32Store: 0x36, f32Store: 0x38, i32Store8: 0x3a,
  memorySize: 0x3f, memoryGrow: 0x40,
  i32Const: 0x41, f32Const: 0x43,
} as const;

/** Plain (non-prefixed) numeric instructions by name. */
export const NUMERIC = {
  'i32.eqz': 0x45, 'i32.eq': 0x46, 'i32.ne': 0x47, 'i32.lt_s': 0x48, 'i32.lt_u': 0x49, 'i32.gt_s': 0x4a,
  'i32.gt_u': 0x4b, 'i32.le_s': 0x4c, 'i32.le_u': 0x4d, 'i32.ge_s': 0x4e, 'i32.ge_u': 0x4f,
  'f32.eq': 0x5b, 'f32.ne': 0x5c, 'f32.lt': 0x5d, 'f32.gt': 0x5e, 'f32.le': 0x5f, 'f32.ge': 0x60,
  'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c, 'i32.div_s': 0x6d, 'i32.div_u': 0x6e, 'i32.rem_s': 0x6f,
  'i32.rem_u': 0x70, 'i32.and': 0x71, 'i32.or': 0x72, 'i32.xor': 0x73, 'i32.shl': 0x74, 'i32.shr_s': 0x75,
  'i32.shr_u': 0x76,
  'f32.abs': 0x8b, 'f32.neg': 0x8c, 'f32.sqrt': 0x91, 'f32.add': 0x92, 'f32.sub': 0x93, 'f32.mul': 0x94,
  'f32.div': 0x95, 'f32.min': 0x96, 'f32.max': 0x97,
} as const;
export type NumericOp = keyof typeof NUMERIC;

/** SIMD instructions without immediates (0xfd prefix + u32 opcode; SIMD proposal and relaxed-SIMD proposal). */
export const SIMD = {
  'i8x16.splat': 0x0f, 'i16x8.splat': 0x10, 'i32x4.splat': 0x11, 'f32x4.splat': 0x13,
  'f32x4.eq': 0x41, 'f32x4.ne': 0x42, 'f32x4.lt': 0x43, 'f32x4.gt': 0x44, 'f32x4.le': 0x45, 'f32x4.ge': 0x46,
  'v128.not': 0x4d, 'v128.and': 0x4e, 'v128.andnot': 0x4f, 'v128.or': 0x50, 'v128.xor': 0x51,
  'v128.bitselect': 0x52,
  'i8x16.narrow_i16x8_s': 0x65, 'i8x16.narrow_i16x8_u': 0x66, 'i16x8.narrow_i32x4_s': 0x85,
  'i8x16.min_s': 0x76, 'i8x16.min_u': 0x77, 'i8x16.max_s': 0x78, 'i8x16.max_u': 0x79,
  'i16x8.extadd_pairwise_i8x16_s': 0x7c, 'i16x8.extadd_pairwise_i8x16_u': 0x7d, 'i32x4.extadd_pairwise_i16x8_s': 0x7e,
  'i16x8.extend_low_i8x16_s': 0x87, 'i16x8.extend_high_i8x16_s': 0x88,
  'i16x8.add': 0x8e, 'i16x8.sub': 0x91, 'i16x8.mul': 0x95,
  'i32x4.extend_low_i16x8_s': 0xa7, 'i32x4.extend_high_i16x8_s': 0xa8,
  'i32x4.add': 0xae, 'i32x4.sub': 0xb1, 'i32x4.mul': 0xb5, 'i32x4.dot_i16x8_s': 0xba,
  'f32x4.abs': 0xe0, 'f32x4.neg': 0xe1, 'f32x4.sqrt': 0xe3, 'f32x4.add': 0xe4, 'f32x4.sub': 0xe5,
  'f32x4.mul': 0xe6, 'f32x4.div': 0xe7, 'f32x4.min': 0xe8, 'f32x4.max': 0xe9, 'f32x4.pmin': 0xea,
  'f32x4.pmax': 0xeb,
  'i32x4.trunc_sat_f32x4_s': 0xf8, 'f32x4.convert_i32x4_s': 0xfa,
  'f64x2.splat': 0x14, 'f32x4.demote_f64x2_zero': 0x5e, 'f64x2.promote_low_f32x4': 0x5f,
  'f64x2.neg': 0xed, 'f64x2.add': 0xf0, 'f64x2.sub': 0xf1, 'f64x2.mul': 0xf2, 'f64x2.div': 0xf3,
  // Relaxed SIMD: a·b + c, fused or not at the engine's choice (relaxed-simd proposal, Overview.md).
  'f32x4.relaxed_madd': 0x105, 'f32x4.relaxed_nmadd': 0x106,
} as const;
export type SimdOp = keyof typeof SIMD;

/** SIMD memory instructions (each takes a memarg). */
const SIMD_MEM = {
  'v128.load': 0x00, 'v128.load8x8_s': 0x01, 'v128.load32_splat': 0x09, 'v128.store': 0x0b,
  'v128.load32_zero': 0x5c, 'v128.load64_zero': 0x5d,
} as const;
export type SimdMemOp = keyof typeof SIMD_MEM;

/** SIMD lane instructions (each takes a lane index byte). */
const SIMD_LANE = {
  'i32x4.extract_lane': 0x1b, 'i32x4.replace_lane': 0x1c, 'f32x4.extract_lane': 0x1f, 'f32x4.replace_lane': 0x20,
} as const;
export type SimdLaneOp = keyof typeof SIMD_LANE;

/**
 * Builds one function body. Parameters are locals 0..params.length-1; `local(type)` adds more.
 * Instructions append in order; structured control (block/loop/if) must be closed with end().
 */
export class FunctionBuilder {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  private readonly localTypes: ValType[] = [];
  private readonly code: number[] = [];
  private depth = 0;

  constructor(params: readonly ValType[], results: readonly ValType[] = []) {
    this.params = params;
    this.results = results;
  }

  /** A new local of `type`; returns its index. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  // The hottest instructions append straight into the code array (generation time is load time).
  get(index: number): this { this.code.push(OP.localGet); uleb(index, this.code); return this; }
  set(index: number): this { this.code.push(OP.localSet); uleb(index, this.code); return this; }
  tee(index: number): this { this.code.push(OP.localTee); uleb(index, this.code); return this; }

  i32(value: number): this { return this.emit(OP.i32Const, ...sleb(value | 0)); }
  f32(value: number): this { return this.emit(OP.f32Const, ...f32Bytes(value)); }
  op(name: NumericOp): this { this.code.push(NUMERIC[name]); return this; }
  drop(): this { return this.emit(OP.drop); }
  select(): this { return this.emit(OP.select); }
  call(funcIndex: number): this { return this.emit(OP.call, ...uleb(funcIndex)); }
  ret(): this { return this.emit(OP.return); }

  /** block/loop/if with an empty block type (0x40) or a single result type. */
  block(result?: ValType): this { this.depth++; return this.emit(OP.block, result ?? 0x40); }
  loop(result?: ValType): this { this.depth++; return this.emit(OP.loop, result ?? 0x40); }
  if(result?: ValType): this { this.depth++; return this.emit(OP.if, result ?? 0x40); }
  else(): this { return this.emit(OP.else); }
  end(): this {
    if (this.depth === 0) throw new RangeError('FunctionBuilder: end() without an open block');
    this.depth--;
    return this.emit(OP.end);
  }
  br(depth: number): this { return this.emit(OP.br, ...uleb(depth)); }
  brIf(depth: number): this { return this.emit(OP.brIf, ...uleb(depth)); }

  /** Scalar loads/stores: address on the stack (and the value, for stores); offset in bytes. */
  i32Load(offset = 0, align = 2): this { return this.emit(OP.i32Load, ...memarg(align, offset)); }
  f32Load(offset = 0, align = 2): this { return this.emit(OP.f32Load, ...memarg(align, offset)); }
  i32Store(offset = 0, align = 2): this { return this.emit(OP.i32Store, ...memarg(align, offset)); }
  /** One byte, sign- or zero-extended to i32. */
  i32Load8(signed: boolean, offset = 0): this { return this.emit(signed ? OP.i32Load8s : OP.i32Load8u, ...memarg(0, offset)); }
  /** The low byte of an i32. */
  i32Store8(offset = 0): this { return this.emit(OP.i32Store8, ...memarg(0, offset)); }
  f32Store(offset = 0, align = 2): this { return this.emit(OP.f32Store, ...memarg(align, offset)); }
  memorySize(): this { return this.emit(OP.memorySize, 0x00); }
  memoryGrow(): this { return this.emit(OP.memoryGrow, 0x00); }

  /** A SIMD instruction without immediates. */
  simd(name: SimdOp): this { this.code.push(0xfd); uleb(SIMD[name], this.code); return this; }
  /** A SIMD load/store; `align` is log2 bytes (v128 natural: 4). */
  simdMem(name: SimdMemOp, offset = 0, align?: number): this {
    const natural = name === 'v128.load' || name === 'v128.store' ? 4 : name === 'v128.load8x8_s' || name === 'v128.load64_zero' ? 3 : 2;
    this.code.push(0xfd);
    uleb(SIMD_MEM[name], this.code);
    uleb(align ?? natural, this.code);
    uleb(offset, this.code);
    return this;
  }
  v128Load(offset = 0, align = 4): this { return this.simdMem('v128.load', offset, align); }
  v128Store(offset = 0, align = 4): this { return this.simdMem('v128.store', offset, align); }
  /** v128.store64_lane: stores 64-bit lane `laneIndex` (0 or 1) of the vector on the stack. */
  store64Lane(laneIndex: number, offset = 0, align = 3): this {
    if (laneIndex !== 0 && laneIndex !== 1) throw new RangeError(`store64Lane: lane ${laneIndex} out of range`);
    return this.emit(0xfd, ...uleb(0x5b), ...memarg(align, offset), laneIndex);
  }
  lane(name: SimdLaneOp, laneIndex: number): this {
    if (laneIndex < 0 || laneIndex > 3) throw new RangeError(`lane: index ${laneIndex} out of range`);
    return this.emit(0xfd, ...uleb(SIMD_LANE[name]), laneIndex);
  }
  /** i8x16.shuffle: byte l of the result is byte lanes[l] of (a ++ b), lanes in 0..31. */
  shuffle(lanes: ArrayLike<number>): this {
    if (lanes.length !== 16 || Array.from(lanes).some((l) => l < 0 || l > 31)) throw new RangeError('shuffle: needs 16 lanes in 0..31');
    return this.emit(0xfd, ...uleb(0x0d), ...Array.from(lanes));
  }
  /** v128.const from 16 bytes, or from four f32 lanes. */
  v128Const(bytes: ArrayLike<number>): this {
    if (bytes.length !== 16) throw new RangeError('v128Const: needs 16 bytes');
    return this.emit(0xfd, ...uleb(0x0c), ...Array.from(bytes));
  }
  f32x4Const(a: number, b: number, c: number, d: number): this {
    return this.v128Const(new Uint8Array(new Float32Array([a, b, c, d]).buffer));
  }

  /** The encoded body (size, locals vector, expression, end), as the code section stores it. */
  encode(): Uint8Array {
    if (this.depth !== 0) throw new RangeError(`FunctionBuilder: ${this.depth} unclosed block(s)`);
    // Locals compressed into runs of equal type (spec 5.5.13).
    const runs: Array<[number, ValType]> = [];
    for (const t of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    const header: number[] = uleb(runs.length);
    for (const [n, t] of runs) {
      uleb(n, header);
      header.push(t);
    }
    // Bulk copies with Uint8Array.set: generation runs cold, once, at load.
    const size = header.length + this.code.length + 1;
    const prefix = uleb(size);
    const out = new Uint8Array(prefix.length + size);
    out.set(prefix);
    out.set(header, prefix.length);
    out.set(this.code, prefix.length + header.length);
    out[out.length - 1] = OP.end;
    return out;
  }

  private emit(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }
}

function memarg(align: number, offset: number): number[] {
  return [...uleb(align), ...uleb(offset)];
}

interface FunctionEntry {
  typeIndex: number;
  body: FunctionBuilder;
  exportName: string | undefined;
}

/**
 * Builds a module whose memory is imported as `env.memory` (limits given, shared or not), with functions
 * added in order (their indices are the return values of addFunction, usable by `call`).
 */
export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly typeBytes: number[][] = [];
  private readonly functions: FunctionEntry[] = [];
  private memory: { initial: number; maximum: number; shared: boolean } | undefined;

  /**
   * Imports memory `env.memory` with the given page limits; `shared` for a `WebAssembly.Memory({ shared: true })`
   * (threads: such a module instantiates only on a shared memory, and a plain one only on a plain memory).
   */
  importMemory(initial: number, maximum: number, shared = false): this {
    this.memory = { initial, maximum, shared };
    return this;
  }

  /** Adds a function (exported under `exportName` when given); returns its function index. */
  addFunction(body: FunctionBuilder, exportName?: string): number {
    const sig = [0x60, ...uleb(body.params.length), ...body.params, ...uleb(body.results.length), ...body.results];
    const key = sig.join(',');
    let typeIndex = this.types.indexOf(key);
    if (typeIndex < 0) {
      typeIndex = this.types.length;
      this.types.push(key);
      this.typeBytes.push(sig);
    }
    this.functions.push({ typeIndex, body, exportName });
    return this.functions.length - 1;
  }

  /** The number of functions so far: the index the next addFunction returns. */
  get nextFunctionIndex(): number {
    return this.functions.length;
  }

  encode(): Uint8Array<ArrayBuffer> {
    const parts: ArrayLike<number>[] = [[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]];
    section(parts, 1, vector(this.typeBytes));
    if (this.memory !== undefined) {
      const { initial, maximum, shared } = this.memory;
      // Limits flags: 0x01 = has maximum, 0x03 = has maximum and shared (the threads proposal).
      const entry = [...utf8('env'), ...utf8('memory'), 0x02, shared ? 0x03 : 0x01, ...uleb(initial), ...uleb(maximum)];
      section(parts, 2, vector([entry]));
    }
    section(parts, 3, vector(this.functions.map((f) => uleb(f.typeIndex))));
    const exports = this.functions
      .map((f, i) => (f.exportName === undefined ? undefined : [...utf8(f.exportName), 0x00, ...uleb(i)]))
      .filter((e): e is number[] => e !== undefined);
    section(parts, 7, vector(exports));
    section(parts, 10, vector(this.functions.map((f) => f.body.encode())));
    return concat(parts);
  }
}

function utf8(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}

function concat(parts: readonly ArrayLike<number>[]): Uint8Array<ArrayBuffer> {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function vector(items: readonly ArrayLike<number>[]): Uint8Array {
  return concat([uleb(items.length), ...items]);
}

function section(parts: ArrayLike<number>[], id: number, content: Uint8Array): void {
  parts.push([id, ...uleb(content.length)], content);
}

/** True when the engine has WebAssembly with fixed-width SIMD (validates a function using i32x4.splat). */
export function hasWasmSimd(): boolean {
  return validates((f) => f.i32(0).simd('i32x4.splat').drop());
}

/** True when the engine validates relaxed SIMD (f32x4.relaxed_madd). */
export function hasRelaxedSimd(): boolean {
  return validates((f) => f.f32x4Const(0, 0, 0, 0).f32x4Const(0, 0, 0, 0).f32x4Const(0, 0, 0, 0)
    .simd('f32x4.relaxed_madd').drop());
}

function validates(write: (f: FunctionBuilder) => void): boolean {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') return false;
  try {
    const f = new FunctionBuilder([]);
    write(f);
    const m = new ModuleBuilder();
    m.addFunction(f);
    return WebAssembly.validate(m.encode());
  } catch {
    return false;
  }
}
