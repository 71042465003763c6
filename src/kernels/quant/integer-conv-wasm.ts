import { sizeOf } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import type { WasmContext } from '../../wasm/context.js';
import { QS8_TILE_COLS, type Int8Kernels, type Qs8DepthwiseF32Kernel, type Qs8DepthwiseKernel, type Qs8PadPlanesKernel } from '../../wasm/int8-kernels.js';
import { requireInput, viewsInWasm, type PrepareContext } from '../kernel.js';
import { convGeometry, im2colIndexMap, isPointwiseGeometry, type ConvGeometry } from './conv-geometry.js';
import type { Int8Like } from './igemm.js';
import {
  QS8_MAX_K, WasmBytes, WasmChannelParams, colPanelBytes, int8Kernels, kPairs, narrowColBytes, packRowPairs,
  rowPanelBytes, uploadPacked,
  runQs8Gemm, wasmInt16Array,
} from './igemm-wasm.js';

/** Runs one QLinearConv on wasm; false (nothing written) when a view is not in wasm memory. */
export interface WasmQLinearConv {
  /** For profiles: which wasm path runs (see PreparedKernel.detail). */
  readonly detail: string;
  /** The weight data: held so the uploaded panels (freed when it is collected) live as long as the kernel. */
  readonly source: object;
  /** True for the GEMV path (fewer than 8 output positions); variant tables name it apart. */
  readonly narrow: boolean;
  run(x: Int8Like, zx: number, y: Int8Like | Int32Array | Float32Array, yZp: number, bias: ArrayLike<number> | undefined, multipliers: ArrayLike<number>): boolean;
}

/**
 * What the convolution's GEMM store writes: requantized bytes (QLinearConv), the exact int32 accumulators
 * (ConvInteger), or f32(f32(f32(acc)·mult[m]) + bias[m]) with a float bias (the fused ConvInteger → Cast → Mul → Add).
 */
export type ConvOutputMode = 'q8' | 'i32' | 'f32affine';

/**
 * QLinearConv (and the fused QDQ convolution) on the wasm int8 GEMM, per (batch n, group g):
 *   Y[g·Mg + m, p] = requantize(Σ_{c,k} (W[m, c, k] - zw[m])·(X[c, at(p, k)] - zx) + B[m])
 * with the zero-point-shifted weights packed once as int16 A panels, the image (1×1 stride-1 convolutions) or its
 * im2col (bytes, padding = zx, in the shared scratch) packed per call into B panels by qs8_pack_cols, and the
 * requantization fused into the GEMM's store. Fewer than 8 output positions (a 1×1 convolution after a global pool)
 * take the GEMV kernel instead (qs8_gemv_4x1c2 on the same A panels, the columns packed by qs8_pack_cols_x1c2).
 * Depthwise convolutions go to planDepthwise. Undefined when the wasm path does not apply (the JS kernels run): no
 * wasm backend, weights or their zero point not constant, a reduction deep enough to overflow int32, a depthwise
 * shape without a generated kernel.
 */
