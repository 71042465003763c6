import { gemmPackedB, packB, packedGemmScratchLength, packedLayout, type PackedWeights } from '../gemm/packed.js';
import type { PackedTile } from '../gemm/microkernels.js';
import { NO_ACTIVATION, type Activation } from '../gemm/activation.js';
import { activateInPlace } from './fused-activation.js';
import type { ConvProblem } from './reference.js';
import type { WasmContext } from '../../wasm/context.js';
import { allocPackedWeights, driverArgs, epilogue, uploadPackedWeights, wasmGemmPackedB, type WasmPackedWeights } from '../../wasm/gemm.js';
import { ArgCode } from '../../wasm/threads.js';
import { wasmWinogradInput, wasmWinogradOutput, winogradInputArgs, winogradOutputArgs } from '../../wasm/winograd.js';
import { cachedWasmWeights, uploadStorage, uploadTile, uploadVector, type WasmVector, type WasmWeights } from './wasm-weights.js';
import { IM2COL_WASM, type WasmIm2col } from './im2col-wasm.js';

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
  inChannels: number;
  outChannels: number;
  tilesH: number;
  tilesW: number;
  /** Tiles transformed and multiplied per block (bounds the scratch). */
  tilesPerBlock: number;
  /**
   * U_ξᵀ = (G g Gᵀ)_ξ as [Cin, Cout] packed for gemmPackedB, one per tile position ξ. Empty after
   * releaseJsFilters (the wasm backend runs on its uploaded copy); the JS fallback remakes them with remakeFilters.
   */
  filters: PackedWeights[];
  /** Makes the packs (in another tile's width, or into reused storage, for an upload). */
  remakeFilters: (tile?: PackedTile, storage?: (xi: number, length: number) => Float32Array) => PackedWeights[];
  /**
   * True from planWinograd until the JS packs are made, which happens once the synchronous prepare that planned
   * is over (a microtask), unless uploadWinogradFilters ran first: on the wasm backend the JS packs are then never
   * made (resnet18: 150 MB of F(4,3) filters not written twice). A JS run before then makes them itself.
   */
  filtersPending: boolean;
  bt: SparseRows;
  at: SparseRows;
  /** Scratch offsets (floats): V [n², block, Cin], M [n², block, Cout], GEMM panels, two n×n temporaries, then the edge tiles below. */
  vOffset: number;
  mOffset: number;
  gemmOffset: number;
  tmpOffset: number;
  /** Edge output tiles of every channel [M, m, m], written by the wasm output transform and copied clipped to Y. */
  edgeOffset: number;
  /** Zero-padded border input tiles of every channel [C, n, n], for the wasm input transform. */
  borderOffset: number;
  scratchLength: number;
  /** The input zero-padded to whole tiles [C, paddedH, paddedW] (wasm backend only: after scratchLength). */
  paddedH: number;
  paddedW: number;
}

/**
 * Float32 scratch of convWinograd: the plan's, plus on wasm the input padded to whole tiles and, when the
 * output does not divide into whole tiles, the output in whole tiles (see outputInWholeTiles).
 */
export function winogradScratchLength(p: ConvProblem, plan: WinogradPlan, wasm: boolean): number {
  if (!wasm) return plan.scratchLength;
  const paddedOut = hasEdgeTiles(p, plan) ? p.outChannels * plan.tilesH * plan.m * plan.tilesW * plan.m : 0;
  return plan.scratchLength + p.inChannels * plan.paddedH * plan.paddedW + paddedOut;
}

function hasEdgeTiles(p: ConvProblem, plan: WinogradPlan): boolean {
  return p.geo.outSize[1]! % plan.m !== 0 || p.geo.outSize[2]! % plan.m !== 0;
}

/** Where whole output tiles go: [channels, H, W] planes at s[offset]; cropped into Y once per batch item. */
interface WholeTiles {
  offset: number;
  W: number;
  plane: number;
  channels: number;
}

/**
 * On wasm, when the output has edge tiles: the first 4⌊M/4⌋ channels' tiles all written whole into the scratch
 * (after the padded input), then cropped into Y by one wasm copy (a 1×1 im2col), instead of each edge tile
 * going through a scratch tile and a clipped JS copy. Undefined otherwise.
 */
function outputInWholeTiles(p: ConvProblem, plan: WinogradPlan, y: Float32Array, s: Float32Array, wasm: WasmWinograd | undefined): WholeTiles | undefined {
  const channels = (p.outChannels >> 2) * 4;
  if (wasm?.pad === undefined || !wasm.transforms || channels === 0 || !hasEdgeTiles(p, plan)) return undefined;
  const buffer = wasm.weights.ctx.memory.buffer;
  if (y.buffer !== buffer || s.buffer !== buffer || s.length < winogradScratchLength(p, plan, true)) return undefined;
  const W = plan.tilesW * plan.m;
  return { offset: plan.scratchLength + p.inChannels * plan.paddedH * plan.paddedW, W, plane: plan.tilesH * plan.m * W, channels };
}

/** Y[o] = the top-left OH×OW of the whole-tile plane o, for o < tiles.channels (one wasm call). */
function cropWholeTiles(p: ConvProblem, plan: WinogradPlan, tiles: WholeTiles, s: Float32Array, y: Float32Array, yBatch: number, pad: WasmIm2col, ctx: WasmContext): void {
  const [OH, OW] = [p.geo.outSize[1]!, p.geo.outSize[2]!];
  const [H, W] = [plan.tilesH * plan.m, tiles.W];
  ctx.invokePlanes(pad.im2col, [
    s.byteOffset + 4 * tiles.offset, y.byteOffset + 4 * yBatch, tiles.channels, H, W, 1, 1, 1, 1, 1, 1, 0, 0, OW, 0, OH,
  ], tiles.channels, 2, [[0, 4 * H * W], [1, 4 * OH * OW]], OH * OW);
}

export const WINOGRAD_SCRATCH_BYTES = 4 << 20;

