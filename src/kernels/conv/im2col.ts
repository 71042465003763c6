import type { WasmContext } from '../../wasm/context.js';
import { sgemm } from '../gemm/sgemm.js';
import { gemmPackedA, packA, packedGemmScratchLength, packedLayout, type PackedWeights } from '../gemm/packed.js';
import type { PackedTile } from '../gemm/microkernels.js';
import { NO_ACTIVATION, type Activation } from '../gemm/activation.js';
import { activateInPlace } from './fused-activation.js';
import type { ConvProblem } from './reference.js';
import { activationOnWasm, packWeightsOnWasm, recordGemmPackedA, uploadPackedWeights, wasmGemmPackedA, type WasmPackedWeights } from '../../wasm/gemm.js';
import { ArgCode } from '../../wasm/threads.js';
import { cachedWasmWeights, packEachOnWasm, uploadStorage, uploadTile, type WasmWeights } from './wasm-weights.js';
import { im2colRowsArgs, wasmIm2colRows, type WasmIm2col } from './im2col-wasm.js';

/** How the im2col path runs one convolution: column tiles of whole output rows, bounded in bytes. */
export interface Im2colPlan {
  /** 1×1(×1), stride 1, no pad: the input itself is the column matrix, no scratch. */
  pointwise: boolean;
  /** Output rows (flattened OD·OH) per column tile. */
  rowsPerTile: number;
  /** Float32 elements of the column scratch (0 when pointwise). */
  scratchLength: number;
}

export const IM2COL_SCRATCH_BYTES = 8 << 20;

/**
 * The column tile of a layer with a short K (stems: 3 channels × 3×3 or 7×7) stays in L2 between the copy and
 * the GEMM's pack: re-reading its few weights per tile costs less than the round trip through memory
 * (resnet18's 7×7/2 stem, K = 147: 6.8 -> 5.8 ms; 3×3/2 stems, K = 27: -6 to -14 %). Long-K layers keep whole
 * images per tile (smaller tiles re-read their weights and measured up to 7 % slower).
 */
export const IM2COL_SHORT_K_SCRATCH_BYTES = 512 << 10;
const SHORT_K = 256;

export function planIm2col(p: ConvProblem, maxScratchBytes?: number): Im2colPlan {
  const g = p.geo;
  const rows = g.outSize[0]! * g.outSize[1]!;
  const pointwise =
    g.kernel.every((k) => k === 1) && g.strides.every((s) => s === 1) &&
    g.padsBegin.every((v) => v === 0) && g.padsEnd.every((v) => v === 0);
  if (pointwise) return { pointwise, rowsPerTile: rows, scratchLength: 0 };
  const OW = g.outSize[2]!;
  const Kg = (p.inChannels / p.group) * g.kernel[0]! * g.kernel[1]! * g.kernel[2]!;
  const rowBytes = Kg * OW * 4;
  const budget = maxScratchBytes ?? (Kg <= SHORT_K ? IM2COL_SHORT_K_SCRATCH_BYTES : IM2COL_SCRATCH_BYTES);
  const rowsPerTile = Math.max(1, Math.min(rows, Math.floor(budget / rowBytes)));
  return { pointwise, rowsPerTile, scratchLength: Kg * OW * rowsPerTile };
}

/**
 * Convolution as GEMM per group: Y_g [Mg, OD·OH·OW] = W_g [Mg, Cg·KD·KH·KW] · col [Cg·KD·KH·KW, OD·OH·OW] + B.
 * W's ONNX layout [M, Cg, KD, KH, KW] already stores each group's rows contiguously, so it is used as is.
 * The output is pre-filled with the bias and sgemm accumulates (beta = 1), so the bias costs one pass.
 * X [N, C, D, H, W], W [M, C/group, KD, KH, KW], B [M] -> Y [N, M, OD, OH, OW]; col is scratch.
 */
