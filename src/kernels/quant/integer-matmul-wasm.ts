import { viewsInWasm } from '../kernel.js';
import type { WasmContext } from '../../wasm/context.js';
import { QS8_TILE_COLS, type Int8Kernels } from '../../wasm/int8-kernels.js';
import { dynamicInt8Kernels, WasmQuantParams, type DynamicInt8Kernels } from './dynamic-int8.wasm.js';
import type { Int8Like } from './igemm.js';
import {
  QS8_MAX_K, WasmChannelParams, colPanelBytes, int8Kernels, kPairs, packColPairs, rowPanelBytes, uploadPacked,
  runQs8Gemm, wasmInt16Array,
} from './igemm-wasm.js';

/** What the integer matmul writes: the exact int32 products, or f32(f32(f32(acc)·mult[n]) + bias[n]). */
export type IntegerMatMulOutput = 'i32' | 'f32affine';

/** A constant B [K, N] (one matrix, no batches) with its constant zero point per tensor or per column. */
export interface ConstantB {
  data: Int8Like;
  /** The zero point's data (per tensor: one value, or N values), undefined when omitted. */
  zp: Int8Like | undefined;
}

/**
 * MatMulInteger (and the fused MatMulIntegerToFloat, clamped to [clampLo, clampHi]) on the wasm int8 GEMM: A [rows, K] 8-bit per call (all a
 * batches as rows), B [K, N] constant and packed once at prepare into zero-point-shifted int16 column panels:
 *   acc[r, n] = Σ_k (A[r, k] - za[r])·(B[k, n] - zb[n])
 * A is packed per call into int16 row panels by q8_pack_rows (with its zero point, per tensor or per row), then
 * qs8_gemm's i32 or f32affine store writes Y [rows, N]. Both operands are shifted by their zero points before the
 * multiply, so the int16 products are exact (|x| ≤ 255) and i32x4.dot_i16x8_s cannot saturate: the int32 sums equal
 * the reference's exactly (while K ≤ QS8_MAX_K). N < 8: B is packed with 8 columns (the extra ones 0) and the tile
 * written to scratch, then copied out.
 */
export interface WasmIntegerMatMul {
  readonly detail: string;
  /** The weight data: held so the uploaded panels live as long as the kernel. */
  readonly source: object;
  /**
   * Writes y; false (nothing written) when a or y is outside wasm memory. zaOfRow(r) is row r's zero point;
   * bias / multipliers: N values each (f32affine only).
   */
  run(a: Int8Like, za: ArrayLike<number>, zaStride: number, zaPeriod: number, y: Int32Array | Float32Array, bias?: ArrayLike<number>, biasStride?: number, multipliers?: ArrayLike<number>): boolean;
}

/** Undefined when the wasm kernels are missing or K is too deep for exact int32 sums. */
export function planWasmIntegerMatMul(
  wasm: WasmContext | undefined, rows: number, K: number, N: number, aSigned: boolean, b: ConstantB, output: IntegerMatMulOutput,
  clampLo = -Infinity, clampHi = Infinity,
): WasmIntegerMatMul | undefined {
  const kernels: Int8Kernels | undefined = int8Kernels(wasm);
  const dyn: DynamicInt8Kernels | undefined = dynamicInt8Kernels(wasm);
  if (wasm === undefined || kernels === undefined || dyn === undefined || K > QS8_MAX_K || rows < 1 || N < 1) return undefined;
  const NP = Math.max(N, QS8_TILE_COLS);
  const zpStride = b.zp !== undefined && b.zp.length > 1 ? 1 : 0;
  const weights = uploadPacked(wasm, b.data, b.zp, `matmul:${K}:${N}`, () => {
    const packed = wasmInt16Array(wasm, colPanelBytes(K, NP) / 2);
    if (NP === N) {
      packColPairs(K, N, b.data, 0, N, 1, b.zp ?? [0], zpStride, packed, 0);
    } else {
      // Columns N.. are zero: data 0 with zero point 0.
      const padded = b.data instanceof Int8Array ? new Int8Array(K * NP) : new Uint8Array(K * NP);
      const zps = new Int32Array(NP);
      for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) padded[k * NP + n] = b.data[k * N + n]!;
      for (let n = 0; n < N; n++) zps[n] = b.zp === undefined ? 0 : b.zp[zpStride * n]!;
      packColPairs(K, NP, padded, 0, NP, 1, zps, 1, packed, 0);
    }
    return packed;
  });
  const aBytes = rowPanelBytes(rows, K);
  const tileOut = NP === N ? 0 : rows * NP * 4;
  wasm.reserveScratch(aBytes + tileOut);
  const zaParams = new WasmQuantParams(wasm, rows);
  const channel = output === 'f32affine' ? new WasmChannelParams(wasm, NP) : undefined;
  const pack = dyn.packRows[aSigned ? 1 : 0];
  const gemm = output === 'i32' ? kernels.gemmI32 : kernels.gemmAffineCols;
  const KP = kPairs(K);
  const zaRows = new Int32Array(rows);
  const one = new Float32Array(1);
  const padBias = new Float32Array(NP);
  const padMult = new Float32Array(NP);
  let tileView: Int32Array | Float32Array = new Int32Array(0);
  return {
    detail: `wasm qs8 gemm 4x8c2, B packed at prepare, ${output === 'i32' ? 'int32' : 'float'} output${NP !== N ? ', N padded to 8' : ''} (js for views outside wasm memory)`,
    source: b.data,
    run(a, za, zaStride, zaPeriod, y, bias, biasStride = 0, multipliers) {
      if (!viewsInWasm(wasm, a, y)) return false;
      // Row r's zero point: za[(r mod period)·stride] (period M for a per-row zero point over batches).
      for (let r = 0; r < rows; r++) zaRows[r] = za[(r % zaPeriod) * zaStride]!;
      zaParams.write(one, zaRows);
      const scratch = wasm.scratch;
      pack(a.byteOffset, K, rows, K, zaParams.zeroPoints, 1, scratch);
      if (channel !== undefined) {
        if (NP === N) channel.writeFloat(bias, biasStride, multipliers!);
        else {
          for (let n = 0; n < N; n++) {
            padBias[n] = bias === undefined ? 0 : bias[n * biasStride]!;
            padMult[n] = multipliers![n]!;
          }
          channel.writeFloat(padBias, 1, padMult);
        }
      }
      const bias0 = channel?.biasOffset ?? 0;
      const mult0 = channel?.multOffset ?? 0;
      if (NP === N) {
        runQs8Gemm(wasm, gemm, rows, N, KP, scratch, weights, y.byteOffset, N, 4, bias0, mult0, false, 0, clampLo, clampHi);
        return true;
      }
      const tile = scratch + aBytes;
      runQs8Gemm(wasm, gemm, rows, NP, KP, scratch, weights, tile, NP, 4, bias0, mult0, false, 0, clampLo, clampHi);
      if (tileView.buffer !== wasm.memory.buffer || tileView.byteOffset !== tile) {
        tileView = y instanceof Int32Array ? new Int32Array(wasm.memory.buffer, tile, rows * NP) : new Float32Array(wasm.memory.buffer, tile, rows * NP);
      }
      for (let r = 0; r < rows; r++) for (let n = 0; n < N; n++) y[r * N + n] = tileView[r * NP + n]!;
      return true;
    },
  };
}
