import { sgemm } from '../gemm/sgemm.js';
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
