import { sgemm } from '../gemm/sgemm.js';
import { packA, packedLayout, type PackedWeights } from '../gemm/packed.js';
import { NO_ACTIVATION, type Activation } from '../gemm/activation.js';
import type { WasmContext } from '../../wasm/context.js';
import { packWeightsOnWasm, uploadPackedWeights, wasmGemmPackedA, type WasmPackedWeights } from '../../wasm/gemm.js';
import { activateInPlace } from './fused-activation.js';
import { cachedWasmWeights, packEachOnWasm, uploadTile, type WasmWeights } from './wasm-weights.js';
import { COL2IM_WASM, type WasmCol2imKernel } from './col2im.wasm.js';
import { IM2COL_SCRATCH_BYTES } from './im2col.js';
import type { ConvProblem } from './reference.js';

/** Column tiles of whole input rows for the GEMM + col2im ConvTranspose path. */
export interface Col2imPlan {
  rowsPerTile: number;
  scratchLength: number;
}

/** True when the transposed problem is 2-D (D == 1 after lifting). */
export function col2imApplies(p: ConvProblem): boolean {
  return p.geo.inSize[0] === 1 && p.geo.kernel[0] === 1 && p.geo.outSize[0] === 1;
}

export function planCol2im(p: ConvProblem, maxScratchBytes = IM2COL_SCRATCH_BYTES): Col2imPlan {
  const [H, W] = [p.geo.inSize[1]!, p.geo.inSize[2]!];
  const rowsK = (p.outChannels / p.group) * p.geo.kernel[1]! * p.geo.kernel[2]!;
  const rowsPerTile = Math.max(1, Math.min(H, Math.floor(maxScratchBytes / (rowsK * W * 4))));
  return { rowsPerTile, scratchLength: rowsK * W * rowsPerTile };
}

/**
 * ConvTranspose as GEMM + col2im per group: col [Mg·KH·KW, H·W] = W_gᵀ · X_g, where W_g [Cg, Mg·KH·KW] is the
 * group's rows of W in its ONNX layout; then each col row (m, kh, kw) is scatter-added at
 * Y[m, ih·sh − ph + kh·dh, iw·sw − pw + kw·dw]. Input rows are tiled to bound the scratch.
 * X [N, C, 1, H, W], W [C, M/group, 1, KH, KW], B [M] -> Y [N, M, 1, OH, OW]; col is scratch.
 */
export function convTransposeCol2im(p: ConvProblem, plan: Col2imPlan, x: Float32Array, w: Float32Array, bias: Float32Array | undefined, y: Float32Array, col: Float32Array): void {
  const g = p.geo;
  const [H, W] = [g.inSize[1]!, g.inSize[2]!];
  const [OH, OW] = [g.outSize[1]!, g.outSize[2]!];
  const [KH, KW] = [g.kernel[1]!, g.kernel[2]!];
  const Cg = p.inChannels / p.group;
  const Mg = p.outChannels / p.group;
  const rowsK = Mg * KH * KW;
  const plane = OH * OW;
  for (let n = 0; n < p.batch; n++) {
    for (let m = 0; m < p.outChannels; m++) {
      const base = (n * p.outChannels + m) * plane;
      y.fill(bias === undefined ? 0 : bias[m]!, base, base + plane);
    }
    for (let gi = 0; gi < p.group; gi++) {
      const xGroup = (n * p.inChannels + gi * Cg) * H * W;
      const yGroup = (n * p.outChannels + gi * Mg) * plane;
      for (let r0 = 0; r0 < H; r0 += plan.rowsPerTile) {
        const rows = Math.min(plan.rowsPerTile, H - r0);
        sgemm(true, false, rowsK, rows * W, Cg, 1, w, gi * Cg * rowsK, rowsK, x, xGroup + r0 * W, H * W, 0, col, 0, rows * W);
        col2imAdd(p, col, r0, rows, y, yGroup);
      }
    }
  }
}