export function convIm2col(
  p: ConvProblem,
  plan: Im2colPlan,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  y: Float32Array,
  col: Float32Array | undefined,
  act: Activation = NO_ACTIVATION,
): void {
  const inPlane = p.geo.inSize[0]! * p.geo.inSize[1]! * p.geo.inSize[2]!;
  const rows = p.geo.outSize[0]! * p.geo.outSize[1]!;
  const OW = p.geo.outSize[2]!;
  const Cg = p.inChannels / p.group;
  const Mg = p.outChannels / p.group;
  const Kg = Cg * p.geo.kernel[0]! * p.geo.kernel[1]! * p.geo.kernel[2]!;
  const P = rows * OW;
  for (let n = 0; n < p.batch; n++) {
    const yBase = n * p.outChannels * P;
    fillBias(y, yBase, p.outChannels, P, bias);
    for (let g = 0; g < p.group; g++) {
      const xGroup = (n * p.inChannels + g * Cg) * inPlane;
      const yGroup = yBase + g * Mg * P;
      if (plan.pointwise) {
        sgemm(false, false, Mg, P, Cg, 1, w, g * Mg * Kg, Kg, x, xGroup, inPlane, 1, y, yGroup, P);
        continue;
      }
      for (let r0 = 0; r0 < rows; r0 += plan.rowsPerTile) {
        const tileRows = Math.min(plan.rowsPerTile, rows - r0);
        im2colRows(p, x, xGroup, Cg, r0, tileRows, col!);
        sgemm(false, false, Mg, tileRows * OW, Kg, 1, w, g * Mg * Kg, Kg, col!, 0, tileRows * OW, 1, y, yGroup + r0 * OW, P);
      }
    }
    activateInPlace(act, y, yBase, p.outChannels * P);
  }
}

/**
 * Constant conv weights packed once per group for gemmPackedA, with the bias (when constant) in the pack.
 * `groups` is emptied by uploadConvWeights (the wasm backend runs on its uploaded copy) and remade by `remake`
 * if the JS fallback ever runs.
 */
export interface PackedConvWeights {
  groups: PackedWeights[];
  /** The packs, in the JS GEMM's tile unless another is given (into `storage`, for an upload). */
  remake: (tile?: PackedTile, storage?: (group: number, length: number) => Float32Array) => PackedWeights[];
  /** packedGemmScratchLength of one group for `columns` columns (kept when the packs are released). */
  scratchFor: (columns: number) => number;
  /** True when the bias is inside the packs; otherwise the output is pre-filled with it. */
  biasPacked: boolean;
}

/**
 * Packs W [M, C/group, K...] as per-group A panels [Mg, Cg·KD·KH·KW] (call once at prepare). With `now` false the
 * JS packs are left to be made when first needed: on the wasm backend uploadConvWeights packs straight in the wasm
 * GEMM's tile, and the JS packs are made only if a JS run ever needs them.
 */
export function packConvWeights(p: ConvProblem, w: Float32Array, bias: Float32Array | undefined, now = true): PackedConvWeights {
  const Mg = p.outChannels / p.group;
  const Kg = (p.inChannels / p.group) * p.geo.kernel[0]! * p.geo.kernel[1]! * p.geo.kernel[2]!;
  const remake = (tile?: PackedTile, storage?: (group: number, length: number) => Float32Array): PackedWeights[] => {
    const groups: PackedWeights[] = [];
    for (let g = 0; g < p.group; g++) {
      const options = tile === undefined && storage === undefined ? undefined : { tile, storage: storage && ((length: number) => storage(g, length)) };
      groups.push(packA(w, g * Mg * Kg, Kg, false, Mg, Kg, 1, bias === undefined ? undefined : { data: bias, offset: g * Mg }, options));
    }
    return groups;
  };
  // The JS packs' geometry without data, so the scratch size is known whether or not they are made.
  const geometry = packedLayout('A', Mg, Kg, bias !== undefined);
  return { groups: now ? remake() : [], remake, scratchFor: (columns) => packedGemmScratchLength(geometry, columns), biasPacked: bias !== undefined };
}

/**
 * The packs of packConvWeights uploaded into a wasm context (once per weights, bias and group count): packed in the
 * wasm GEMM's tile into reused buffers, only when not uploaded yet. The JS packs are dropped (remade if needed).
 */
export function uploadConvWeights(
  ctx: WasmContext, p: ConvProblem, packed: PackedConvWeights, w: Float32Array, bias: Float32Array | undefined,
): WasmWeights {
  const packBias = packed.biasPacked ? bias : undefined;
  const uploaded = cachedWasmWeights(ctx, w, packBias, `conv-a:${p.group}`, () => packGroupsOnWasm(ctx, p, w, packBias) ?? packed.remake(uploadTile(ctx), uploadStorage).map((g) => uploadPackedWeights(ctx, g)));
  packed.groups = [];
  return uploaded;
}