/**
 * U = G g Gᵀ for every (out, in) channel pair, regrouped per position ξ as [Cout, Cin] and packed as the GEMM's
 * right operand U_ξᵀ [Cin, Cout]: n² packs in the layout of packB (panels of `tile.nr` output channels, Cin-major).
 * W [M, C, 3, 3] (float32) -> n² packs.
 *
 * Each filter is transformed on its own, in float64 locals, and its n² values are stored straight into the n²
 * panels: no [n², M·C] intermediate, no GEMM, no separate packing pass (F(4,3) filters are 4× the 3×3 weights,
 * so those passes over memory cost more than the arithmetic: resnet18's 26 M transformed values took 1.26 s
 * through a Kronecker-product sgemm and packB, see transformFilter). `tile` chooses the panel width (default the
 * JS GEMM's); a pack made for a wasm tile only feeds the upload (its JS micro-kernels are those of `tile`).
 */
export function winogradFilters(
  variant: WinogradVariant, w: Float32Array, M: number, C: number, tile?: PackedTile,
  storage: (xi: number, length: number) => Float32Array = (_, length) => new Float32Array(length),
): PackedWeights[] {
  const { n, G } = winogradMatrices(variant);
  const nn = n * n;
  // The layout (tile width, panel offset) is packB's, read off a one-column pack; the pack of position 0 is made by
  // packB itself (so every field but the data is packB's own) and the others share its fields.
  const options = tile === undefined ? undefined : { tile };
  const { nr, panelsOffset } = packB(new Float32Array(C), 0, C, true, C, 1, 1, undefined, options);
  const panel = C * nr;
  const length = panelsOffset + Math.ceil(M / nr) * panel;
  const data: Float32Array[] = [];
  for (let xi = 1; xi < nn; xi++) data.push(storage(xi, length));
  const u0 = new Float32Array(M * C);
  const u = new Float64Array(nn);
  const tmp = new Float64Array(n * 3);
  // U_ξ[o][c] goes to panel ⌊o/nr⌋, row c, lane o mod nr (packB's layout for op(B) = U_ξᵀ, K = C, N = M).
  for (let o = 0; o < M; o++) {
    const base = panelsOffset + Math.floor(o / nr) * panel + (o % nr);
    for (let c = 0; c < C; c++) {
      transformFilter(variant, G, n, w, (o * C + c) * 9, tmp, u);
      u0[o * C + c] = u[0]!;
      const at = base + c * nr;
      for (let xi = 1; xi < nn; xi++) data[xi - 1]![at] = u[xi]!;
    }
  }
  // Lanes past the last output channel stay zero, as packB leaves them (storage may be reused).
  for (let o = M; o < Math.ceil(M / nr) * nr; o++) {
    const base = panelsOffset + Math.floor(o / nr) * panel + (o % nr);
    for (let c = 0; c < C; c++) for (let xi = 1; xi < nn; xi++) data[xi - 1]![base + c * nr] = 0;
  }
  const first = packB(u0, 0, C, true, C, M, 1, undefined, options);
  if (first.data.length !== length || first.panelsOffset !== panelsOffset) throw new Error('winogradFilters: unexpected packB layout');
  return [first, ...data.map((d) => ({ ...first, data: d }))];
}

/**
 * u = G g Gᵀ (n×n, row-major) for the 3×3 filter g at w[off]: tmp = G g (n×3), then u = tmp Gᵀ. F(4,3), the
 * variant convolution picks, is unrolled on the rows of Lavin & Gray's G ([1/4 0 0], [−1/6 −1/6 −1/6],
 * [−1/6 1/6 −1/6], [1/24 1/12 1/6], [1/24 −1/12 1/6], [0 0 1]): about 90 operations per filter.
 */
function transformFilter(variant: WinogradVariant, G: Float64Array, n: number, w: Float32Array, off: number, tmp: Float64Array, u: Float64Array): void {
  if (variant === 'f43') {
    for (let l = 0; l < 3; l++) g43(w[off + l]!, w[off + 3 + l]!, w[off + 6 + l]!, tmp, l, 3);
    for (let i = 0; i < 6; i++) g43(tmp[i * 3]!, tmp[i * 3 + 1]!, tmp[i * 3 + 2]!, u, i * 6, 1);
    return;
  }
  for (let i = 0; i < n; i++) {
    const g0 = G[i * 3]!, g1 = G[i * 3 + 1]!, g2 = G[i * 3 + 2]!;
    for (let l = 0; l < 3; l++) tmp[i * 3 + l] = g0 * w[off + l]! + g1 * w[off + 3 + l]! + g2 * w[off + 6 + l]!;
  }
  for (let i = 0; i < n; i++) {
    const t0 = tmp[i * 3]!, t1 = tmp[i * 3 + 1]!, t2 = tmp[i * 3 + 2]!;
    for (let j = 0; j < n; j++) u[i * n + j] = t0 * G[j * 3]! + t1 * G[j * 3 + 1]! + t2 * G[j * 3 + 2]!;
  }
}

/**
 * out[at + k·stride] = (G (a, b, c)ᵀ)_k for F(4,3)'s G, k = 0..5, in float64 with the reciprocals as constants
 * (the wasm filter transform does the same operations in the same order, so both give the same packs).
 */
function g43(a: number, b: number, c: number, out: Float64Array, at: number, stride: number): void {
  const s = -(a + c) * G43_SIXTH;
  const q = a * G43_TWENTY_FOURTH + c * G43_SIXTH;
  out[at] = a * 0.25;
  out[at + stride] = s - b * G43_SIXTH;
  out[at + 2 * stride] = s + b * G43_SIXTH;
  out[at + 3 * stride] = q + b * G43_TWELFTH;
  out[at + 4 * stride] = q - b * G43_TWELFTH;
  out[at + 5 * stride] = c;
}
const G43_SIXTH = 1 / 6;
const G43_TWELFTH = 1 / 12;
const G43_TWENTY_FOURTH = 1 / 24;

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
  // The GEMM's scratch depends on the pack's tile and blocking only: read off a one-column pack.
  const layout = packB(new Float32Array(C), 0, C, true, C, 1);
  const perTile = n * n * (C + M) * 4;
  const tilesPerBlock = Math.max(1, Math.min(tilesH * tilesW, Math.floor(maxScratchBytes / perTile)));
  const vOffset = 0;
  const mOffset = n * n * C * tilesPerBlock;
  const gemmOffset = mOffset + n * n * M * tilesPerBlock;
  const tmpOffset = gemmOffset + packedGemmScratchLength(layout, tilesPerBlock);
  const plan: WinogradPlan = {
    variant, m, n, inChannels: C, outChannels: M, tilesH, tilesW, tilesPerBlock, filters: [], filtersPending: true,
    remakeFilters: (tile, storage) => winogradFilters(variant, w, M, C, tile, storage),
    bt: sparseRows(mats.BT, n, n),
    at: sparseRows(mats.AT, m, n),
    vOffset, mOffset, gemmOffset, tmpOffset,
    edgeOffset: tmpOffset + 2 * n * n,
    borderOffset: tmpOffset + 2 * n * n + M * m * m,
    scratchLength: tmpOffset + 2 * n * n + M * m * m + C * n * n,
    paddedH: tilesH * m + 2,
    paddedW: tilesW * m + 2,
  };
  queueMicrotask(() => {
    if (!plan.filtersPending) return;
    plan.filtersPending = false;
    if (plan.filters.length === 0) plan.filters = plan.remakeFilters();
  });
  return plan;
}

