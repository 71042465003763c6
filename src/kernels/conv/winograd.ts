import { gemmPackedB, packB, packedGemmScratchLength, type PackedWeights } from '../gemm/packed.js';
import { NO_ACTIVATION, type Activation } from '../gemm/activation.js';
import { activateInPlace } from './fused-activation.js';
import type { ConvProblem } from './reference.js';
import type { WasmContext } from '../../wasm/context.js';
import { wasmGemmPackedB } from '../../wasm/gemm.js';
import { uploadWeights, type WasmWeights } from './wasm-weights.js';

/**
 * Winograd minimal filtering F(m×m, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
 * CVPR 2016): with input tiles d (n×n, n = m + 2) overlapping by 2, filter g (3×3) and output tiles Y (m×m),
 *   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A.
 * Summed over input channels, the n² element-wise products become n² independent GEMMs
 *   M_ξ [tiles, Cout] = V_ξ [tiles, Cin] · U_ξᵀ [Cin, Cout],  U = G g Gᵀ,  V = Bᵀ d B,  ξ = one of n² positions.
 * Tiles are the GEMM's rows, so a small image (few tiles) still fills the micro-kernel's columns with channels.
 */
export type WinogradVariant = 'f23' | 'f43' | 'f63';

/** The three transform matrices of F(m, 3), row-major: Bᵀ [n×n], G [n×3], Aᵀ [m×n]. */
export interface WinogradMatrices {
  m: number;
  n: number;
  BT: Float64Array;
  G: Float64Array;
  AT: Float64Array;
}

/**
 * Interpolation points of each variant (plus the point at infinity): the small integers and halves Lavin & Gray
 * and NCNN use, which keep the transforms' entries small and the float32 error low.
 */
const POINTS: Record<WinogradVariant, number[]> = {
  f23: [0, 1, -1],
  f43: [0, 1, -1, 2, -2],
  f63: [0, 1, -1, 2, -2, 0.5, -0.5],
};

export const WINOGRAD_TILE: Record<WinogradVariant, number> = { f23: 2, f43: 4, f63: 6 };

/** Coefficients (ascending powers) of Π (x − r) over the given roots. */
function polyFromRoots(roots: number[]): number[] {
  let c = [1];
  for (const r of roots) {
    const next = new Array<number>(c.length + 1).fill(0);
    c.forEach((v, i) => {
      next[i + 1]! += v;
      next[i]! -= r * v;
    });
    c = next;
  }
  return c;
}

/**
 * Toom-Cook construction of F(m, r) for correlation (Lavin & Gray §4; the transposed form of polynomial
 * multiplication evaluated at the points a_j and infinity, n = m + r − 1):
 *   Aᵀ[i][j] = a_jⁱ, with the infinity column picking i = m − 1;
 *   G[j][k] = a_jᵏ / Π_{l≠j}(a_j − a_l), with the infinity row picking k = r − 1;
 *   Bᵀ row j = coefficients of Π_{l≠j}(x − a_l) (Lagrange numerators), the infinity row those of Π_l(x − a_l).
 */
export function winogradMatrices(variant: WinogradVariant): WinogradMatrices {
  const a = POINTS[variant];
  const r = 3;
  const n = a.length + 1;
  const m = n - r + 1;
  const BT = new Float64Array(n * n);
  const G = new Float64Array(n * r);
  const AT = new Float64Array(m * n);
  for (let j = 0; j < n - 1; j++) {
    const others = a.filter((_, l) => l !== j);
    const f = others.reduce((acc, al) => acc * (a[j]! - al), 1);
    for (let k = 0; k < r; k++) G[j * r + k] = a[j]! ** k / f;
    polyFromRoots(others).forEach((v, s) => (BT[j * n + s] = v));
    for (let i = 0; i < m; i++) AT[i * n + j] = a[j]! ** i;
  }
  G[(n - 1) * r + r - 1] = 1;
  polyFromRoots(a).forEach((v, s) => (BT[(n - 1) * n + s] = v));
  AT[(m - 1) * n + n - 1] = 1;
  return { m, n, BT, G, AT };
}

/** True for the problems Winograd F(m, 3) computes: 2-D 3×3, stride 1, dilation 1, one group. */
export function winogradApplies(p: ConvProblem): boolean {
  const g = p.geo;
  return (
    p.group === 1 && g.inSize[0] === 1 && g.kernel[0] === 1 && g.kernel[1] === 3 && g.kernel[2] === 3 &&
    g.strides[1] === 1 && g.strides[2] === 1 && g.dilations[1] === 1 && g.dilations[2] === 1
  );
}