export function planWasmQLinearConv(
  ctx: PrepareContext, wIndex: number, wZpIndex: number, lo: number, hi: number, output: ConvOutputMode = 'q8',
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
  const wZp = (wZpConst?.data as Int8Like | undefined) ?? new Int32Array(1);
  const P = sizeOf(geom.outSize);
  const KS = sizeOf(geom.kernel);
  const Kg = Cg * KS;
  const inPlane = sizeOf(geom.inSize);
  const key = `${geom.kernel[0]}x${geom.kernel[1]}s${geom.strides[0]}`;
  const square = geom.kernel.length === 2 && geom.kernel[0] === geom.kernel[1] && geom.strides[0] === geom.strides[1];
  const depthwiseShape = Cg === 1 && Mg === 1 && square && geom.dilations.every((d) => d === 1) && kernels.depthwiseDot[key] !== undefined;
  // The float store exists for the 8-wide kernel (narrower rows are computed 8 wide into a tile, see planDepthwise).
  const floatDepthwise = output === 'f32affine' && depthwiseShape;
  if (Cg === 1 && Mg === 1 && (output === 'q8' || floatDepthwise)) {
    const depthwise = kernels.depthwise[key];
    const depthwiseDot = kernels.depthwiseDot[key];
    if (depthwise === undefined || depthwiseDot === undefined || !depthwiseShape) return undefined;
    const filters = new Int32Array(M * KS);
    for (let m = 0; m < M; m++) for (let k = 0; k < KS; k++) filters[m * KS + k] = (wConst.data as Int8Like)[m * KS + k]! - wZp[wZp.length > 1 ? m : 0]!;
    return planDepthwise(
      wasm, kernels.padPlanes, kernels.padPlanesNarrow, depthwise, depthwiseDot, geom, N, C, wConst.data as Int8Like, wZpConst?.data, filters,
      x.dtype === 'int8', lo, hi, floatDepthwise ? kernels.depthwiseDotF32[key] : undefined,
    );
  }
  if (Kg > QS8_MAX_K) return undefined;
  // Under 8 output positions (1×1 convolutions after a global pool): the GEMV kernel, one column at a time.
  const narrow = P < QS8_TILE_COLS;
  const colBytes = narrow ? narrowColBytes(Kg, P) : colPanelBytes(Kg, P);
  const pointwise = isPointwiseGeometry(geom);
  const zwStride = wZp.length > 1 ? 1 : 0;
  const groupBytes = rowPanelBytes(Mg, Kg);
  const wData = wConst.data as Int8Like;
  const weights = uploadPacked(wasm, wData, wZpConst?.data, `conv:${group}:${Mg}:${Kg}`, () => {
    const packed = wasmInt16Array(wasm, (group * groupBytes) / 2);
    for (let g = 0; g < group; g++) {
      packRowPairs(Mg, Kg, wData, g * Mg * Kg, Kg, zwStride === 0 ? wZp : wZp.subarray(g * Mg), zwStride, packed, (g * groupBytes) / 2);
    }
    return packed;
  });
  const params = new WasmChannelParams(wasm, M);
  // 2-D, stride 1 or 2, rows of 8 or more: zero-point-padded planes, then im2col in wasm; else im2col in JS.
  const wasmIm2col = pointwise ? undefined : planWasmIm2col(kernels, geom, Cg);
  const im2colBytes = pointwise ? 0 : Math.ceil((Kg * P) / 16) * 16;
  const paddedBytes = wasmIm2col === undefined ? 0 : Math.ceil(wasmIm2col.bytes / 16) * 16;
  wasm.reserveScratch(paddedBytes + im2colBytes + colBytes);
  const im2col = pointwise || wasmIm2col !== undefined ? undefined : x.shape.length === 4 ? im2col2d(geom, Cg) : im2colByMap(im2colIndexMap(geom), Cg, KS, P, inPlane);
  const memory = new WasmBytes(wasm);
  const signed = x.dtype === 'int8';
  const KP = kPairs(Kg);
  // Loop order, measured (bench: resnet18's 3×3 layers): row panels outside when the activation panels outweigh
  // the weights (64 ch, 56×56: 2.37 vs 2.58 ms), column blocks outside otherwise (512 ch, 7×7: 2.64 vs 2.88 ms).
  const rowsOuter = colBytes > groupBytes;
  const gemm = narrow
    ? output === 'q8' ? kernels.gemvRowChannels : output === 'i32' ? kernels.gemvI32 : kernels.gemvAffineRows
    : output === 'q8'
    ? rowsOuter ? kernels.gemmRowChannelsRowsOuter : kernels.gemmRowChannels
    : output === 'i32'
      ? rowsOuter ? kernels.gemmI32RowsOuter : kernels.gemmI32
      : rowsOuter ? kernels.gemmAffineRowsRowsOuter : kernels.gemmAffineRows;
  const elementBytes = output === 'q8' ? 1 : 4;
  const pack = narrow ? kernels.packColsNarrow : kernels.packCols;
  const detail = `wasm qs8 ${narrow ? 'gemv 4x1c2' : 'gemm 4x8c2'}${pointwise ? ', 1x1 read in place' : wasmIm2col !== undefined ? ', im2col in wasm' : ', im2col in js'}`;
  return {
    detail: `${detail} (js for views outside wasm memory)`,
    narrow,
    source: wData,
    run(xData, zx, y, yZp, bias, multipliers) {
      if (!viewsInWasm(wasm, xData, y)) return false;
      if (output === 'q8') params.write(bias, 1, multipliers);
      else if (output === 'f32affine') params.writeFloat(bias, 1, multipliers);
      const flip = signed ? 0 : 0x80;
      const shift = signed ? zx : zx - 128;
      const padded = wasm.scratch;
      const scratch = padded + paddedBytes;
      const panels = scratch + im2colBytes;
      for (let n = 0; n < N; n++) {
        for (let g = 0; g < group; g++) {
          const plane0 = xData.byteOffset + (n * C + g * Cg) * inPlane;
          let src = plane0;
          if (wasmIm2col !== undefined) {
            wasmIm2col.run(plane0, zx & 0xff, padded, scratch);
            src = scratch;
          } else if (im2col !== undefined) {
            im2col(memory.bytes, plane0, zx & 0xff, scratch);
            src = scratch;
          }
          pack(src, P, Kg, P, flip, shift, panels);
          const yAt = y.byteOffset + (n * M + g * Mg) * P * elementBytes;
          const [b0, m0] = [params.biasOffset + 4 * g * Mg, params.multOffset + 4 * g * Mg];
          if (narrow) gemm(Mg, P, KP, weights + g * groupBytes, panels, yAt, P, b0, m0, yZp, lo, hi);
          else runQs8Gemm(wasm, gemm, Mg, P, KP, weights + g * groupBytes, panels, yAt, P, elementBytes, b0, m0, true, yZp, lo, hi);
        }
      }
      return true;
    },
  };
}

