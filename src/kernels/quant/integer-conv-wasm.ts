import { sizeOf } from '../../dtype.js';
import { QS8_TILE_COLS } from '../../wasm/int8-kernels.js';
import { requireInput, type PrepareContext } from '../kernel.js';
import { attrInt } from '../../graph/attributes.js';
import { convGeometry, im2colIndexMap } from './conv-geometry.js';
import type { Int8Like } from './igemm.js';
import {
  QS8_MAX_K, WasmBytes, WasmChannelParams, colPanelBytes, inWasmMemory, int8Kernels, kPairs, packRowPairs,
  rowPanelBytes, uploadInt16,
} from './igemm-wasm.js';

/** Runs one QLinearConv on wasm; false (nothing written) when a view is not in wasm memory. */
export interface WasmQLinearConv {
  run(x: Int8Like, zx: number, y: Int8Like, yZp: number, bias: Int32Array | undefined, multipliers: Float32Array): boolean;
}

/**
 * QLinearConv (and the fused QDQ convolution) on the wasm int8 GEMM, per (batch n, group g):
 *   Y[g·Mg + m, p] = requantize(Σ_{c,k} (W[m, c, k] - zw[m])·(X[c, at(p, k)] - zx) + B[m])
 * with the zero-point-shifted weights packed once as int16 A panels, the image (1×1 stride-1 convolutions) or its
 * im2col (bytes, padding = zx, in the shared scratch) packed per call into B panels by qs8_pack_cols, and the
 * requantization fused into the GEMM's store. Undefined when the wasm path does not apply: no wasm backend,
 * weights or their zero point not constant, depthwise (the JS direct loop handles it), fewer than 8 output
 * positions, or a reduction deep enough to overflow int32.
 */
export function planWasmQLinearConv(
  ctx: PrepareContext, wIndex: number, wZpIndex: number, lo: number, hi: number,
): WasmQLinearConv | undefined {
  const wasm = ctx.options.wasm;
  const kernels = int8Kernels(wasm);
  const wConst = ctx.constants[wIndex];
  const wZpType = ctx.inputs[wZpIndex];
  const wZpConst = ctx.constants[wZpIndex];
  if (wasm === undefined || kernels === undefined || wConst === undefined || (wZpType !== undefined && wZpConst === undefined)) return undefined;
  const x = requireInput(ctx, 0);
  const w = requireInput(ctx, wIndex);
  const group = attrInt(ctx.node, 'group', 1);
  const [N, C] = x.shape as [number, number];
  const [M, Cg] = w.shape as [number, number];
  const Mg = M / group;
  const geom = convGeometry(ctx, x.shape.slice(2), w.shape.slice(2));
  const P = sizeOf(geom.outSize);
  const KS = sizeOf(geom.kernel);
  const Kg = Cg * KS;
  if ((Cg === 1 && Mg === 1) || P < QS8_TILE_COLS || Kg > QS8_MAX_K) return undefined;
  const inPlane = sizeOf(geom.inSize);
  const map = im2colIndexMap(geom);
  const pointwise = KS === 1 && inPlane === P && map.every((at, p) => at === p);

  const wZp = (wZpConst?.data as Int8Like | undefined) ?? new Int32Array(1);
  const zwStride = wZp.length > 1 ? 1 : 0;
  const groupBytes = rowPanelBytes(Mg, Kg);
  const packed = new Int16Array((group * groupBytes) / 2);
  const wData = wConst.data as Int8Like;
  for (let g = 0; g < group; g++) {
    packRowPairs(Mg, Kg, wData, g * Mg * Kg, Kg, zwStride === 0 ? wZp : wZp.subarray(g * Mg), zwStride, packed, (g * groupBytes) / 2);
  }
  const weights = uploadInt16(wasm, packed);
  const params = new WasmChannelParams(wasm, M);
  const im2colBytes = pointwise ? 0 : Math.ceil((Kg * P) / 16) * 16;
  wasm.reserveScratch(im2colBytes + colPanelBytes(Kg, P));
  // The im2col map transposed to [KS, P], so each im2col row is a linear walk.
  const rows = new Int32Array(KS * P);
  for (let p = 0; p < P; p++) for (let k = 0; k < KS; k++) rows[k * P + p] = map[p * KS + k]!;
  const memory = new WasmBytes(wasm);
  const signed = x.dtype === 'int8';
  const KP = kPairs(Kg);
  return {
    run(xData, zx, y, yZp, bias, multipliers) {
      if (!inWasmMemory(wasm, xData, y)) return false;
      params.write(bias, 1, multipliers);
      const flip = signed ? 0 : 0x80;
      const shift = signed ? zx : zx - 128;
      const scratch = wasm.scratch;
      const panels = scratch + im2colBytes;
      for (let n = 0; n < N; n++) {
        for (let g = 0; g < group; g++) {
          const plane0 = xData.byteOffset + (n * C + g * Cg) * inPlane;
          let src = plane0;
          if (!pointwise) {
            im2colBytesInto(memory.bytes, plane0, inPlane, Cg, KS, P, rows, zx & 0xff, scratch);
            src = scratch;
          }
          kernels.packCols(src, P, Kg, P, flip, shift, panels);
          kernels.gemmRowChannels(
            Mg, P, KP, weights + g * groupBytes, panels, y.byteOffset + (n * M + g * Mg) * P, P,
            params.biasOffset + 4 * g * Mg, params.multOffset + 4 * g * Mg, yZp, lo, hi,
          );
        }
      }
      return true;
    },
  };
}

/** dst[(c·KS + k)·P + p] = x[plane0 + c·inPlane + rows[k·P + p]], or the zero point's byte in the padding. */
function im2colBytesInto(
  mem: Uint8Array, plane0: number, inPlane: number, Cg: number, KS: number, P: number, rows: Int32Array, pad: number, dst: number,
): void {
  let d = dst;
  for (let c = 0; c < Cg; c++) {
    const plane = plane0 + c * inPlane;
    for (let k = 0; k < KS; k++) {
      const r0 = k * P;
      for (let p = 0; p < P; p++, d++) {
        const at = rows[r0 + p]!;
        mem[d] = at < 0 ? pad : mem[plane + at]!;
      }
    }
  }
}