/** A sparse row: the column indices and coefficients of its non-zero entries. */
interface SparseRows {
  cols: Int32Array[];
  coefs: Float32Array[];
}

function sparseRows(mat: Float64Array, rows: number, cols: number): SparseRows {
  const out: SparseRows = { cols: [], coefs: [] };
  for (let i = 0; i < rows; i++) {
    const c: number[] = [];
    const v: number[] = [];
    for (let j = 0; j < cols; j++) {
      const x = mat[i * cols + j]!;
      if (x !== 0) {
        c.push(j);
        v.push(x);
      }
    }
    out.cols.push(Int32Array.from(c));
    out.coefs.push(Float32Array.from(v));
  }
  return out;
}

/** Everything fixed at prepare: transformed and packed filters, tile counts, scratch layout. */
export interface WinogradPlan {
  variant: WinogradVariant;
  m: number;
  n: number;
  tilesH: number;
  tilesW: number;
  /** Tiles transformed and multiplied per block (bounds the scratch). */
  tilesPerBlock: number;
  /** U_ξᵀ = (G g Gᵀ)_ξ as [Cin, Cout] packed for gemmPackedB, one per tile position ξ. */
  filters: PackedWeights[];
  bt: SparseRows;
  at: SparseRows;
  /** Scratch offsets (floats): V [n², block, Cin], M [n², block, Cout], GEMM panels, then two n×n temporaries. */
  vOffset: number;
  mOffset: number;
  gemmOffset: number;
  tmpOffset: number;
  scratchLength: number;
}

export const WINOGRAD_SCRATCH_BYTES = 4 << 20;

/**
 * U = G g Gᵀ for every (out, in) channel pair, regrouped per position ξ as [Cout, Cin] and packed as the GEMM's
 * right operand U_ξᵀ [Cin, Cout].
 * W [M, C, 3, 3] (float32) -> n² packs.
 */
export function winogradFilters(variant: WinogradVariant, w: Float32Array, M: number, C: number): PackedWeights[] {
  const { n, G } = winogradMatrices(variant);
  const nn = n * n;
  const u = new Float32Array(nn * M * C);
  const tmp = new Float64Array(n * 3);
  for (let o = 0; o < M; o++) {
    for (let c = 0; c < C; c++) {
      const g = (o * C + c) * 9;
      // tmp = G g  [n×3]
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < 3; j++) {
          tmp[i * 3 + j] = G[i * 3]! * w[g + j]! + G[i * 3 + 1]! * w[g + 3 + j]! + G[i * 3 + 2]! * w[g + 6 + j]!;
        }
      }
      // U = tmp Gᵀ  [n×n], stored at u[ξ][o][c]
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const v = tmp[i * 3]! * G[j * 3]! + tmp[i * 3 + 1]! * G[j * 3 + 1]! + tmp[i * 3 + 2]! * G[j * 3 + 2]!;
          u[((i * n + j) * M + o) * C + c] = v;
        }
      }
    }
  }
  const packs: PackedWeights[] = [];
  for (let xi = 0; xi < nn; xi++) packs.push(packB(u, xi * M * C, C, true, C, M));
  return packs;
}

export function planWinograd(
  p: ConvProblem, variant: WinogradVariant, w: Float32Array, maxScratchBytes = WINOGRAD_SCRATCH_BYTES,
): WinogradPlan {
  const mats = winogradMatrices(variant);
  const { m, n } = mats;
  const [OH, OW] = [p.geo.outSize[1]!, p.geo.outSize[2]!];
  const tilesH = Math.ceil(OH / m);
  const tilesW = Math.ceil(OW / m);
  const C = p.inChannels;
  const M = p.outChannels;
  const filters = winogradFilters(variant, w, M, C);
  const perTile = n * n * (C + M) * 4;
  const tilesPerBlock = Math.max(1, Math.min(tilesH * tilesW, Math.floor(maxScratchBytes / perTile)));
  const vOffset = 0;
  const mOffset = n * n * C * tilesPerBlock;
  const gemmOffset = mOffset + n * n * M * tilesPerBlock;
  const tmpOffset = gemmOffset + packedGemmScratchLength(filters[0]!, tilesPerBlock);
  return {
    variant, m, n, tilesH, tilesW, tilesPerBlock, filters,
    bt: sparseRows(mats.BT, n, n),
    at: sparseRows(mats.AT, m, n),
    vOffset, mOffset, gemmOffset, tmpOffset,
    scratchLength: tmpOffset + 2 * n * n,
  };
}