/** Y[m, ih·sh − ph + kh·dh, iw·sw − pw + kw·dw] += col[(m·KH + kh)·KW + kw, (ih − r0)·W + iw] where inside Y. */
function col2imAdd(p: ConvProblem, col: Float32Array, r0: number, rows: number, y: Float32Array, yBase: number): void {
  const g = p.geo;
  const W = g.inSize[2]!;
  const [OH, OW] = [g.outSize[1]!, g.outSize[2]!];
  const [KH, KW] = [g.kernel[1]!, g.kernel[2]!];
  const [sh, sw] = [g.strides[1]!, g.strides[2]!];
  const [dh, dw] = [g.dilations[1]!, g.dilations[2]!];
  const [ph, pw] = [g.padsBegin[1]!, g.padsBegin[2]!];
  const Mg = p.outChannels / p.group;
  const len = rows * W;
  let ci = 0;
  for (let m = 0; m < Mg; m++) {
    const ym = yBase + m * OH * OW;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        // Input columns whose output lands inside the row: 0 <= iw·sw + shift < OW.
        const shift = kw * dw - pw;
        const iwLo = Math.min(W, Math.max(0, Math.ceil(-shift / sw)));
        const iwHi = Math.max(iwLo, Math.min(W, Math.ceil((OW - shift) / sw)));
        for (let r = 0; r < rows; r++) {
          const oh = (r0 + r) * sh - ph + kh * dh;
          if (oh < 0 || oh >= OH) continue;
          const yr = ym + oh * OW + shift;
          const cr = ci + r * W;
          for (let iw = iwLo; iw < iwHi; iw++) y[yr + iw * sw]! += col[cr + iw]!;
        }
        ci += len;
      }
    }
  }
}

/**
 * Column tiles for the wasm path: small enough that the tile the GEMM writes is still in cache when col2im
 * reads it back (1 MB).
 */
export const COL2IM_WASM_SCRATCH_BYTES = 1 << 20;

/** Column rows of one group, Mg·KD·KH·KW, in the order of W's [C, M/group, KD, KH, KW] layout. */
function colRows(p: ConvProblem): number {
  return (p.outChannels / p.group) * p.geo.kernel[0]! * p.geo.kernel[1]! * p.geo.kernel[2]!;
}

/** Tiles of whole input rows of one depth slice for the wasm path (1-D, 2-D and 3-D). */
export function planCol2imWasm(p: ConvProblem, maxScratchBytes = COL2IM_WASM_SCRATCH_BYTES): Col2imPlan {
  const [H, W] = [p.geo.inSize[1]!, p.geo.inSize[2]!];
  const rowsPerTile = Math.max(1, Math.min(H, Math.floor(maxScratchBytes / (colRows(p) * W * 4))));
  return { rowsPerTile, scratchLength: colRows(p) * W * rowsPerTile };
}

/** The wasm side of ConvTranspose: Wᵀ per group packed at prepare and uploaded, and the col2im kernel. */
export interface Col2imWasm {
  readonly weights: WasmWeights;
  readonly col2im: WasmCol2imKernel;
}

/** W [C, M/group, KD, KH, KW] as per-group A panels Wᵀ_g [Mg·KD·KH·KW, Cg] for the packed GEMM (once at prepare). */
export function packTransposeWeights(p: ConvProblem, w: Float32Array): PackedWeights[] {
  const Cg = p.inChannels / p.group;
  const rowsK = colRows(p);
  const packs: PackedWeights[] = [];
  for (let g = 0; g < p.group; g++) packs.push(packA(w, g * Cg * rowsK, rowsK, true, rowsK, Cg));
  return packs;
}

/** Packs and uploads Wᵀ (once per context and weights) and compiles col2im; undefined when the engine refuses. */
export function prepareCol2imWasm(ctx: WasmContext, p: ConvProblem, w: Float32Array): Col2imWasm | undefined {
  const col2im = ctx.use(COL2IM_WASM);
  if (col2im === undefined) return undefined;
  return { weights: cachedWasmWeights(ctx, w, undefined, `deconv-a:${p.group}`, () => packTransposeOnWasm(ctx, p, w) ?? packTransposeWeights(p, w).map((g) => uploadPackedWeights(ctx, g))), col2im };
}

