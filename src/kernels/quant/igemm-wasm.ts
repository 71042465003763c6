import type { WasmContext } from '../../wasm/context.js';
import { viewsInWasm } from '../kernel.js';
import {
  INT8_KERNELS, QS8_A_PAIR_BYTES, QS8_B_PAIR_BYTES, QS8_MAX_K, QS8_TILE_COLS, QS8_TILE_ROWS, type Int8Kernels, type Qs8GemmKernel,
} from '../../wasm/int8-kernels.js';
import { SPLIT_MIN_MACS } from '../../wasm/gemm.js';
import type { Int8Like } from './igemm.js';

/**
 * The TypeScript face of the wasm int8 GEMM (src/wasm/int8-kernels.ts): packing zero-point-shifted int16 panels,
 * uploading them, and the per-channel requantization parameters in wasm memory. The kernels compute exactly what
 * the JS packed kernels compute (Σ (w - zw)(x - zx) + bias in int32, then the same float32 requantization).
 */
export { QS8_MAX_K };

/** The int8 kernels of this context, or undefined (no wasm backend, or the engine refused the module). */
export function int8Kernels(wasm: WasmContext | undefined): Int8Kernels | undefined {
  return wasm?.use(INT8_KERNELS);
}

/** Pairs of k a panel holds: ⌈K/2⌉. */
export function kPairs(K: number): number {
  return (K + 1) >> 1;
}

/** Bytes of the A panels of M rows (int16, 4 rows per panel). */
export function rowPanelBytes(M: number, K: number): number {
  return Math.ceil(M / QS8_TILE_ROWS) * kPairs(K) * QS8_A_PAIR_BYTES;
}

/** Bytes of the B panels of N ≥ 8 columns (int16, 8 columns per panel). */
export function colPanelBytes(K: number, N: number): number {
  return Math.ceil(N / QS8_TILE_COLS) * kPairs(K) * QS8_B_PAIR_BYTES;
}

/** Bytes of the GEMV's B operand of N < 8 columns (int16 pairs, column after column), rounded to 16. */
export function narrowColBytes(K: number, N: number): number {
  return Math.ceil((N * kPairs(K) * 4) / 16) * 16;
}

/**
 * A panels: out[outOff + ((p·KP + j)·4 + r)·2 + e] = A[aOff + m·lda + k] - zp[m·zpStride] for m = 4p + r,
 * k = 2j + e; 0 where m ≥ M or k ≥ K (so the activations' padding pair contributes nothing).
 */
export function packRowPairs(
  M: number, K: number, A: Int8Like, aOff: number, lda: number, zp: ArrayLike<number>, zpStride: number, out: Int16Array, outOff: number,
): void {
  const KP = kPairs(K);
  const panels = Math.ceil(M / QS8_TILE_ROWS);
  for (let p = 0; p < panels; p++) {
    for (let r = 0; r < QS8_TILE_ROWS; r++) {
      const m = p * QS8_TILE_ROWS + r;
      let dst = outOff + p * KP * 8 + 2 * r;
      if (m >= M) {
        for (let j = 0; j < KP; j++, dst += 8) out[dst] = out[dst + 1] = 0;
        continue;
      }
      const z = zp[m * zpStride]!;
      const src = aOff + m * lda;
      for (let k = 0; k < K; k += 2, dst += 8) {
        out[dst] = A[src + k]! - z;
        out[dst + 1] = k + 1 < K ? A[src + k + 1]! - z : 0;
      }
    }
  }
}

/**
 * B panels of the K×N matrix B[bOff + k·kStride + n·nStride] minus zp[n·zpStride], laid out as qs8_pack_cols does
 * (panel j holds columns min(8j, N - 8)..+7; an odd K's padding element is 0). N ≥ 8.
 */