/**
 * Depthwise (one input and output channel per group) on the wasm qs8_dwconv kernels for all channels in one call,
 * on a copy of the planes padded with the zero point (qs8_pad_planes, or in JS for rows under 4 bytes), so every
 * output is an interior one:
 *   y = requantize(Σ_k (x - zx)·(w - zw) + B)
 * (padding holds zx, so the zero points fold into the bias: Σ (x - zx)·f = Σ x'·f - (zx - 128·[uint8])·Σf with
 * x' the byte read as int8 after flipping the sign bit of uint8 data). Undefined under 4 outputs per row (the JS
 * kernel runs).
 */
function planDepthwise(
  wasm: WasmContext, pad: Qs8PadPlanesKernel, padNarrow: Qs8PadPlanesKernel, kernel4: Qs8DepthwiseKernel, kernel8: Qs8DepthwiseKernel, g: ConvGeometry,
  N: number, C: number, wData: Int8Like, wZpData: object | undefined, filters: Int32Array, signed: boolean, lo: number, hi: number,
  floatKernel?: Qs8DepthwiseF32Kernel,
): WasmQLinearConv | undefined {
  const [H, W] = g.inSize as [number, number];
  const [OH, OW] = g.outSize as [number, number];
  const [ph, pw] = g.padBegin as [number, number];
  const K = g.kernel[0]!;
  const S = g.strides[0]!;
  const KS = K * K;
  const P = OH * OW;
  const inPlane = H * W;
  // The float store under 8 outputs per row (7×7 planes): computed 8 wide on planes padded one column more (the
  // extra outputs read only padding), into a scratch tile of OH×8 floats per plane, then the OW columns copied out.
  const virtualOW = floatKernel !== undefined && OW < 8 ? 8 : OW;
  const Hp = (OH - 1) * S + K;
  const Wp = (virtualOW - 1) * S + K;
  const padRows = Math.max(0, Math.min(H, Hp - ph));
  const padCols = Math.min(W, Wp - pw);
  if (OW < (floatKernel === undefined ? 4 : 1) || padCols < 1) return undefined;
  const tileBytes = virtualOW !== OW ? C * OH * virtualOW * 4 : 0;
  const tileOffset = C * Hp * Wp + 16 + (16 - ((C * Hp * Wp) % 16));
  // Rows of 4 to 7 bytes (7×7 planes) use the pad kernel copying 4 bytes at a time, shorter ones JS.
  const padInJs = padCols < 4;
  const padKernel = padCols >= 8 ? pad : padNarrow;
  const memory = new WasmBytes(wasm);
  wasm.reserveScratch(tileOffset + tileBytes);
  let tileView = new Float32Array(0);
  const wide = virtualOW >= 8;
  // The float store's per-plane bias (the int32 bias block then holds only the zero-point correction).
  const floatParams = floatKernel === undefined ? undefined : new WasmChannelParams(wasm, C);
  const kernel = wide ? kernel8 : kernel4;
  const filterSums = new Int32Array(C);
  for (let c = 0; c < C; c++) for (let k = 0; k < KS; k++) filterSums[c] += filters[c * KS + k]!;
  // The 8-wide kernel reads int16 pairs (f[2j], f[2j+1]) per int32, the 4-wide one int32 taps.
  const pairs = Math.ceil(KS / 2);
  const filterOffset = uploadPacked(wasm, wData, wZpData, `depthwise:${C}:${KS}:${wide ? 'pairs' : 'taps'}`, () => {
    if (!wide) return filters;
    const paired = new Int16Array(C * pairs * 2);
    for (let c = 0; c < C; c++) for (let k = 0; k < KS; k++) paired[c * pairs * 2 + k] = filters[c * KS + k]!;
    return paired;
  });
  const params = new WasmChannelParams(wasm, C);
  const foldedBias = new Int32Array(C);
  const flip = signed ? 0 : 0x80;
  return {
    narrow: false,
    detail: `wasm qs8 depthwise ${K}x${K}s${S}, ${wide ? 8 : 4} outputs per step${floatKernel !== undefined ? ', float output' : ''} (js for views outside wasm memory)`,
    source: wData,
    run(x, zx, y, yZp, bias, multipliers) {
      if (!viewsInWasm(wasm, x, y)) return false;
      const zxFolded = signed ? zx : zx - 128;
      for (let c = 0; c < C; c++) foldedBias[c] = (bias === undefined || floatParams !== undefined ? 0 : bias[c]!) - zxFolded * filterSums[c]!;
      params.write(foldedBias, 1, multipliers);
      floatParams?.writeFloat(bias, 1, multipliers);
      for (let n = 0; n < N; n++) {
        const scratch = wasm.scratch;
        const src = x.byteOffset + n * C * inPlane;
        if (padInJs) padPlanesInJs(memory.bytes, src, W, inPlane, scratch, Hp, Wp, ph, pw, padRows, padCols, C, zx & 0xff);
        else padKernel(src, W, inPlane, scratch, Hp, Wp, ph, pw, padRows, padCols, C, zx & 0xff);
        if (floatKernel !== undefined && virtualOW !== OW) {
          const tile = scratch + tileOffset;
          floatKernel(
            scratch, Wp, Hp * Wp, tile, virtualOW, OH * virtualOW * 4, C, 0, OH, 0, virtualOW, 0, 0, filterOffset, params.biasOffset,
            params.multOffset, flip, 0, lo, hi, floatParams!.biasOffset,
          );
          if (tileView.buffer !== wasm.memory.buffer || tileView.byteOffset !== tile) tileView = new Float32Array(wasm.memory.buffer, tile, C * OH * virtualOW);
          const out = y as Float32Array;
          const o0 = n * C * P;
          for (let r = 0; r < C * OH; r++) for (let ow = 0; ow < OW; ow++) out[o0 + r * OW + ow] = tileView[r * virtualOW + ow]!;
        } else if (floatKernel !== undefined) {
          floatKernel(
            scratch, Wp, Hp * Wp, y.byteOffset + n * C * P * 4, OW, P * 4, C, 0, OH, 0, OW, 0, 0, filterOffset, params.biasOffset,
            params.multOffset, flip, 0, lo, hi, floatParams!.biasOffset,
          );
        } else kernel(scratch, Wp, Hp * Wp, y.byteOffset + n * C * P, OW, P, C, 0, OH, 0, OW, 0, 0, filterOffset, params.biasOffset, params.multOffset, flip, yZp, lo, hi);
      }
      return true;
    },
  };
}