/** Each group's Wᵀ_g packed in wasm memory by the GEMM's own pack (packWeightsOnWasm: op(A)(t, k) = W_g[k, t]). */
function packTransposeOnWasm(ctx: WasmContext, p: ConvProblem, w: Float32Array): WasmPackedWeights[] | undefined {
  const Cg = p.inChannels / p.group;
  const rowsK = colRows(p);
  const layout = packedLayout('A', rowsK, Cg, false, { tile: uploadTile(ctx) });
  return packEachOnWasm(ctx, p.group, (g) => packWeightsOnWasm(ctx, layout, w, g * Cg * rowsK, 1, rowsK, undefined, 0));
}

/**
 * ConvTranspose on wasm, 1-D to 3-D: Y = bias, then per group, input depth slice and tile of its rows
 * col = Wᵀ_g · X_g on the packed wasm GEMM, and per depth tap kd whose output depth od = id·sd − pd + kd·dd
 * lies inside Y the scatter-add of that tap's rows by f32_col2im_add; then the activation over Y (Relu/Clip/
 * LeakyRelu/sigmoid… on wasm). Returns false, doing nothing, when x, y or col is not a view of the context's memory.
 * X [N, C, D, H, W], W [C, M/group, KD, KH, KW], B [M] -> Y [N, M, OD, OH, OW]; col is scratch.
 */
export function convTransposeCol2imWasm(
  p: ConvProblem, plan: Col2imPlan, k: Col2imWasm, x: Float32Array, bias: Float32Array | undefined, y: Float32Array,
  col: Float32Array, act: Activation,
): boolean {
  const ctx = k.weights.ctx;
  const buffer = ctx.memory.buffer;
  if (x.buffer !== buffer || y.buffer !== buffer || col.buffer !== buffer) return false;
  const g = p.geo;
  const [D, H, W] = g.inSize as [number, number, number];
  const [OD, OH, OW] = g.outSize as [number, number, number];
  const [KD, KH, KW] = g.kernel as [number, number, number];
  const Cg = p.inChannels / p.group;
  const Mg = p.outChannels / p.group;
  const plane = OD * OH * OW;
  for (let n = 0; n < p.batch; n++) {
    for (let m = 0; m < p.outChannels; m++) {
      const base = (n * p.outChannels + m) * plane;
      y.fill(bias === undefined ? 0 : bias[m]!, base, base + plane);
    }
    for (let gi = 0; gi < p.group; gi++) {
      const xGroup = (n * p.inChannels + gi * Cg) * D * H * W;
      const yGroup = (n * p.outChannels + gi * Mg) * plane;
      for (let id = 0; id < D; id++) {
        for (let r0 = 0; r0 < H; r0 += plan.rowsPerTile) {
          const rows = Math.min(plan.rowsPerTile, H - r0);
          const len = rows * W;
          wasmGemmPackedA(ctx, k.weights.packs[gi]!, len, x, xGroup + (id * H + r0) * W, D * H * W, false, col, 0, len, NO_ACTIVATION);
          for (let kd = 0; kd < KD; kd++) {
            const od = id * g.strides[0]! - g.padsBegin[0]! + kd * g.dilations[0]!;
            if (od < 0 || od >= OD) continue;
            // Output channels in ranges over the threads (each channel's scatter-add touches only its own plane).
            ctx.invokePlanes(k.col2im, [
              col.byteOffset + 4 * kd * KH * KW * len, y.byteOffset + 4 * (yGroup + od * OH * OW), Mg, KH, KW, rows, W, r0, OH, OW,
              g.strides[1]!, g.strides[2]!, g.dilations[1]!, g.dilations[2]!, g.padsBegin[1]!, g.padsBegin[2]!,
              4 * KD * KH * KW * len, 4 * plane,
            ], Mg, 2, [[0, 4 * KD * KH * KW * len], [1, 4 * plane]], KH * KW * len);
          }
        }
      }
    }
  }
  activateInPlace(act, y, 0, y.length, ctx);
  return true;
}