export function packColPairs(
  K: number, N: number, B: Int8Like, bOff: number, kStride: number, nStride: number, zp: ArrayLike<number>, zpStride: number,
  out: Int16Array, outOff: number,
): void {
  const KP = kPairs(K);
  let dst = outOff;
  for (let cb = 0; cb < N; cb += QS8_TILE_COLS) {
    const c0 = Math.min(cb, N - QS8_TILE_COLS);
    for (let j = 0; j < KP; j++, dst += 16) {
      const k = 2 * j;
      for (let c = 0; c < QS8_TILE_COLS; c++) {
        const n = c0 + c;
        const z = zp[n * zpStride]!;
        out[dst + 2 * c] = B[bOff + k * kStride + n * nStride]! - z;
        out[dst + 2 * c + 1] = k + 1 < K ? B[bOff + (k + 1) * kStride + n * nStride]! - z : 0;
      }
    }
  }
}

/**
 * An Int16Array of `length` in a new block of wasm memory (64-byte aligned), for a pack that writes every element
 * (the block may hold an earlier allocation's bytes): uploadPacked keeps it where it is, with no JS copy to make,
 * fill and copy again.
 */
export function wasmInt16Array(wasm: WasmContext, length: number): Int16Array {
  // Allocate first: the allocation may grow the memory, which replaces memory.buffer.
  const offset = wasm.alloc(Math.max(2 * length, 2), 64);
  return new Int16Array(wasm.memory.buffer, offset, length);
}