/** The plan's n² filter packs uploaded into a wasm context (once per weights and variant). */
export function uploadWinogradFilters(ctx: WasmContext, plan: WinogradPlan, w: Float32Array): WasmWeights {
  return uploadWeights(ctx, w, undefined, `winograd-${plan.variant}`, plan.filters);
}

/**
 * Y = act(conv3x3(X, W) + B) by Winograd F(m, 3): per block of tiles, input transform into V, n² packed GEMMs
 * into M, then the output transform with bias and activation fused in the store. With `wasm` (from
 * uploadWinogradFilters) the GEMMs run on WebAssembly SIMD when the scratch is a view of its memory.
 * X [N, C, 1, H, W] -> Y [N, M, 1, OH, OW]; scratch is plan.scratchLength floats.
 */
export function convWinograd(
  p: ConvProblem, plan: WinogradPlan, x: Float32Array, bias: Float32Array | undefined, y: Float32Array,
  scratch: Float32Array, act: Activation = NO_ACTIVATION, wasm?: WasmWeights,
): void {
  const { n, tilesPerBlock, tilesH, tilesW } = plan;
  const C = p.inChannels;
  const M = p.outChannels;
  const nn = n * n;
  const total = tilesH * tilesW;
  const [H, W] = [p.geo.inSize[1]!, p.geo.inSize[2]!];
  const [OH, OW] = [p.geo.outSize[1]!, p.geo.outSize[2]!];
  for (let b = 0; b < p.batch; b++) {
    const xBatch = b * C * H * W;
    const yBatch = b * M * OH * OW;
    for (let t0 = 0; t0 < total; t0 += tilesPerBlock) {
      const count = Math.min(tilesPerBlock, total - t0);
      transformInputTiles(p, plan, x, xBatch, t0, count, scratch);
      for (let xi = 0; xi < nn; xi++) {
        const vOff = plan.vOffset + xi * C * tilesPerBlock;
        const mOff = plan.mOffset + xi * M * tilesPerBlock;
        if (wasm !== undefined && wasmGemmPackedB(wasm.ctx, count, scratch, vOff, C, false, wasm.packs[xi]!, scratch, mOff, M, NO_ACTIVATION)) continue;
        gemmPackedB(count, scratch, vOff, C, false, plan.filters[xi]!, scratch, mOff, M, NO_ACTIVATION, scratch, plan.gemmOffset);
      }
      transformOutputTiles(p, plan, t0, count, bias, y, yBatch, scratch, act);
    }
  }
}

/** V[ξ][c][t] = (Bᵀ d B)_ξ for the input tile d of tile t (zero outside X), t in t0 .. t0 + count − 1. */
function transformInputTiles(
  p: ConvProblem, plan: WinogradPlan, x: Float32Array, xBatch: number, t0: number, count: number, s: Float32Array,
): void {
  const { n, m, tilesW, tilesPerBlock, bt } = plan;
  const C = p.inChannels;
  const [H, W] = [p.geo.inSize[1]!, p.geo.inSize[2]!];
  const [ph, pw] = [p.geo.padsBegin[1]!, p.geo.padsBegin[2]!];
  const d = plan.tmpOffset;
  const tmp = d + n * n;
  const xiStride = C * tilesPerBlock;
  for (let t = 0; t < count; t++) {
    const th = Math.floor((t0 + t) / tilesW);
    const tw = t0 + t - th * tilesW;
    const ih0 = th * m - ph;
    const iw0 = tw * m - pw;
    const interior = ih0 >= 0 && iw0 >= 0 && ih0 + n <= H && iw0 + n <= W;
    for (let c = 0; c < C; c++) {
      const xc = xBatch + c * H * W;
      const vBase = plan.vOffset + t * C + c;
      if (plan.variant === 'f43') {
        if (interior) inputTransformF43(x, xc + ih0 * W + iw0, W, s, tmp, vBase, xiStride);
        else {
          loadPaddedTile(x, xc, H, W, ih0, iw0, n, s, d);
          inputTransformF43(s, d, n, s, tmp, vBase, xiStride);
        }
        continue;
      }
      // d = the n×n input tile (zeros outside X)
      if (interior) {
        for (let i = 0; i < n; i++) {
          const xr = xc + (ih0 + i) * W + iw0;
          for (let j = 0; j < n; j++) s[d + i * n + j] = x[xr + j]!;
        }
      } else {
        for (let i = 0; i < n; i++) {
          const ih = ih0 + i;
          for (let j = 0; j < n; j++) {
            const iw = iw0 + j;
            s[d + i * n + j] = ih >= 0 && ih < H && iw >= 0 && iw < W ? x[xc + ih * W + iw]! : 0;
          }
        }
      }
      // tmp = Bᵀ d
      for (let i = 0; i < n; i++) {
        const cols = bt.cols[i]!;
        const coefs = bt.coefs[i]!;
        for (let j = 0; j < n; j++) {
          let v = 0;
          for (let k = 0; k < cols.length; k++) v += coefs[k]! * s[d + cols[k]! * n + j]!;
          s[tmp + i * n + j] = v;
        }
      }
      // V = tmp B: V[i][j] = Σ_k tmp[i][k] Bᵀ[j][k]
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const cols = bt.cols[j]!;
          const coefs = bt.coefs[j]!;
          let v = 0;
          for (let k = 0; k < cols.length; k++) v += coefs[k]! * s[tmp + i * n + cols[k]!]!;
          s[vBase + (i * n + j) * xiStride] = v;
        }
      }
    }
  }
}