/**
 * The filter packs to upload: the plan's own when it made them in the wasm GEMM's tile, else the transform made
 * straight in the wasm tile's panel width (the plan's JS packs are then never made: see filtersPending), so the
 * upload is one copy per pack instead of a re-tiling of every value (resnet18's F(4,3) filters, 37 M floats,
 * spent 0.56 s in that re-tiling). Used where the wasm filter transform is not available.
 */
function packsForUpload(ctx: WasmContext, plan: WinogradPlan): PackedWeights[] {
  const { nr } = ctx.kernels.gemm;
  const own = plan.filters[0];
  if (own !== undefined && own.nr === nr) return plan.filters;
  return plan.remakeFilters(uploadTile(ctx), uploadStorage);
}

/**
 * The n² filter packs made in wasm memory by the wasm filter transform (bit for bit winogradFilters' packs in the
 * wasm tile): W is copied in once, transformed two output channels per step, and the packs are written in their
 * final place, with no JS pack and no copy (resnet18: 0.4–0.6 s of JS transform and 0.1 s of copying at create).
 * An odd last output channel is transformed in JS; the lanes past the last channel are zero, as packB leaves them.
 * Undefined when the engine has no Winograd module (the caller uploads JS packs).
 */
function transformFiltersOnWasm(ctx: WasmContext, plan: WinogradPlan, w: Float32Array): WasmPackedWeights[] | undefined {
  const kernels = ctx.winograd(plan.variant);
  if (kernels === undefined) return undefined;
  const { n, inChannels: C, outChannels: M } = plan;
  const nn = n * n;
  const { nr } = ctx.kernels.gemm;
  const layout = packedLayout('B', M, C, false, { tile: uploadTile(ctx) });
  const packs = Array.from({ length: nn }, () => allocPackedWeights(ctx, layout));
  const wAt = ctx.allocFloats(w);
  const table = ctx.alloc(4 * nn);
  new Int32Array(ctx.memory.buffer, table, nn).set(packs.map((p) => p.panels));
  const fullPanels = Math.floor(M / nr);
  if (fullPanels * nr < M) for (const p of packs) ctx.f32(p.panels + 4 * fullPanels * C * nr, C * nr).fill(0);
  // A call per panel rather than one per layer: V8 runs a wasm function's first calls on its baseline compiler
  // and swaps in the optimized code between calls only, so one long call would run wholly on the slow code.
  const pairs = M >> 1;
  for (let p0 = 0; p0 < pairs; p0 += nr >> 1) kernels.filter(wAt, C, 2 * p0, Math.min(nr >> 1, pairs - p0), table, nr);
  if (M % 2 === 1) transformLastChannelInJs(ctx, plan, w, packs);
  ctx.free(table);
  ctx.free(wAt);
  return packs;
}

/** U_ξ[M − 1][c] for every c and ξ, by the JS transform, into the wasm packs (their panel layout, nr lanes). */
function transformLastChannelInJs(ctx: WasmContext, plan: WinogradPlan, w: Float32Array, packs: readonly WasmPackedWeights[]): void {
  const { n, inChannels: C, outChannels: M, variant } = plan;
  const { G } = winogradMatrices(variant);
  const { nr } = ctx.kernels.gemm;
  const o = M - 1;
  const base = Math.floor(o / nr) * C * nr + (o % nr);
  const views = packs.map((p) => ctx.f32(p.panels, Math.ceil(M / nr) * nr * C));
  const u = new Float64Array(n * n);
  const tmp = new Float64Array(n * 3);
  for (let c = 0; c < C; c++) {
    transformFilter(variant, G, n, w, (o * C + c) * 9, tmp, u);
    for (let xi = 0; xi < n * n; xi++) views[xi]![base + c * nr] = u[xi]!;
  }
}

/**
 * What convWinograd needs on the wasm backend: the n² filter packs in wasm memory, and a constant bias there
 * too (the wasm output transform reads it from memory; a runtime bias already lives in the arena).
 */
export interface WasmWinograd {
  weights: WasmWeights;
  bias?: WasmVector;
  /** Run the interior transforms on wasm too (default); false keeps them in JS (benchmarks compare both). */
  transforms: boolean;
  /** Pads the input to whole tiles on wasm (a 1×1 im2col), so every input tile is an interior one. */
  pad?: WasmIm2col;
}

/**
 * The plan's n² filter packs (and a constant bias) uploaded into a wasm context (once per weights and variant).
 * The plan's JS packs are then released: F(4,3) filters are 4× the 3×3 weights, and the wasm copy is what runs;
 * the JS fallback (views outside wasm memory) remakes them if it ever runs.
 */
export function uploadWinogradFilters(ctx: WasmContext, plan: WinogradPlan, w: Float32Array, bias?: Float32Array): WasmWinograd {
  ctx.winograd(plan.variant); // generates the variant's transform module now rather than at the first run
  // The JS packs are not made (see filtersPending), nor the upload's when these filters are uploaded already.
  plan.filtersPending = false;
  const weights = cachedWasmWeights(ctx, w, undefined, `winograd-${plan.variant}`, () =>
    transformFiltersOnWasm(ctx, plan, w) ?? packsForUpload(ctx, plan).map((p) => uploadPackedWeights(ctx, p)));
  plan.filters = [];
  return {
    weights,
    bias: bias === undefined ? undefined : uploadVector(ctx, bias),
    transforms: true,
    pad: ctx.use(IM2COL_WASM),
  };
}