/** The byte offset of packed data in wasm memory: where a pack made by wasmInt16Array is, else a copy's. */
function upload(wasm: WasmContext, data: Int16Array | Int32Array): number {
  if (data.buffer === wasm.memory.buffer) return data.byteOffset;
  const offset = wasm.alloc(data.byteLength, 64);
  new Uint8Array(wasm.memory.buffer, offset, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return offset;
}

/**
 * Uploads of packed int8 weights, per context: weight data → zero-point data (or NO_ZERO_POINT) → packing key →
 * byte offset. Re-preparing a node for new input shapes (the plan cache, dynamic batch) reuses the panels instead
 * of growing the memory; they are freed once the weight data is collected (the kernels using them hold it).
 */
type Int8Uploads = WeakMap<object, WeakMap<object, Map<string, number>>>;
/** Namespace of the int8 uploads in WasmContext.uploads (shared with other kernel families). */
const INT8_UPLOADS = Object.freeze({});
const NO_ZERO_POINT = Object.freeze({});

const releaseUploads: FinalizationRegistry<{ wasm: WasmContext; offsets: number[] }> | undefined =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry(({ wasm, offsets }) => {
        for (const o of offsets) wasm.free(o);
      })
    : undefined;

/**
 * The byte offset of `pack()` uploaded once per (context, weight data, zero-point data, key); `key` names
 * everything else the packing depends on. The caller must keep `weights` alive as long as it uses the offset.
 */
export function uploadPacked(
  wasm: WasmContext, weights: object, zeroPoints: object | undefined, key: string, pack: () => Int16Array | Int32Array,
): number {
  let byWeights = wasm.uploads.get(INT8_UPLOADS) as Int8Uploads | undefined;
  if (byWeights === undefined) {
    byWeights = new WeakMap();
    wasm.uploads.set(INT8_UPLOADS, byWeights);
  }
  let byZeroPoints = byWeights.get(weights);
  if (byZeroPoints === undefined) {
    byZeroPoints = new WeakMap();
    byWeights.set(weights, byZeroPoints);
  }
  const zp = zeroPoints ?? NO_ZERO_POINT;
  let byKey = byZeroPoints.get(zp);
  if (byKey === undefined) {
    byKey = new Map();
    byZeroPoints.set(zp, byKey);
  }
  const hit = byKey.get(key);
  if (hit !== undefined) return hit;
  const offset = upload(wasm, pack());
  byKey.set(key, offset);
  releaseUploads?.register(weights, { wasm, offsets: [offset] });
  return offset;
}

/**
 * The per-channel int32 bias and float32 multipliers of the requantizing store, in one wasm block (count values
 * each, 16-byte aligned), written at run through views remade only after the memory grew.
 */
export class WasmChannelParams {
  readonly biasOffset: number;
  readonly multOffset: number;
  private biasView: Int32Array;
  private multView: Float32Array;
  private floatBiasView = new Float32Array(0);

  constructor(private readonly wasm: WasmContext, private readonly count: number) {
    const padded = Math.ceil(count / 4) * 4;
    this.biasOffset = wasm.alloc(8 * padded, 64);
    this.multOffset = this.biasOffset + 4 * padded;
    this.biasView = new Int32Array(0);
    this.multView = new Float32Array(0);
  }

  /** As write, with a float32 bias (the f32affine GEMM store reads the bias words as float32). */
  writeFloat(bias: ArrayLike<number> | undefined, biasStride: number, multipliers: ArrayLike<number>): void {
    const buffer = this.wasm.memory.buffer;
    if (this.floatBiasView.buffer !== buffer) this.floatBiasView = new Float32Array(buffer, this.biasOffset, this.count);
    if (bias === undefined) this.floatBiasView.fill(0);
    else for (let c = 0; c < this.count; c++) this.floatBiasView[c] = bias[c * biasStride]!;
    this.write(undefined, 0, multipliers, false);
  }

  /** bias[c] = bias?.[c·stride] ?? 0 and mult[c] = multipliers[c] for every channel. */
  write(bias: ArrayLike<number> | undefined, biasStride: number, multipliers: ArrayLike<number>, writeBias = true): void {
    const buffer = this.wasm.memory.buffer;
    if (this.biasView.buffer !== buffer) {
      this.biasView = new Int32Array(buffer, this.biasOffset, this.count);
      this.multView = new Float32Array(buffer, this.multOffset, this.count);
    }
    if (!writeBias) {
      // the float bias is already there
    } else if (bias === undefined) this.biasView.fill(0);
    else for (let c = 0; c < this.count; c++) this.biasView[c] = bias[c * biasStride]!;
    for (let c = 0; c < this.count; c++) this.multView[c] = multipliers[c]!;
  }
}

/** A byte view of the whole wasm memory, remade only after the memory grew (run() must not allocate otherwise). */
export class WasmBytes {
  private view = new Uint8Array(0);
  constructor(private readonly wasm: WasmContext) {}
  get bytes(): Uint8Array {
    if (this.view.buffer !== this.wasm.memory.buffer) this.view = new Uint8Array(this.wasm.memory.buffer);
    return this.view;
  }
}

/** A constant 8-bit matrix on the right, as the wasm col-channel GEMM reads it. */
export interface ConstantRight {
  /** B's data; element (k, n) at k·kStride + n·nStride. */
  data: Int8Like;
  kStride: number;
  nStride: number;
  /** Zero point per column (stride 1) or for all (stride 0). */
  zp: ArrayLike<number>;
  zpStride: number;
  /** The zero point's constant data (the upload cache key), undefined when omitted. */
  zpData: object | undefined;
}

/**
 * Y = requantize((A - za)·(B - zb) + bias) (or, floatOutput, f32(f32(acc + bias)·mult)) with A [M, K] 8-bit per call (per-tensor zero point) and B [K, N]
 * constant, bias and multiplier per column (QLinearMatMul, QGemm): A packed per call into int16 A panels in the
 * shared scratch, B packed once at prepare. run() returns false (nothing written) when a or y is not in wasm memory.
 */
export interface WasmRightConstantGemm {
  /** For profiles (see PreparedKernel.detail). */
  readonly detail: string;
  /** The weight data: held so the uploaded panels (freed when it is collected) live as long as the kernel. */
  readonly source: object;
  run(
    a: Int8Like, za: number, y: Int8Like | Float32Array, yZp: number, bias: ArrayLike<number> | undefined, biasStride: number,
    multipliers: Float32Array,
  ): boolean;
}

/** Undefined unless the wasm kernels are there, N ≥ 8 and K is small enough for exact int32 sums. */
export function planWasmRightConstantGemm(
  wasm: WasmContext | undefined, M: number, K: number, N: number, b: ConstantRight, lo: number, hi: number, floatOutput = false,
): WasmRightConstantGemm | undefined {
  const kernels = int8Kernels(wasm);
  if (wasm === undefined || kernels === undefined || N < QS8_TILE_COLS || K > QS8_MAX_K) return undefined;
  const weights = uploadPacked(wasm, b.data, b.zpData, `cols:${K}:${N}:${b.kStride}:${b.nStride}`, () => {
    const packed = wasmInt16Array(wasm, colPanelBytes(K, N) / 2);
    packColPairs(K, N, b.data, 0, b.kStride, b.nStride, b.zp, b.zpStride, packed, 0);
    return packed;
  });
  const params = new WasmChannelParams(wasm, N);
  wasm.reserveScratch(rowPanelBytes(M, K));
  const memory = new WasmInt16(wasm);
  const za = new Int32Array(1);
  const KP = kPairs(K);
  return {
    detail: `wasm qs8 gemm 4x8c2, B packed at prepare${floatOutput ? ', float output' : ''} (js for views outside wasm memory)`,
    source: b.data,
    run(a, zaValue, y, yZp, bias, biasStride, multipliers) {
      if (!viewsInWasm(wasm, a, y)) return false;
      params.write(bias, biasStride, multipliers);
      za[0] = zaValue;
      const scratch = wasm.scratch;
      packRowPairs(M, K, a, 0, K, za, 0, memory.view, scratch / 2);
      const gemm = floatOutput ? kernels.gemmColChannelsF32 : kernels.gemmColChannels;
      runQs8Gemm(wasm, gemm, M, N, KP, scratch, weights, y.byteOffset, N, floatOutput ? 4 : 1, params.biasOffset, params.multOffset, false, yZp, lo, hi);
      return true;
    },
  };
}

/** An Int16Array view of the whole wasm memory, remade only after the memory grew. */
class WasmInt16 {
  private cached = new Int16Array(0);
  constructor(private readonly wasm: WasmContext) {}
  get view(): Int16Array {
    if (this.cached.buffer !== this.wasm.memory.buffer) this.cached = new Int16Array(this.wasm.memory.buffer);
    return this.cached;
  }
}

/**
 * One qs8 GEMM call (Qs8GemmKernel) split over the pool's threads by ranges of A's 4-row panels: each range moves
 * A, Y and (when they vary along rows) the bias and multiplier; K is never split. `yBytes` is the size of an
 * output element (1 for bytes, 4 for int32/float). Runs the call at once without a pool or when it is small.
 */
export function runQs8Gemm(
  wasm: WasmContext, gemm: Qs8GemmKernel, M: number, N: number, KP: number, a: number, b: number, y: number, ldy: number,
  yBytes: number, bias: number, mult: number, perRow: boolean, zp: number, lo: number, hi: number,
): void {
  const pool = wasm.pool;
  const panels = Math.ceil(M / QS8_TILE_ROWS);
  // An int8 multiply-add pair costs about half a float one: twice the float threshold.
  const chunks = pool === undefined || pool.recording ? 1 : Math.min(panels, pool.threads * 3, Math.floor((M * N * 2 * KP) / (2 * SPLIT_MIN_MACS)));
  if (chunks < 2) {
    gemm(M, N, KP, a, b, y, ldy, bias, mult, zp, lo, hi);
    return;
  }
  pool!.batch(() => {
    for (let i = 0; i < chunks; i++) {
      const p0 = Math.floor((i * panels) / chunks);
      const p1 = Math.floor(((i + 1) * panels) / chunks);
      const m0 = p0 * QS8_TILE_ROWS;
      const m1 = Math.min(M, p1 * QS8_TILE_ROWS);
      pool!.group();
      pool!.call(gemm, [
        m1 - m0, N, KP, a + p0 * KP * QS8_A_PAIR_BYTES, b, y + m0 * ldy * yBytes, ldy,
        perRow && bias !== 0 ? bias + 4 * m0 : bias, perRow && mult !== 0 ? mult + 4 * m0 : mult, zp, lo, hi,
      ]);
    }
  });
}