/** Each group's [Mg, Kg] weights packed in wasm memory by the GEMM's own pack (see packWeightsOnWasm). */
function packGroupsOnWasm(ctx: WasmContext, p: ConvProblem, w: Float32Array, bias: Float32Array | undefined): WasmPackedWeights[] | undefined {
  const Mg = p.outChannels / p.group;
  const Kg = (p.inChannels / p.group) * p.geo.kernel[0]! * p.geo.kernel[1]! * p.geo.kernel[2]!;
  const layout = packedLayout('A', Mg, Kg, bias !== undefined, { tile: uploadTile(ctx) });
  return packEachOnWasm(ctx, p.group, (g) => packWeightsOnWasm(ctx, layout, w, g * Mg * Kg, Kg, 1, bias, g * Mg));
}

/** Float32 scratch of convIm2colPacked: the column tile, then the packed-GEMM panel buffer. */
export function im2colPackedScratchLength(p: ConvProblem, plan: Im2colPlan, packed: PackedConvWeights, threads = 1): number {
  const columns = plan.pointwise ? p.geo.outSize[0]! * p.geo.outSize[1]! * p.geo.outSize[2]! : plan.rowsPerTile * p.geo.outSize[2]!;
  // With threads, one column tile per thread (the JS GEMM's panels, used only without wasm, overlap the others).
  return Math.max(plan.scratchLength * threads, plan.scratchLength + packed.scratchFor(columns));
}

/**
 * convIm2col with weights packed at prepare: Y_g = act(W_g · col + B) per column tile through the packed GEMM,
 * whose epilogue adds the bias and applies the activation while each tile is still in cache. With `wasm`
 * (the packs uploaded by uploadConvWeights) the GEMMs run on WebAssembly SIMD whenever x, y and scratch are
 * views of its memory (a session's arena), else in JS; with `wasmIm2col` too (2-D problems) the column tile is
 * copied on wasm as well.
 * X [N, C, D, H, W] -> Y [N, M, OD, OH, OW]; scratch holds the column tile then the GEMM panels.
 */
export function convIm2colPacked(
  p: ConvProblem,
  plan: Im2colPlan,
  packed: PackedConvWeights,
  x: Float32Array,
  bias: Float32Array | undefined,
  y: Float32Array,
  scratch: Float32Array,
  act: Activation,
  wasm?: WasmWeights,
  wasmIm2col?: WasmIm2col,
): void {
  const inPlane = p.geo.inSize[0]! * p.geo.inSize[1]! * p.geo.inSize[2]!;
  const rows = p.geo.outSize[0]! * p.geo.outSize[1]!;
  const OW = p.geo.outSize[2]!;
  const Cg = p.inChannels / p.group;
  const Mg = p.outChannels / p.group;
  const P = rows * OW;
  const accumulate = !packed.biasPacked && bias !== undefined;
  const gemmOff = plan.scratchLength;
  for (let n = 0; n < p.batch; n++) {
    const yBase = n * p.outChannels * P;
    if (accumulate) fillBias(y, yBase, p.outChannels, P, bias);
    for (let g = 0; g < p.group; g++) {
      const xGroup = (n * p.inChannels + g * Cg) * inPlane;
      const yGroup = yBase + g * Mg * P;
      const wa = wasm?.packs[g];
      if (plan.pointwise) {
        if (wa !== undefined && wasmGemmPackedA(wasm!.ctx, wa, P, x, xGroup, inPlane, false, y, yGroup, P, act, accumulate)) continue;
        gemmPackedA(jsPack(packed, g), P, x, xGroup, inPlane, false, y, yGroup, P, act, scratch, gemmOff, accumulate);
        continue;
      }
      if (wa !== undefined && wasmIm2col !== undefined && tilesOnThreads(p, plan, x, xGroup, Cg, y, yGroup, P, scratch, act, accumulate, wa, wasm!.ctx, wasmIm2col)) continue;
      for (let r0 = 0; r0 < rows; r0 += plan.rowsPerTile) {
        const tileRows = Math.min(plan.rowsPerTile, rows - r0);
        const cols = tileRows * OW;
        const yTile = yGroup + r0 * OW;
        if (!(wasmIm2col !== undefined && wasm !== undefined && wasmIm2colRows(wasmIm2col, wasm.ctx.memory, p, x, xGroup, Cg, r0, tileRows, scratch))) {
          im2colRows(p, x, xGroup, Cg, r0, tileRows, scratch);
        }
        if (wa !== undefined && wasmGemmPackedA(wasm!.ctx, wa, cols, scratch, 0, cols, false, y, yTile, P, act, accumulate)) continue;
        gemmPackedA(jsPack(packed, g), cols, scratch, 0, cols, false, y, yTile, P, act, scratch, gemmOff, accumulate);
      }
    }
  }
}