/**
 * Y = act(conv3x3(X, W) + B) by Winograd F(m, 3): per block of tiles, input transform into V, n² packed GEMMs
 * into M, then the output transform with bias and activation fused in the store. With `wasm` (from
 * uploadWinogradFilters) the GEMMs, and the transforms of interior tiles four channels at a time, run on
 * WebAssembly SIMD when x, y and the scratch are views of its memory (borders and leftover channels in JS).
 * X [N, C, 1, H, W] -> Y [N, M, 1, OH, OW]; scratch is plan.scratchLength floats.
 */
export function convWinograd(
  p: ConvProblem, plan: WinogradPlan, x: Float32Array, bias: Float32Array | undefined, y: Float32Array,
  scratch: Float32Array, act: Activation = NO_ACTIVATION, wasm?: WasmWinograd,
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
    const src = padInputOnWasm(p, plan, x, xBatch, scratch, wasm) ?? { x, base: xBatch, H, W, ph: p.geo.padsBegin[1]!, pw: p.geo.padsBegin[2]! };
    const whole = outputInWholeTiles(p, plan, y, scratch, wasm);
    if (wasm !== undefined && blocksOnThreads(p, plan, src, scratch, y, yBatch, bias, act, wasm, whole)) {
      if (whole !== undefined) cropWholeTiles(p, plan, whole, scratch, y, yBatch, wasm.pad!, wasm.weights.ctx);
      continue;
    }
    for (let t0 = 0; t0 < total; t0 += tilesPerBlock) {
      const count = Math.min(tilesPerBlock, total - t0);
      // With threads, each phase is one batch (its tiles, or its n² products, split over the threads). Only
      // phases whose wasm calls nothing reads back in JS are recorded: all input tiles interior (X padded on
      // wasm), all output tiles whole.
      const ctx = wasm?.weights.ctx;
      const transformInput = (): void => transformInputTiles(p, plan, src, t0, count, scratch, wasm?.transforms ? ctx : undefined);
      if (ctx !== undefined && src.x === scratch) ctx.parallel(transformInput);
      else transformInput();
      const products = (): void => {
        for (let xi = 0; xi < nn; xi++) {
          const vOff = plan.vOffset + xi * C * tilesPerBlock;
          const mOff = plan.mOffset + xi * M * tilesPerBlock;
          if (wasm !== undefined && wasmGemmPackedB(wasm.weights.ctx, count, scratch, vOff, C, false, wasm.weights.packs[xi]!, scratch, mOff, M, NO_ACTIVATION)) continue;
          if (plan.filters.length === 0) plan.filters = plan.remakeFilters();
          gemmPackedB(count, scratch, vOff, C, false, plan.filters[xi]!, scratch, mOff, M, NO_ACTIVATION, scratch, plan.gemmOffset);
        }
      };
      if (ctx !== undefined) ctx.parallel(products);
      else products();
      const transformOutput = (): void => transformOutputTiles(p, plan, t0, count, bias, y, yBatch, scratch, act, wasm, whole);
      if (ctx !== undefined && whole !== undefined) ctx.parallel(transformOutput);
      else transformOutput();
    }
    if (whole !== undefined) cropWholeTiles(p, plan, whole, scratch, y, yBatch, wasm!.pad!, wasm!.weights.ctx);
  }
}

/**
 * With threads, when every step of a tile block is a wasm call (input padded on wasm, channel counts multiples of
 * four, every output tile whole, the activation fused): one group per tile block — its input transforms, its n²
 * products and its output transforms, on the thread's own V and M (the scratch holds one copy per thread, `stride`
 * floats apart) — so a layer is one batch with no barrier between its phases. False (nothing done) otherwise.
 */
function blocksOnThreads(
  p: ConvProblem, plan: WinogradPlan, src: TileSource, s: Float32Array, y: Float32Array, yBatch: number,
  bias: Float32Array | undefined, act: Activation, wasm: WasmWinograd, whole: WholeTiles | undefined,
): boolean {
  const ctx = wasm.weights.ctx;
  const pool = ctx.pool;
  const { n, m, tilesPerBlock, tilesH, tilesW, variant } = plan;
  const [C, M] = [p.inChannels, p.outChannels];
  const total = tilesH * tilesW;
  const stride = winogradScratchLength(p, plan, true);
  const kernels = ctx.winograd(variant);
  const fused = epilogue(act)[3];
  const biasView = wasm.bias?.view() ?? bias;
  if (pool === undefined || kernels === undefined || !wasm.transforms || src.x !== s || C % 4 !== 0 || M % 4 !== 0 || !fused) return false;
  const blockTiles = threadBlockTiles(total, tilesPerBlock, pool.threads, wasm.weights.packs[0]!.kernels.mr);
  if ((whole === undefined && hasEdgeTiles(p, plan)) || total <= blockTiles || s.length < stride * pool.threads) return false;
  if (biasView !== undefined && biasView.buffer !== ctx.memory.buffer) return false;
  const [OH, OW] = [p.geo.outSize[1]!, p.geo.outSize[2]!];
  const at = (offset: number): number => s.byteOffset + 4 * offset;
  const step = 4 * stride;
  const biasAt = biasView === undefined ? 0 : biasView.byteOffset;
  pool.batch(() => {
    for (let t0 = 0; t0 < total; t0 += blockTiles) {
      const count = Math.min(blockTiles, total - t0);
      pool.group();
      for (let t = 0; t < count; t++) {
        const th = Math.floor((t0 + t) / tilesW);
        const tw = t0 + t - th * tilesW;
        const xOff = src.base + th * m * src.W + tw * m;
        pool.call(kernels.input, winogradInputArgs(at(xOff), src.W, src.H * src.W, C / 4, at(plan.vOffset + t * C), C * tilesPerBlock), INPUT_CODES, step);
      }
      for (let xi = 0; xi < n * n; xi++) {
        const w = wasm.weights.packs[xi]!;
        const args = driverArgs(ctx, w, at(plan.vOffset + xi * C * tilesPerBlock), C, 1, 0, count, 0, M, at(plan.mOffset + xi * M * tilesPerBlock), M, false, NO_EPILOGUE);
        pool.call(w.kernels.packedB, args, PRODUCT_CODES, step);
      }
      for (let t = 0; t < count; t++) {
        const th = Math.floor((t0 + t) / tilesW);
        const tw = t0 + t - th * tilesW;
        const [out, outW, plane] = whole !== undefined
          ? [at(whole.offset + th * m * whole.W + tw * m), whole.W, whole.plane]
          : [y.byteOffset + 4 * (yBatch + th * m * OW + tw * m), OW, OH * OW];
        pool.call(kernels.output, winogradOutputArgs(at(plan.mOffset + t * M), M * tilesPerBlock, M / 4, biasAt, out, outW, plane, act), OUTPUT_CODES, step);
      }
    }
  });
  return true;
}