/** qs8_pad_planes in JS, for rows under 4 bytes (the wasm kernels copy 8 or 4 at a time). */
function padPlanesInJs(
  mem: Uint8Array, src: number, W: number, planeIn: number, dst: number, Hp: number, Wp: number, top: number, left: number,
  rows: number, cols: number, planes: number, fill: number,
): void {
  mem.fill(fill, dst, dst + planes * Hp * Wp);
  for (let c = 0; c < planes; c++) {
    for (let r = 0; r < rows; r++) {
      const from = src + c * planeIn + r * W;
      mem.copyWithin(dst + (c * Hp + top + r) * Wp + left, from, from + cols);
    }
  }
}

/** im2col on wasm: the group's planes padded with the zero point into `padded` (bytes long), then gathered. */
interface WasmIm2col {
  bytes: number;
  run(plane0: number, pad: number, padded: number, dst: number): void;
}

function planWasmIm2col(kernels: Int8Kernels, g: ConvGeometry, Cg: number): WasmIm2col | undefined {
  if (g.inSize.length !== 2) return undefined;
  const [H, W] = g.inSize as [number, number];
  const [OH, OW] = g.outSize as [number, number];
  const [KH, KW] = g.kernel as [number, number];
  const [sh, sw] = g.strides as [number, number];
  const [dh, dw] = g.dilations as [number, number];
  const [ph, pw] = g.padBegin as [number, number];
  const S = sh;
  const Hp = (OH - 1) * S + (KH - 1) * dh + 1;
  const Wp = (OW - 1) * S + (KW - 1) * dw + 1;
  const rows = Math.max(0, Math.min(H, Hp - ph));
  const cols = Math.min(W, Wp - pw);
  if (sh !== sw || (S !== 1 && S !== 2) || OW < 8 || cols < 8) return undefined;
  const gather = kernels.im2col[S - 1];
  return {
    // The pad kernel and the stride-2 loads may run up to 16 bytes past the last plane.
    bytes: Cg * Hp * Wp + 16,
    run(plane0, pad, padded, dst) {
      kernels.padPlanes(plane0, W, H * W, padded, Hp, Wp, ph, pw, rows, cols, Cg, pad);
      gather(padded, Hp, Wp, Cg, KH, KW, dh, dw, OH, OW, dst);
    },
  };
}