/**
 * With threads and several column tiles: one group per tile, copying its columns into the thread's own tile of
 * the scratch and multiplying them there (no barrier between the copy and the product). False when there is no
 * pool, a single tile, or the scratch holds fewer tiles than threads.
 */
function tilesOnThreads(
  p: ConvProblem, plan: Im2colPlan, x: Float32Array, xGroup: number, Cg: number, y: Float32Array, yGroup: number, P: number,
  scratch: Float32Array, act: Activation, accumulate: boolean, wa: WasmPackedWeights, ctx: WasmContext, k: WasmIm2col,
): boolean {
  const pool = ctx.pool;
  const rows = p.geo.outSize[0]! * p.geo.outSize[1]!;
  if (pool === undefined || plan.rowsPerTile >= rows || scratch.length < plan.scratchLength * pool.threads || !activationOnWasm(ctx, act)) return false;
  const buffer = ctx.memory.buffer;
  if (x.buffer !== buffer || y.buffer !== buffer || scratch.buffer !== buffer) return false;
  const OW = p.geo.outSize[2]!;
  const stride = 4 * plan.scratchLength;
  pool.batch(() => {
    for (let r0 = 0; r0 < rows; r0 += plan.rowsPerTile) {
      const tileRows = Math.min(plan.rowsPerTile, rows - r0);
      const cols = tileRows * OW;
      pool.group();
      pool.call(k.im2col, im2colRowsArgs(p, x.byteOffset + 4 * xGroup, Cg, r0, tileRows, scratch.byteOffset), IM2COL_CODES, stride);
      recordGemmPackedA(ctx, pool, wa, cols, scratch.byteOffset, cols, stride, y, yGroup + r0 * OW, P, act, accumulate);
    }
  });
  return true;
}

/** The im2col copy's destination (argument 1) is the thread's own column tile. */
const IM2COL_CODES: ArgCode[] = [0, ArgCode.StepScratch];

/** Group g's JS pack, remade first if the packs were released after a wasm upload. */
function jsPack(packed: PackedConvWeights, g: number): PackedWeights {
  if (packed.groups.length === 0) packed.groups = packed.remake();
  return packed.groups[g]!;
}

function fillBias(y: Float32Array, base: number, channels: number, P: number, bias: Float32Array | undefined): void {
  if (bias === undefined) {
    y.fill(0, base, base + channels * P);
    return;
  }
  for (let m = 0; m < channels; m++) y.fill(bias[m]!, base + m * P, base + (m + 1) * P);
}

/**
 * Writes col[((c·KD + kd)·KH + kh)·KW + kw, (r − r0)·OW + ow] = X[c, od·sd − pd + kd·dd, oh·sh − ph + kh·dh,
 * ow·sw − pw + kw·dw] (0 outside), for flattened output rows r = od·OH + oh in r0 .. r0 + rows − 1.
 */
function im2colRows(p: ConvProblem, x: Float32Array, xBase: number, Cg: number, r0: number, rows: number, col: Float32Array): void {
  const g = p.geo;
  const [D, H, W] = g.inSize as [number, number, number];
  const [OH, OW] = [g.outSize[1]!, g.outSize[2]!];
  const [KD, KH, KW] = g.kernel as [number, number, number];
  const [sd, sh, sw] = g.strides as [number, number, number];
  const [dd, dh, dw] = g.dilations as [number, number, number];
  const [pd, ph, pw] = g.padsBegin as [number, number, number];
  const len = rows * OW;
  let ci = 0;
  for (let c = 0; c < Cg; c++) {
    const xc = xBase + c * D * H * W;
    for (let kd = 0; kd < KD; kd++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          // Output columns whose tap lands inside the row: 0 <= ow·sw − pw + kw·dw < W.
          const shift = kw * dw - pw;
          const owLo = Math.min(OW, Math.max(0, Math.ceil(-shift / sw)));
          const owHi = Math.max(owLo, Math.min(OW, Math.ceil((W - shift) / sw)));
          for (let r = 0; r < rows; r++) {
            const od = Math.floor((r0 + r) / OH);
            const oh = r0 + r - od * OH;
            const id = od * sd - pd + kd * dd;
            const ih = oh * sh - ph + kh * dh;
            const c0 = ci + r * OW;
            if (id < 0 || id >= D || ih < 0 || ih >= H) {
              col.fill(0, c0, c0 + OW);
              continue;
            }
            const xr = xc + (id * H + ih) * W + shift;
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
}