/**
 * Tiles per block when blocks go to threads: the plan's size, or smaller so that each thread gets about two (a
 * block's V and M have room for tilesPerBlock tiles; fewer use less of them; each block re-reads the n² filter
 * packs, so not smaller than 8), in whole multiples of the GEMM's MR: a block's n² products run ⌈tiles / MR⌉ row
 * tiles, so 49 tiles in blocks of 13 compute 64 rows per product and in blocks of 12 (and one of 1) 52.
 */
export function threadBlockTiles(total: number, tilesPerBlock: number, threads: number, mr: number): number {
  const want = Math.max(8, Math.ceil(total / (2 * threads)));
  return Math.min(tilesPerBlock, Math.max(mr, Math.floor(want / mr) * mr));
}

const NO_EPILOGUE = epilogue(NO_ACTIVATION);

// Per-thread V (the input transform's output, the products' A) and M (the products' C, the output transform's input).
const INPUT_CODES: ArgCode[] = [0, 0, 0, 0, ArgCode.StepScratch];
const PRODUCT_CODES: ArgCode[] = [0, 0, 0, ArgCode.StepScratch, 0, 0, 0, 0, ArgCode.StepScratch, 0, ArgCode.ThreadScratch, 0, 0, 0, 0, 0, 0, ArgCode.Tile];
const OUTPUT_CODES: ArgCode[] = [ArgCode.StepScratch];

/** The input planes the tiles are cut from: X itself, or X zero-padded to whole tiles in the scratch. */
interface TileSource {
  x: Float32Array;
  base: number;
  H: number;
  W: number;
  ph: number;
  pw: number;
}

/**
 * On wasm, X of one batch item copied with its zero border into the scratch after plan.scratchLength, padded
 * to whole tiles (paddedH × paddedW): every input tile is then an interior one of the wasm transform, with no
 * per-tile border gather in JS. Undefined when not on wasm (the tiles then come from X).
 */
function padInputOnWasm(
  p: ConvProblem, plan: WinogradPlan, x: Float32Array, xBatch: number, s: Float32Array, wasm: WasmWinograd | undefined,
): TileSource | undefined {
  if (wasm?.pad === undefined || !wasm.transforms) return undefined;
  const buffer = wasm.weights.ctx.memory.buffer;
  const { paddedH, paddedW } = plan;
  if (x.buffer !== buffer || s.buffer !== buffer || s.length < winogradScratchLength(p, plan, true)) return undefined;
  const [H, W] = [p.geo.inSize[1]!, p.geo.inSize[2]!];
  // A 1×1 stride-1 im2col with the conv's leading pads: col[c][r][ow] = X[c][r − ph][ow − pw], 0 outside.
  // Channel ranges over the threads (a 1×1 im2col copies each channel plane on its own).
  wasm.weights.ctx.invokePlanes(wasm.pad.im2col, [
    x.byteOffset + 4 * xBatch, s.byteOffset + 4 * plan.scratchLength, p.inChannels, H, W, 1, 1, 1, 1, 1, 1,
    p.geo.padsBegin[1]!, p.geo.padsBegin[2]!, paddedW, 0, paddedH,
  ], p.inChannels, 2, [[0, 4 * H * W], [1, 4 * paddedH * paddedW]], paddedH * paddedW);
  return { x: s, base: plan.scratchLength, H: paddedH, W: paddedW, ph: 0, pw: 0 };
}