/** Y tile = act(Aᵀ M_t A + B[o]) for every output channel o and tile t, clipped to the output's edge. */
function transformOutputTiles(
  p: ConvProblem, plan: WinogradPlan, t0: number, count: number, bias: Float32Array | undefined,
  y: Float32Array, yBatch: number, s: Float32Array, act: Activation,
): void {
  const { n, m, tilesW, tilesPerBlock, at } = plan;
  const M = p.outChannels;
  const [OH, OW] = [p.geo.outSize[1]!, p.geo.outSize[2]!];
  const tmp = plan.tmpOffset;
  const xiStride = M * tilesPerBlock;
  for (let o = 0; o < M; o++) {
    const b = bias === undefined ? 0 : bias[o]!;
    const yc = yBatch + o * OH * OW;
    for (let t = 0; t < count; t++) {
      const th = Math.floor((t0 + t) / tilesW);
      const tw = t0 + t - th * tilesW;
      const mBase = plan.mOffset + t * M + o;
      if (plan.variant === 'f43') {
        outputTransformF43(s, mBase, xiStride, tmp, b, y, yc + th * m * OW + tw * m, OW, Math.min(m, OH - th * m), Math.min(m, OW - tw * m), act);
        continue;
      }
      // tmp = Aᵀ M_t  [m×n]
      for (let i = 0; i < m; i++) {
        const cols = at.cols[i]!;
        const coefs = at.coefs[i]!;
        for (let j = 0; j < n; j++) {
          let v = 0;
          for (let k = 0; k < cols.length; k++) v += coefs[k]! * s[mBase + (cols[k]! * n + j) * xiStride]!;
          s[tmp + i * n + j] = v;
        }
      }
      // Y = tmp A: Y[i][j] = Σ_k tmp[i][k] Aᵀ[j][k], + bias, stored where inside the output
      const oh0 = th * m;
      const ow0 = tw * m;
      const rows = Math.min(m, OH - oh0);
      const colsOut = Math.min(m, OW - ow0);
      for (let i = 0; i < rows; i++) {
        const yr = yc + (oh0 + i) * OW + ow0;
        for (let j = 0; j < colsOut; j++) {
          const cols = at.cols[j]!;
          const coefs = at.coefs[j]!;
          let v = b;
          for (let k = 0; k < cols.length; k++) v += coefs[k]! * s[tmp + i * n + cols[k]!]!;
          y[yr + j] = v;
        }
        activateInPlace(act, y, yr, colsOut);
      }
    }
  }
}

/** d[i][j] = X[ih0 + i, iw0 + j] for the n×n tile, zero outside the H×W plane at xc. */
function loadPaddedTile(x: Float32Array, xc: number, H: number, W: number, ih0: number, iw0: number, n: number, s: Float32Array, d: number): void {
  for (let i = 0; i < n; i++) {
    const ih = ih0 + i;
    for (let j = 0; j < n; j++) {
      const iw = iw0 + j;
      s[d + i * n + j] = ih >= 0 && ih < H && iw >= 0 && iw < W ? x[xc + ih * W + iw]! : 0;
    }
  }
}

