import { sgemm } from '../gemm/sgemm.js';
import type { ConvProblem } from './reference.js';

/** How the im2col path runs one convolution: column tiles of whole output rows, bounded in bytes. */
export interface Im2colPlan {
  /** 1×1, stride 1, no pad: the input itself is the column matrix, no scratch. */
  pointwise: boolean;
  /** Output rows (OH) per column tile. */
  rowsPerTile: number;
  /** Float32 elements of the column scratch (0 when pointwise). */
  scratchLength: number;
}

export const IM2COL_SCRATCH_BYTES = 8 << 20;

/** True when the problem is 2-D (D == 1 after lifting), the only shape the im2col path handles. */
export function im2colApplies(p: ConvProblem): boolean {
  return p.geo.inSize[0] === 1 && p.geo.kernel[0] === 1 && p.geo.outSize[0] === 1;
}

export function planIm2col(p: ConvProblem, maxScratchBytes = IM2COL_SCRATCH_BYTES): Im2colPlan {
  const g = p.geo;
  const pointwise =
    g.kernel[1] === 1 && g.kernel[2] === 1 && g.strides[1] === 1 && g.strides[2] === 1 &&
    g.padsBegin.every((v) => v === 0) && g.padsEnd.every((v) => v === 0);
  if (pointwise) return { pointwise, rowsPerTile: g.outSize[1]!, scratchLength: 0 };
  const [OH, OW] = [g.outSize[1]!, g.outSize[2]!];
  const Kg = (p.inChannels / p.group) * g.kernel[1]! * g.kernel[2]!;
  const rowBytes = Kg * OW * 4;
  const rowsPerTile = Math.max(1, Math.min(OH, Math.floor(maxScratchBytes / rowBytes)));
  return { pointwise, rowsPerTile, scratchLength: Kg * OW * rowsPerTile };
}

/**
 * Convolution as GEMM per group: Y_g [Mg, OH·OW] = W_g [Mg, Cg·KH·KW] · col [Cg·KH·KW, OH·OW] + B.
 * W's ONNX layout [M, Cg, KH, KW] already stores each group's rows contiguously, so it is used as is.
 * The output is pre-filled with the bias and sgemm accumulates (beta = 1), so the bias costs one pass.
 * X [N, C, 1, H, W], W [M, C/group, 1, KH, KW], B [M] -> Y [N, M, 1, OH, OW]; col is scratch.
 */
export function convIm2col(
  p: ConvProblem,
  plan: Im2colPlan,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  y: Float32Array,
  col: Float32Array | undefined,
): void {
  const [H, W] = [p.geo.inSize[1]!, p.geo.inSize[2]!];
  const [OH, OW] = [p.geo.outSize[1]!, p.geo.outSize[2]!];
  const Cg = p.inChannels / p.group;
  const Mg = p.outChannels / p.group;
  const Kg = Cg * p.geo.kernel[1]! * p.geo.kernel[2]!;
  const P = OH * OW;
  for (let n = 0; n < p.batch; n++) {
    const yBase = n * p.outChannels * P;
    fillBias(y, yBase, p.outChannels, P, bias);
    for (let g = 0; g < p.group; g++) {
      const xGroup = (n * p.inChannels + g * Cg) * H * W;
      const yGroup = yBase + g * Mg * P;
      if (plan.pointwise) {
        sgemm(false, false, Mg, P, Cg, 1, w, g * Mg * Kg, Kg, x, xGroup, H * W, 1, y, yGroup, P);
        continue;
      }
      for (let r0 = 0; r0 < OH; r0 += plan.rowsPerTile) {
        const rows = Math.min(plan.rowsPerTile, OH - r0);
        im2colRows(p, x, xGroup, Cg, r0, rows, col!);
        sgemm(false, false, Mg, rows * OW, Kg, 1, w, g * Mg * Kg, Kg, col!, 0, rows * OW, 1, y, yGroup + r0 * OW, P);
      }
    }
  }
}

function fillBias(y: Float32Array, base: number, channels: number, P: number, bias: Float32Array | undefined): void {
  if (bias === undefined) {
    y.fill(0, base, base + channels * P);
    return;
  }
  for (let m = 0; m < channels; m++) y.fill(bias[m]!, base + m * P, base + (m + 1) * P);
}

/**
 * Writes col[(c·KH + kh)·KW + kw, (oh − r0)·OW + ow] = X[c, oh·sh − ph + kh·dh, ow·sw − pw + kw·dw] (0 outside)
 * for output rows r0 .. r0 + rows − 1, with col's row length rows·OW.
 */
function im2colRows(p: ConvProblem, x: Float32Array, xBase: number, Cg: number, r0: number, rows: number, col: Float32Array): void {
  const g = p.geo;
  const [H, W] = [g.inSize[1]!, g.inSize[2]!];
  const OW = g.outSize[2]!;
  const [KH, KW] = [g.kernel[1]!, g.kernel[2]!];
  const [sh, sw] = [g.strides[1]!, g.strides[2]!];
  const [dh, dw] = [g.dilations[1]!, g.dilations[2]!];
  const [ph, pw] = [g.padsBegin[1]!, g.padsBegin[2]!];
  const len = rows * OW;
  let ci = 0;
  for (let c = 0; c < Cg; c++) {
    const xc = xBase + c * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        // Output columns whose tap lands inside the row: 0 <= ow·sw − pw + kw·dw < W.
        const shift = kw * dw - pw;
        const owLo = Math.min(OW, Math.max(0, Math.ceil(-shift / sw)));
        const owHi = Math.max(owLo, Math.min(OW, Math.ceil((W - shift) / sw)));
        for (let r = 0; r < rows; r++) {
          const ih = (r0 + r) * sh - ph + kh * dh;
          const c0 = ci + r * OW;
          if (ih < 0 || ih >= H) {
            col.fill(0, c0, c0 + OW);
            continue;
          }
          const xr = xc + ih * W + shift;
          if (owLo > 0) col.fill(0, c0, c0 + owLo);
          if (sw === 1) col.set(x.subarray(xr + owLo, xr + owHi), c0 + owLo);
          else for (let ow = owLo; ow < owHi; ow++) col[c0 + ow] = x[xr + ow * sw]!;
          if (owHi < OW) col.fill(0, c0 + owHi, c0 + OW);
        }
        ci += len;
      }
    }
  }
}