/** V[ξ][c][t] = (Bᵀ d B)_ξ for the input tile d of tile t (zero outside X), t in t0 .. t0 + count − 1. */
function transformInputTiles(
  p: ConvProblem, plan: WinogradPlan, src: TileSource, t0: number, count: number, s: Float32Array,
  wasm: WasmContext | undefined,
): void {
  const { n, m, tilesW, tilesPerBlock, bt } = plan;
  const C = p.inChannels;
  const { x, base: xBatch, H, W, ph, pw } = src;
  const d = plan.tmpOffset;
  const tmp = d + n * n;
  const xiStride = C * tilesPerBlock;
  for (let t = 0; t < count; t++) {
    const th = Math.floor((t0 + t) / tilesW);
    const tw = t0 + t - th * tilesW;
    const ih0 = th * m - ph;
    const iw0 = tw * m - pw;
    const interior = ih0 >= 0 && iw0 >= 0 && ih0 + n <= H && iw0 + n <= W;
    const groups = C >> 2;
    let wasmDone = false;
    if (wasm !== undefined && interior) {
      wasmDone = wasmWinogradInput(wasm, plan.variant, x, xBatch + ih0 * W + iw0, W, H * W, groups, s, plan.vOffset + t * C, xiStride);
    } else if (wasm !== undefined && groups > 0 && s.buffer === wasm.memory.buffer) {
      // A border tile: zero-padded copies of the first 4·groups channels' tiles, transformed on wasm.
      for (let c = 0; c < groups * 4; c++) loadPaddedTile(x, xBatch + c * H * W, H, W, ih0, iw0, n, s, plan.borderOffset + c * n * n);
      wasmDone = wasmWinogradInput(wasm, plan.variant, s, plan.borderOffset, n, n * n, groups, s, plan.vOffset + t * C, xiStride);
    }
    for (let c = wasmDone ? groups * 4 : 0; c < C; c++) {
      const xc = xBatch + c * H * W;
      const vBase = plan.vOffset + t * C + c;
      if (plan.variant === 'f43') {
        if (interior) inputTransformF43(x, xc + ih0 * W + iw0, W, s, vBase, xiStride);
        else {
          loadPaddedTile(x, xc, H, W, ih0, iw0, n, s, d);
          inputTransformF43(s, d, n, s, vBase, xiStride);
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

/**
 * Y tile = act(Aᵀ M_t A + B[o]) for every output channel o and tile t, clipped to the output's edge.
 * Tiles outer, channels inner: M[ξ][t][o] is then read contiguously, and the 4×4 output tiles written for one
 * tile are still in L1 when the next tile of the row writes beside them (o outer read 36 scattered lines per
 * tile and channel; 1.2-1.5x slower on 64-128 channels at 28-56 px).
 */
function transformOutputTiles(
  p: ConvProblem, plan: WinogradPlan, t0: number, count: number, bias: Float32Array | undefined,
  y: Float32Array, yBatch: number, s: Float32Array, act: Activation, wasm: WasmWinograd | undefined,
  whole?: WholeTiles,
): void {
  const { m, tilesW, tilesPerBlock } = plan;
  const M = p.outChannels;
  const [OH, OW] = [p.geo.outSize[1]!, p.geo.outSize[2]!];
  const plane = OH * OW;
  const xiStride = M * tilesPerBlock;
  const groups = M >> 2;
  // The wasm transform reads the bias from its memory: the uploaded constant, or a runtime bias in the arena.
  const wasmBias = wasm?.bias?.view() ?? bias;
  for (let t = 0; t < count; t++) {
    const th = Math.floor((t0 + t) / tilesW);
    const tw = t0 + t - th * tilesW;
    const rows = Math.min(m, OH - th * m);
    const cols = Math.min(m, OW - tw * m);
    const yTile = yBatch + th * m * OW + tw * m;
    const mTile = plan.mOffset + t * M;
    let wasmDone = false;
    if (whole !== undefined) {
      // The first whole.channels channels as whole tiles into the scratch planes (cropped into Y afterwards).
      const wTile = whole.offset + th * m * whole.W + tw * m;
      if (!wasmWinogradOutput(wasm!.weights.ctx, plan.variant, s, mTile, xiStride, groups, wasmBias, 0, s, wTile, whole.W, whole.plane, act)) {
        for (let o = 0; o < whole.channels; o++) {
          const b = bias === undefined ? 0 : bias[o]!;
          if (plan.variant === 'f43') outputTransformF43(s, mTile + o, xiStride, b, s, wTile + o * whole.plane, whole.W, m, m, act);
          else outputTransformGeneric(plan, s, mTile + o, xiStride, b, s, wTile + o * whole.plane, whole.W, m, m, act);
        }
      }
      wasmDone = true;
    } else if (wasm !== undefined && wasm.transforms) {
      if (rows === m && cols === m) {
        wasmDone = wasmWinogradOutput(wasm.weights.ctx, plan.variant, s, mTile, xiStride, groups, wasmBias, 0, y, yTile, OW, plane, act);
      } else if (wasmWinogradOutput(wasm.weights.ctx, plan.variant, s, mTile, xiStride, groups, wasmBias, 0, s, plan.edgeOffset, m, m * m, act)) {
        // An edge tile: whole m×m tiles went to the scratch; keep the part inside Y.
        copyClippedTiles(s, plan.edgeOffset, m, groups * 4, rows, cols, y, yTile, OW, plane);
        wasmDone = true;
      }
    }
    const o0 = wasmDone ? groups * 4 : 0;
    if (plan.variant === 'f43') {
      for (let o = o0; o < M; o++) {
        const b = bias === undefined ? 0 : bias[o]!;
        outputTransformF43(s, mTile + o, xiStride, b, y, yTile + o * plane, OW, rows, cols, act);
      }
      continue;
    }
    for (let o = o0; o < M; o++) {
      const b = bias === undefined ? 0 : bias[o]!;
      outputTransformGeneric(plan, s, mTile + o, xiStride, b, y, yTile + o * plane, OW, rows, cols, act);
    }
  }
}

/** y[yTile + o·plane + i·OW + j] = tiles[off + o·m² + i·m + j] for o < channels, i < rows, j < cols. */
function copyClippedTiles(
  tiles: Float32Array, off: number, m: number, channels: number, rows: number, cols: number,
  y: Float32Array, yTile: number, OW: number, plane: number,
): void {
  for (let o = 0; o < channels; o++) {
    for (let i = 0; i < rows; i++) {
      const src = off + o * m * m + i * m;
      const dst = yTile + o * plane + i * OW;
      for (let j = 0; j < cols; j++) y[dst + j] = tiles[src + j]!;
    }
  }
}

/** Y = Aᵀ M A + bias for any variant with the sparse Aᵀ rows; M[ξ] at s[mBase + ξ·xiStride], tmp in the scratch. */
function outputTransformGeneric(
  plan: WinogradPlan, s: Float32Array, mBase: number, xiStride: number, bias: number,
  y: Float32Array, yOff: number, OW: number, rows: number, colsOut: number, act: Activation,
): void {
  const { n, m, at } = plan;
  const tmp = plan.tmpOffset;
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
  for (let i = 0; i < rows; i++) {
    const yr = yOff + i * OW;
    for (let j = 0; j < colsOut; j++) {
      const cols = at.cols[j]!;
      const coefs = at.coefs[j]!;
      let v = bias;
      for (let k = 0; k < cols.length; k++) v += coefs[k]! * s[tmp + i * n + cols[k]!]!;
      y[yr + j] = v;
    }
    activateInPlace(act, y, yr, colsOut);
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
 * [0 −2 −1 2 1 0], [0 2 −1 −2 1 0], [0 4 0 −5 0 1]) as two passes of that 1-D transform, kept in locals: along
 * each row of d (r = d B), then down each column of r. d is the 6×6 tile at src[off] with row stride `stride`;
 * V[i][j] is written to dst[vBase + (6i + j)·xiStride].
 */
function inputTransformF43(src: Float32Array, off: number, stride: number, dst: Float32Array, vBase: number, xiStride: number): void {
  const p0 = off;
  const d00 = src[p0]!, d01 = src[p0 + 1]!, d02 = src[p0 + 2]!, d03 = src[p0 + 3]!, d04 = src[p0 + 4]!, d05 = src[p0 + 5]!;
  const r00 = 4 * d00 - 5 * d02 + d04, r01 = d03 + d04 - 4 * (d01 + d02), r02 = d04 - d03 + 4 * (d01 - d02), r03 = d04 - d02 + 2 * (d03 - d01), r04 = d04 - d02 - 2 * (d03 - d01), r05 = 4 * d01 - 5 * d03 + d05;
  const p1 = off + stride;
  const d10 = src[p1]!, d11 = src[p1 + 1]!, d12 = src[p1 + 2]!, d13 = src[p1 + 3]!, d14 = src[p1 + 4]!, d15 = src[p1 + 5]!;
  const r10 = 4 * d10 - 5 * d12 + d14, r11 = d13 + d14 - 4 * (d11 + d12), r12 = d14 - d13 + 4 * (d11 - d12), r13 = d14 - d12 + 2 * (d13 - d11), r14 = d14 - d12 - 2 * (d13 - d11), r15 = 4 * d11 - 5 * d13 + d15;
  const p2 = off + 2 * stride;
  const d20 = src[p2]!, d21 = src[p2 + 1]!, d22 = src[p2 + 2]!, d23 = src[p2 + 3]!, d24 = src[p2 + 4]!, d25 = src[p2 + 5]!;
  const r20 = 4 * d20 - 5 * d22 + d24, r21 = d23 + d24 - 4 * (d21 + d22), r22 = d24 - d23 + 4 * (d21 - d22), r23 = d24 - d22 + 2 * (d23 - d21), r24 = d24 - d22 - 2 * (d23 - d21), r25 = 4 * d21 - 5 * d23 + d25;
  const p3 = off + 3 * stride;
  const d30 = src[p3]!, d31 = src[p3 + 1]!, d32 = src[p3 + 2]!, d33 = src[p3 + 3]!, d34 = src[p3 + 4]!, d35 = src[p3 + 5]!;
  const r30 = 4 * d30 - 5 * d32 + d34, r31 = d33 + d34 - 4 * (d31 + d32), r32 = d34 - d33 + 4 * (d31 - d32), r33 = d34 - d32 + 2 * (d33 - d31), r34 = d34 - d32 - 2 * (d33 - d31), r35 = 4 * d31 - 5 * d33 + d35;
  const p4 = off + 4 * stride;
  const d40 = src[p4]!, d41 = src[p4 + 1]!, d42 = src[p4 + 2]!, d43 = src[p4 + 3]!, d44 = src[p4 + 4]!, d45 = src[p4 + 5]!;
  const r40 = 4 * d40 - 5 * d42 + d44, r41 = d43 + d44 - 4 * (d41 + d42), r42 = d44 - d43 + 4 * (d41 - d42), r43 = d44 - d42 + 2 * (d43 - d41), r44 = d44 - d42 - 2 * (d43 - d41), r45 = 4 * d41 - 5 * d43 + d45;
  const p5 = off + 5 * stride;
  const d50 = src[p5]!, d51 = src[p5 + 1]!, d52 = src[p5 + 2]!, d53 = src[p5 + 3]!, d54 = src[p5 + 4]!, d55 = src[p5 + 5]!;
  const r50 = 4 * d50 - 5 * d52 + d54, r51 = d53 + d54 - 4 * (d51 + d52), r52 = d54 - d53 + 4 * (d51 - d52), r53 = d54 - d52 + 2 * (d53 - d51), r54 = d54 - d52 - 2 * (d53 - d51), r55 = 4 * d51 - 5 * d53 + d55;
  dst[vBase] = 4 * r00 - 5 * r20 + r40;
  dst[vBase + 6 * xiStride] = r30 + r40 - 4 * (r10 + r20);
  dst[vBase + 12 * xiStride] = r40 - r30 + 4 * (r10 - r20);
  dst[vBase + 18 * xiStride] = r40 - r20 + 2 * (r30 - r10);
  dst[vBase + 24 * xiStride] = r40 - r20 - 2 * (r30 - r10);
  dst[vBase + 30 * xiStride] = 4 * r10 - 5 * r30 + r50;
  dst[vBase + xiStride] = 4 * r01 - 5 * r21 + r41;
  dst[vBase + 7 * xiStride] = r31 + r41 - 4 * (r11 + r21);
  dst[vBase + 13 * xiStride] = r41 - r31 + 4 * (r11 - r21);
  dst[vBase + 19 * xiStride] = r41 - r21 + 2 * (r31 - r11);
  dst[vBase + 25 * xiStride] = r41 - r21 - 2 * (r31 - r11);
  dst[vBase + 31 * xiStride] = 4 * r11 - 5 * r31 + r51;
  dst[vBase + 2 * xiStride] = 4 * r02 - 5 * r22 + r42;
  dst[vBase + 8 * xiStride] = r32 + r42 - 4 * (r12 + r22);
  dst[vBase + 14 * xiStride] = r42 - r32 + 4 * (r12 - r22);
  dst[vBase + 20 * xiStride] = r42 - r22 + 2 * (r32 - r12);
  dst[vBase + 26 * xiStride] = r42 - r22 - 2 * (r32 - r12);
  dst[vBase + 32 * xiStride] = 4 * r12 - 5 * r32 + r52;
  dst[vBase + 3 * xiStride] = 4 * r03 - 5 * r23 + r43;
  dst[vBase + 9 * xiStride] = r33 + r43 - 4 * (r13 + r23);
  dst[vBase + 15 * xiStride] = r43 - r33 + 4 * (r13 - r23);
  dst[vBase + 21 * xiStride] = r43 - r23 + 2 * (r33 - r13);
  dst[vBase + 27 * xiStride] = r43 - r23 - 2 * (r33 - r13);
  dst[vBase + 33 * xiStride] = 4 * r13 - 5 * r33 + r53;
  dst[vBase + 4 * xiStride] = 4 * r04 - 5 * r24 + r44;
  dst[vBase + 10 * xiStride] = r34 + r44 - 4 * (r14 + r24);
  dst[vBase + 16 * xiStride] = r44 - r34 + 4 * (r14 - r24);
  dst[vBase + 22 * xiStride] = r44 - r24 + 2 * (r34 - r14);
  dst[vBase + 28 * xiStride] = r44 - r24 - 2 * (r34 - r14);
  dst[vBase + 34 * xiStride] = 4 * r14 - 5 * r34 + r54;
  dst[vBase + 5 * xiStride] = 4 * r05 - 5 * r25 + r45;
  dst[vBase + 11 * xiStride] = r35 + r45 - 4 * (r15 + r25);
  dst[vBase + 17 * xiStride] = r45 - r35 + 4 * (r15 - r25);
  dst[vBase + 23 * xiStride] = r45 - r25 + 2 * (r35 - r15);
  dst[vBase + 29 * xiStride] = r45 - r25 - 2 * (r35 - r15);
  dst[vBase + 35 * xiStride] = 4 * r15 - 5 * r35 + r55;
}

/** One output row: bias + the Aᵀ combination of row (q0..q5) of Aᵀ M, clipped to `cols`, then the activation. */
function storeRowF43(
  y: Float32Array, yr: number, cols: number, bias: number,
  q0: number, q1: number, q2: number, q3: number, q4: number, q5: number, act: Activation,
): void {
  const a = q1 + q2, b = q1 - q2, c = q3 + q4, d = q3 - q4;
  y[yr] = bias + q0 + a + c;
  if (cols > 1) y[yr + 1] = bias + b + 2 * d;
  if (cols > 2) y[yr + 2] = bias + a + 4 * c;
  if (cols > 3) y[yr + 3] = bias + b + 8 * d + q5;
  if (act.kind !== 'none') activateInPlace(act, y, yr, cols);
}

/**
 * Y = Aᵀ M A for F(4,3), unrolled (Aᵀ rows: [1 1 1 1 1 0], [0 1 −1 2 −2 0], [0 1 1 4 4 0], [0 1 −1 8 −8 1]),
 * + bias, activation, stored as rows × cols (clipped at the output edge) at y[yOff], row stride OW.
 * M[ξ] is read at s[mBase + ξ·xiStride]; Aᵀ M (4×6) stays in locals t_ij.
 */
function outputTransformF43(
  s: Float32Array, mBase: number, xiStride: number, bias: number,
  y: Float32Array, yOff: number, OW: number, rows: number, cols: number, act: Activation,
): void {
  const m00 = s[mBase]!, m10 = s[mBase + 6 * xiStride]!, m20 = s[mBase + 12 * xiStride]!, m30 = s[mBase + 18 * xiStride]!, m40 = s[mBase + 24 * xiStride]!, m50 = s[mBase + 30 * xiStride]!;
  const a0 = m10 + m20, b0 = m10 - m20, c0 = m30 + m40, e0 = m30 - m40;
  const t00 = m00 + a0 + c0, t10 = b0 + 2 * e0, t20 = a0 + 4 * c0, t30 = b0 + 8 * e0 + m50;
  const m01 = s[mBase + xiStride]!, m11 = s[mBase + 7 * xiStride]!, m21 = s[mBase + 13 * xiStride]!, m31 = s[mBase + 19 * xiStride]!, m41 = s[mBase + 25 * xiStride]!, m51 = s[mBase + 31 * xiStride]!;
  const a1 = m11 + m21, b1 = m11 - m21, c1 = m31 + m41, e1 = m31 - m41;
  const t01 = m01 + a1 + c1, t11 = b1 + 2 * e1, t21 = a1 + 4 * c1, t31 = b1 + 8 * e1 + m51;
  const m02 = s[mBase + 2 * xiStride]!, m12 = s[mBase + 8 * xiStride]!, m22 = s[mBase + 14 * xiStride]!, m32 = s[mBase + 20 * xiStride]!, m42 = s[mBase + 26 * xiStride]!, m52 = s[mBase + 32 * xiStride]!;
  const a2 = m12 + m22, b2 = m12 - m22, c2 = m32 + m42, e2 = m32 - m42;
  const t02 = m02 + a2 + c2, t12 = b2 + 2 * e2, t22 = a2 + 4 * c2, t32 = b2 + 8 * e2 + m52;
  const m03 = s[mBase + 3 * xiStride]!, m13 = s[mBase + 9 * xiStride]!, m23 = s[mBase + 15 * xiStride]!, m33 = s[mBase + 21 * xiStride]!, m43 = s[mBase + 27 * xiStride]!, m53 = s[mBase + 33 * xiStride]!;
  const a3 = m13 + m23, b3 = m13 - m23, c3 = m33 + m43, e3 = m33 - m43;
  const t03 = m03 + a3 + c3, t13 = b3 + 2 * e3, t23 = a3 + 4 * c3, t33 = b3 + 8 * e3 + m53;
  const m04 = s[mBase + 4 * xiStride]!, m14 = s[mBase + 10 * xiStride]!, m24 = s[mBase + 16 * xiStride]!, m34 = s[mBase + 22 * xiStride]!, m44 = s[mBase + 28 * xiStride]!, m54 = s[mBase + 34 * xiStride]!;
  const a4 = m14 + m24, b4 = m14 - m24, c4 = m34 + m44, e4 = m34 - m44;
  const t04 = m04 + a4 + c4, t14 = b4 + 2 * e4, t24 = a4 + 4 * c4, t34 = b4 + 8 * e4 + m54;
  const m05 = s[mBase + 5 * xiStride]!, m15 = s[mBase + 11 * xiStride]!, m25 = s[mBase + 17 * xiStride]!, m35 = s[mBase + 23 * xiStride]!, m45 = s[mBase + 29 * xiStride]!, m55 = s[mBase + 35 * xiStride]!;
  const a5 = m15 + m25, b5 = m15 - m25, c5 = m35 + m45, e5 = m35 - m45;
  const t05 = m05 + a5 + c5, t15 = b5 + 2 * e5, t25 = a5 + 4 * c5, t35 = b5 + 8 * e5 + m55;
  storeRowF43(y, yOff, cols, bias, t00, t01, t02, t03, t04, t05, act);
  if (rows > 1) storeRowF43(y, yOff + OW, cols, bias, t10, t11, t12, t13, t14, t15, act);
  if (rows > 2) storeRowF43(y, yOff + 2 * OW, cols, bias, t20, t21, t22, t23, t24, t25, act);
  if (rows > 3) storeRowF43(y, yOff + 3 * OW, cols, bias, t30, t31, t32, t33, t34, t35, act);
}