/**
 * V = Bᵀ d B for F(4,3), unrolled (Lavin & Gray's Bᵀ rows: [4 0 −5 0 1 0], [0 −4 −4 1 1 0], [0 4 −4 −1 1 0],
 * [0 −2 −1 2 1 0], [0 2 −1 −2 1 0], [0 4 0 −5 0 1]). d is the 6×6 tile at src[off] with row stride `stride`;
 * columns go through the scratch `tmp` (36 floats at t); V[i][j] is written to the same scratch at
 * tmp[vBase + (6i + j)·xiStride].
 */
function inputTransformF43(src: Float32Array, off: number, stride: number, tmp: Float32Array, t: number, vBase: number, xiStride: number): void {
  for (let j = 0; j < 6; j++) {
    const d0 = src[off + j]!, d1 = src[off + stride + j]!, d2 = src[off + 2 * stride + j]!;
    const d3 = src[off + 3 * stride + j]!, d4 = src[off + 4 * stride + j]!, d5 = src[off + 5 * stride + j]!;
    tmp[t + j] = 4 * d0 - 5 * d2 + d4;
    tmp[t + 6 + j] = d3 + d4 - 4 * (d1 + d2);
    tmp[t + 12 + j] = d4 - d3 + 4 * (d1 - d2);
    tmp[t + 18 + j] = d4 - d2 + 2 * (d3 - d1);
    tmp[t + 24 + j] = d4 - d2 - 2 * (d3 - d1);
    tmp[t + 30 + j] = 4 * d1 - 5 * d3 + d5;
  }
  for (let i = 0; i < 6; i++) {
    const r = t + i * 6;
    const d0 = tmp[r]!, d1 = tmp[r + 1]!, d2 = tmp[r + 2]!, d3 = tmp[r + 3]!, d4 = tmp[r + 4]!, d5 = tmp[r + 5]!;
    const v = vBase + i * 6 * xiStride;
    tmp[v] = 4 * d0 - 5 * d2 + d4;
    tmp[v + xiStride] = d3 + d4 - 4 * (d1 + d2);
    tmp[v + 2 * xiStride] = d4 - d3 + 4 * (d1 - d2);
    tmp[v + 3 * xiStride] = d4 - d2 + 2 * (d3 - d1);
    tmp[v + 4 * xiStride] = d4 - d2 - 2 * (d3 - d1);
    tmp[v + 5 * xiStride] = 4 * d1 - 5 * d3 + d5;
  }
}

/**
 * Y = Aᵀ M A for F(4,3), unrolled (Aᵀ rows: [1 1 1 1 1 0], [0 1 −1 2 −2 0], [0 1 1 4 4 0], [0 1 −1 8 −8 1]),
 * + bias, activation, stored as rows × cols (clipped at the output edge) at y[yOff], row stride OW.
 * M[ξ] is read at s[mBase + ξ·xiStride]; tmp (24 floats at t) holds Aᵀ M.
 */
function outputTransformF43(
  s: Float32Array, mBase: number, xiStride: number, t: number, bias: number,
  y: Float32Array, yOff: number, OW: number, rows: number, cols: number, act: Activation,
): void {
  for (let j = 0; j < 6; j++) {
    const p = mBase + j * xiStride;
    const m0 = s[p]!, m1 = s[p + 6 * xiStride]!, m2 = s[p + 12 * xiStride]!;
    const m3 = s[p + 18 * xiStride]!, m4 = s[p + 24 * xiStride]!, m5 = s[p + 30 * xiStride]!;
    const a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4;
    s[t + j] = m0 + a + c;
    s[t + 6 + j] = b + 2 * d;
    s[t + 12 + j] = a + 4 * c;
    s[t + 18 + j] = b + 8 * d + m5;
  }
  for (let i = 0; i < rows; i++) {
    const r = t + i * 6;
    const m0 = s[r]!, m1 = s[r + 1]!, m2 = s[r + 2]!, m3 = s[r + 3]!, m4 = s[r + 4]!, m5 = s[r + 5]!;
    const a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4;
    const yr = yOff + i * OW;
    y[yr] = bias + m0 + a + c;
    if (cols > 1) y[yr + 1] = bias + b + 2 * d;
    if (cols > 2) y[yr + 2] = bias + a + 4 * c;
    if (cols > 3) y[yr + 3] = bias + b + 8 * d + m5;
    if (act.kind !== 'none') activateInPlace(act, y, yr, cols);
  }
}