/** Writes the im2col matrix of one group's Cg planes (from byte plane0) as K rows of P bytes at dst; padding = pad. */
type Im2col = (mem: Uint8Array, plane0: number, pad: number, dst: number) => void;

/** Any rank, through the index map transposed to [KS, P] so each row is a linear walk. */
function im2colByMap(map: Int32Array, Cg: number, KS: number, P: number, inPlane: number): Im2col {
  const rows = new Int32Array(KS * P);
  for (let p = 0; p < P; p++) for (let k = 0; k < KS; k++) rows[k * P + p] = map[p * KS + k]!;
  return (mem, plane0, pad, dst) => {
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
  };
}

/** [lo, hi): the outputs o whose input o·stride - padBegin + k·dilation lies in [0, size). */
function validRange(outSize: number, size: number, stride: number, offset: number): [number, number] {
  let lo = 0;
  while (lo < outSize && lo * stride + offset < 0) lo++;
  let hi = outSize;
  while (hi > lo && (hi - 1) * stride + offset >= size) hi--;
  return [lo, hi];
}

/**
 * 2-D: row (c, kh, kw) of the im2col matrix is, per output row oh, the input row ih = oh·sh - ph + kh·dh read at
 * iw = ow·sw - pw + kw·dw over its valid columns, padding elsewhere. With unit strides and OW = W (a "same"
 * convolution) the valid output rows are one contiguous block of the input shifted by kw·dw - pw: one copyWithin,
 * then the padding columns are patched.
 */
function im2col2d(g: ConvGeometry, Cg: number): Im2col {
  const [H, W] = g.inSize as [number, number];
  const [OH, OW] = g.outSize as [number, number];
  const [KH, KW] = g.kernel as [number, number];
  const [sh, sw] = g.strides as [number, number];
  const [dh, dw] = g.dilations as [number, number];
  const [ph, pw] = g.padBegin as [number, number];
  const rowsOf = Array.from({ length: KH }, (_, kh) => validRange(OH, H, sh, kh * dh - ph));
  const colsOf = Array.from({ length: KW }, (_, kw) => validRange(OW, W, sw, kw * dw - pw));
  const block = sh === 1 && sw === 1 && OW === W;
  const P = OH * OW;
  return (mem, plane0, pad, dst) => {
    let d = dst;
    for (let c = 0; c < Cg; c++) {
      const plane = plane0 + c * H * W;
      for (let kh = 0; kh < KH; kh++) {
        const [ohLo, ohHi] = rowsOf[kh]!;
        for (let kw = 0; kw < KW; kw++, d += P) {
          const [lo, hi] = colsOf[kw]!;
          const shift = kw * dw - pw;
          if (ohLo > 0) mem.fill(pad, d, d + ohLo * OW);
          if (ohHi < OH) mem.fill(pad, d + ohHi * OW, d + P);
          if (block && ohLo < ohHi) {
            const src = plane + (ohLo - ph + kh * dh) * W + shift;
            mem.copyWithin(d + ohLo * OW, src, src + (ohHi - ohLo) * W);
            for (let oh = ohLo; oh < ohHi; oh++) {
              const row = d + oh * OW;
              for (let ow = 0; ow < lo; ow++) mem[row + ow] = pad;
              for (let ow = hi; ow < OW; ow++) mem[row + ow] = pad;
            }
            continue;
          }
          for (let oh = ohLo; oh < ohHi; oh++) {
            const row = d + oh * OW;
            const src = plane + (oh * sh - ph + kh * dh) * W + shift;
            for (let ow = 0; ow < lo; ow++) mem[row + ow] = pad;
            if (sw === 1) mem.copyWithin(row + lo, src + lo, src + hi);
            else for (let ow = lo; ow < hi; ow++) mem[row + ow] = mem[src + ow * sw]!;
            for (let ow = hi; ow < OW; ow++) mem[row + ow] = pad;
          }
        }
      }
    }
  };
}
