import { applyActivation, type Activation } from '../kernels/gemm/activation.js';
import { GEMM_KC, type PackedWeights } from '../kernels/gemm/packed.js';
import type { WasmContext, WasmGemmDriver, WasmGemmKernels } from './context.js';
import { WASM_ACT } from './gemm-kernels.js';
import { MATH_KERNELS, wasmUnaryMath } from './math-kernels.js';
import { ArgCode, type ThreadPool } from './threads.js';

/**
 * Packed weights living in wasm memory, in the layout of src/kernels/gemm/packed.ts re-tiled for the wasm
 * kernel's MR×NR: panels 64-byte aligned, the bias (if any) apart and zero-padded to whole tiles so the
 * kernel may read a full vector past the last column.
 */
export interface WasmPackedWeights {
  readonly side: 'A' | 'B';
  readonly K: number;
  readonly count: number;
  readonly kernels: WasmGemmKernels;
  /** Byte offset of the panels. */
  readonly panels: number;
  /** Byte offset of the padded bias, 0 when there is none. */
  readonly bias: number;
  readonly kc: number;
  readonly block: number;
}

/** What the wasm copy of a pack depends on: side, sizes, K blocking, the JS pack's block and a bias. */
export type PackedLayout = Pick<PackedWeights, 'side' | 'K' | 'count' | 'kc' | 'block' | 'hasBias'>;

/**
 * Copies weights packed by packA/packB into wasm memory for `ctx.kernels.gemm` (re-tiling when the JS tile
 * differs) and reserves the scratch the drivers need. Call once at prepare; free with freePackedWeights.
 */
export function uploadPackedWeights(ctx: WasmContext, packed: PackedWeights, kernels = ctx.kernels.gemm): WasmPackedWeights {
  const w = allocPackedWeights(ctx, packed, kernels);
  const { side, K, count, data } = packed;
  const tile = side === 'B' ? kernels.nr : kernels.mr;
  const fromTile = side === 'B' ? packed.nr : packed.mr;
  if (w.bias !== 0) {
    const view = ctx.f32(w.bias, Math.ceil(count / tile) * tile);
    view.fill(0);
    view.set(data.subarray(0, count));
  }
  const panelFloats = Math.ceil(count / tile) * tile * K;
  const dst = ctx.f32(w.panels, panelFloats);
  if (fromTile === tile) dst.set(data.subarray(packed.panelsOffset, packed.panelsOffset + panelFloats));
  else retile(data, packed.panelsOffset, fromTile, dst, tile, K, count);
  return w;
}

/**
 * Packs constant weights straight into wasm memory in the layout uploadPackedWeights gives a pack of `layout`
 * (scale 1): op's rows (side 'A') or columns ('B') X(t, k) = src[off + t·tStride + k·kStride], t < layout.count,
 * k < layout.K, copied into wasm memory once and packed there by the drivers' own panel pack (whole K per panel),
 * with the bias (biasOff .. + count) beside them. The same floats as packA/packB + uploadPackedWeights, without a JS
 * pack, a re-tile or a copy of the panels; undefined (nothing done) when the tile has no pack function.
 */
export function packWeightsOnWasm(
  ctx: WasmContext, layout: PackedLayout, src: Float32Array, off: number, tStride: number, kStride: number,
  bias: Float32Array | undefined, biasOff: number, kernels = ctx.kernels.gemm,
): WasmPackedWeights | undefined {
  const { side, K, count } = layout;
  const tile = side === 'B' ? kernels.nr : kernels.mr;
  const pack = ctx.kernels.pack[tile];
  if (pack === undefined || layout.hasBias !== (bias !== undefined)) return undefined;
  const w = allocPackedWeights(ctx, layout, kernels);
  if (count > 0 && K > 0) {
    // The floats the pack reads, from the first to the last; freed at once, so the next allocation reuses the pages.
    const extent = (count - 1) * tStride + (K - 1) * kStride + 1;
    const staged = ctx.alloc(extent * 4);
    ctx.f32(staged, extent).set(src.subarray(off, off + extent));
    pack(staged, tStride, kStride, count, K, w.panels);
    ctx.free(staged);
  }
  if (w.bias !== 0) {
    const view = ctx.f32(w.bias, Math.ceil(count / tile) * tile);
    view.fill(0);
    view.set(bias!.subarray(biasOff, biasOff + count));
  }
  return w;
}

/**
 * Wasm memory for the panels (and bias) of a pack of `layout` in the tile of `kernels`, contents unwritten, and the
 * scratch its drivers need reserved: for writers that make the panels in place (the Winograd filter transform).
 */
export function allocPackedWeights(ctx: WasmContext, layout: PackedLayout, kernels = ctx.kernels.gemm): WasmPackedWeights {
  const { side, K, count, kc } = layout;
  const tile = side === 'B' ? kernels.nr : kernels.mr;
  const other = side === 'B' ? kernels.mr : kernels.nr;
  const padded = Math.ceil(count / tile) * tile;
  const panels = ctx.alloc(Math.max(1, padded * K) * 4);
  const bias = layout.hasBias ? ctx.alloc(padded * 4) : 0;
  // The drivers pack the other operand per call: one block of whole tiles × one K block. A pack with a K block
  // of its own (the tester's, to run several blocks) keeps it.
  const kcWasm = kc !== GEMM_KC ? kc : Math.min(Math.max(K, 1), side === 'A' ? WASM_KC_MAX_A : WASM_KC_MAX_B);
  const block = packBlock(side, layout.block, other, kcWasm);
  ctx.reserveScratch(block * Math.min(Math.max(K, 1), kcWasm) * 4);
  return { side, K, count, kernels, panels, bias, kc: kcWasm, block };
}

/**
 * K blocks of the wasm drivers: the whole K up to these, so each weight panel is read in one sequential pass.
 * With the JS blocking (256) a panel is read in K/256 pieces a panel apart, which the hardware prefetch follows
 * badly once the weights are out of cache: resnet18's 512-channel F(4,3) layers (36 packs of [512×512], 4 tiles)
 * took 6.4 instead of 2.0 ms each (bench: two builds in one process, per-node medians). Side B's per-call A
 * block (MC rows × kc) and side A's B block (NC columns × kc) stay within WASM_PACK_BLOCK_FLOATS, so the packed
 * operand still fits L2.
 */
const WASM_KC_MAX_A = 4608;
const WASM_KC_MAX_B = 2048;
const WASM_PACK_BLOCK_FLOATS = 256 << 10;

/** Rows (side B) or columns (side A) of the per-call operand packed at once: whole tiles, within the budget. */
function packBlock(side: 'A' | 'B', jsBlock: number, tile: number, kc: number): number {
  const block = Math.ceil(jsBlock / tile) * tile;
  if (side === 'B') return block;
  const fits = Math.max(tile, Math.floor(WASM_PACK_BLOCK_FLOATS / kc / tile) * tile);
  return Math.min(block, fits);
}

/** Gives the memory of uploaded weights back to the context. */
export function freePackedWeights(ctx: WasmContext, w: WasmPackedWeights): void {
  ctx.free(w.panels);
  if (w.bias !== 0) ctx.free(w.bias);
}

/**
 * dst panels of width `to` from src panels of width `from`: element (k, t) is at ⌊t/w⌋·K·w + k·w + t mod w.
 * Walks dst in order (panel, k, lane) so writes stream; columns past `count` stay zero.
 */
function retile(src: Float32Array, srcOff: number, from: number, dst: Float32Array, to: number, K: number, count: number): void {
  const panels = Math.ceil(count / to);
  const base = new Int32Array(to);
  let d = 0;
  for (let p = 0; p < panels; p++) {
    const width = Math.min(to, count - p * to);
    for (let l = 0; l < width; l++) {
      const t = p * to + l;
      base[l] = srcOff + Math.floor(t / from) * K * from + (t % from);
    }
    for (let k = 0; k < K; k++, d += to) {
      const kOff = k * from;
      for (let l = 0; l < width; l++) dst[d + l] = src[base[l]! + kOff]!;
      for (let l = width; l < to; l++) dst[d + l] = 0;
    }
  }
}

/** The fusable part of an activation as the kernels' (act, p0, p1); silu/sigmoid/tanh run in JS afterwards. */
export function epilogue(act: Activation): [code: number, p0: number, p1: number, fused: boolean] {
  switch (act.kind) {
    case 'none': return [WASM_ACT.none, 0, 0, true];
    case 'relu': return [WASM_ACT.minmax, 0, Infinity, true];
    case 'clip': return [WASM_ACT.minmax, act.min ?? -Infinity, act.max ?? Infinity, true];
    case 'leakyrelu': return [WASM_ACT.leakyrelu, act.alpha ?? 0.01, 0, true];
    case 'hardswish': return [WASM_ACT.hardswish, act.alpha ?? 1 / 6, act.beta ?? 0.5, true];
    default: return [WASM_ACT.none, 0, 0, false];
  }
}

function inMemory(ctx: WasmContext, ...views: Float32Array[]): boolean {
  const buffer = ctx.memory.buffer;
  for (const v of views) if (v.buffer !== buffer) return false;
  return true;
}

/** The activations the store cannot fuse (sigmoid, silu, tanh): on the math family's f32x4 exp when it loads. */
function finishUnfused(ctx: WasmContext, act: Activation, fused: boolean, rows: number, cols: number, C: Float32Array, cOff: number, ldc: number): void {
  if (fused) return;
  const math = act.kind === 'sigmoid' || act.kind === 'silu' || act.kind === 'tanh' ? ctx.use(MATH_KERNELS) : undefined;
  if (math !== undefined) {
    const kind = act.kind as 'sigmoid' | 'silu' | 'tanh';
    // Contiguous rows in one call, else one call per row.
    if (ldc === cols) {
      const v = cOff === 0 && rows * cols === C.length ? C : C.subarray(cOff, cOff + rows * cols);
      if (wasmUnaryMath(ctx, math, kind, v, v)) return;
    } else {
      let done = true;
      for (let r = 0; r < rows && done; r++) {
        const v = C.subarray(cOff + r * ldc, cOff + r * ldc + cols);
        done = wasmUnaryMath(ctx, math, kind, v, v);
      }
      if (done) return;
    }
  }
  for (let r = 0; r < rows; r++) applyActivation(act, C, cOff + r * ldc, cols);
}

/**
 * The wasm twin of gemmPackedB: C (M×N, row stride ldc) = act(op(A)·B + bias) (+ C first when accumulate),
 * B uploaded by uploadPackedWeights. Returns false, doing nothing, when A or C is not a view of ctx.memory
 * (the caller then runs the JS gemmPackedB). Allocates nothing.
 */
export function wasmGemmPackedB(
  ctx: WasmContext, M: number, A: Float32Array, aOff: number, lda: number, transA: boolean, w: WasmPackedWeights,
  C: Float32Array, cOff: number, ldc: number, act: Activation, accumulate = false,
): boolean {
  if (w.side !== 'B') throw new RangeError('wasmGemmPackedB: weights were packed with packA');
  if (!inMemory(ctx, A, C)) return false;
  const [code, p0, p1, fused] = epilogue(act);
  const pool = ctx.pool;
  if (pool !== undefined && threadedGemm(ctx, pool, 'B', M, w, A.byteOffset + 4 * aOff, transA ? 1 : lda, transA ? lda : 1, C, cOff, ldc, accumulate, act, [code, p0, p1, fused])) return true;
  w.kernels.packedB(
    M, w.count, w.K, A.byteOffset + 4 * aOff, transA ? 1 : lda, transA ? lda : 1, w.panels, w.bias,
    C.byteOffset + 4 * cOff, ldc, ctx.scratch, w.kc, w.block, accumulate ? 1 : 0, code, p0, p1, ctx.tileBuffer,
  );
  finishUnfused(ctx, act, fused, M, w.count, C, cOff, ldc);
  return true;
}

/**
 * The wasm twin of gemmPackedA (convolution as GEMM): C (M×N) = act(A·op(B) + bias[M]) (+ C first when
 * accumulate), A uploaded by uploadPackedWeights. Returns false when B or C is not a view of ctx.memory.
 */
export function wasmGemmPackedA(
  ctx: WasmContext, w: WasmPackedWeights, N: number, B: Float32Array, bOff: number, ldb: number, transB: boolean,
  C: Float32Array, cOff: number, ldc: number, act: Activation, accumulate = false,
): boolean {
  if (w.side !== 'A') throw new RangeError('wasmGemmPackedA: weights were packed with packB');
  if (!inMemory(ctx, B, C)) return false;
  const [code, p0, p1, fused] = epilogue(act);
  const pool = ctx.pool;
  if (pool !== undefined && threadedGemm(ctx, pool, 'A', N, w, B.byteOffset + 4 * bOff, transB ? 1 : ldb, transB ? ldb : 1, C, cOff, ldc, accumulate, act, [code, p0, p1, fused])) return true;
  w.kernels.packedA(
    w.count, N, w.K, w.panels, w.bias, B.byteOffset + 4 * bOff, transB ? 1 : ldb, transB ? ldb : 1,
    C.byteOffset + 4 * cOff, ldc, ctx.scratch, w.kc, w.block, accumulate ? 1 : 0, code, p0, p1, ctx.tileBuffer,
  );
  finishUnfused(ctx, act, fused, w.count, N, C, cOff, ldc);
  return true;
}

/**
 * Multiply-adds below which a product stays on the calling thread: publishing a batch and waking a worker
 * costs a few µs, about what the kernel does in this many (bench/threads.mjs).
 */
export const SPLIT_MIN_MACS = 1 << 17;
/** Chunks per thread: more than one, so a thread that gets less of a core leaves its share to the others. */
const CHUNKS_PER_THREAD = 3;

// Arguments of the drivers that move per thread: the packing scratch (10) and the edge-tile buffer (17).
const DRIVER_CODES: ArgCode[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ArgCode.ThreadScratch, 0, 0, 0, 0, 0, 0, ArgCode.Tile];

/**
 * One product split over the pool's threads (or, inside a batch being recorded, one group of it): the rows or
 * the columns of C in whole tiles, the side with more tiles unless an unfused activation needs whole rows. K is
 * never split. `other` is the per-call operand's row count (side B: M) or column count (side A: N), at byte
 * `op` with element strides (opRow, opCol). Returns false (nothing done) when the product is too small to pay.
 */
function threadedGemm(
  ctx: WasmContext, pool: ThreadPool, side: 'A' | 'B', other: number, w: WasmPackedWeights, op: number, opRow: number, opCol: number,
  C: Float32Array, cOff: number, ldc: number, accumulate: boolean, act: Activation, ep: ReturnType<typeof epilogue>,
): boolean {
  const fused = ep[3];
  const M = side === 'B' ? other : w.count;
  const N = side === 'B' ? w.count : other;
  const math = fused ? undefined : ctx.use(MATH_KERNELS);
  if (!fused && math === undefined) return false;
  const unary = math?.unary[act.kind as 'sigmoid' | 'silu' | 'tanh'];
  const c = C.byteOffset + 4 * cOff;
  const { mr, nr } = w.kernels;
  const rowTiles = Math.ceil(M / mr);
  const colTiles = Math.ceil(N / nr);
  const byRows = !fused || rowTiles >= colTiles;
  const tiles = byRows ? rowTiles : colTiles;
  const macs = M * N * w.K;
  const chunks = pool.recording ? 1 : Math.min(tiles, Math.floor(macs / SPLIT_MIN_MACS), pool.threads * CHUNKS_PER_THREAD);
  if (!pool.recording && chunks < 2) return false;
  pool.batch(() => {
    for (let i = 0; i < chunks; i++) {
      const t0 = Math.floor((i * tiles) / chunks);
      const t1 = Math.floor(((i + 1) * tiles) / chunks);
      if (t1 === t0) continue;
      const r0 = byRows ? t0 * mr : 0;
      const r1 = byRows ? Math.min(M, t1 * mr) : M;
      const n0 = byRows ? 0 : t0 * nr;
      const n1 = byRows ? N : Math.min(N, t1 * nr);
      pool.group();
      pool.call(driverOf(w), driverArgs(ctx, w, op, opRow, opCol, r0, r1, n0, n1, c, ldc, accumulate, ep), DRIVER_CODES);
      if (unary !== undefined) {
        const rowBytes = 4 * ldc;
        if (ldc === N) pool.call(unary, [c + r0 * rowBytes, c + r0 * rowBytes, (r1 - r0) * N]);
        else for (let r = r0; r < r1; r++) pool.call(unary, [c + r * rowBytes, c + r * rowBytes, N]);
      }
    }
  });
  return true;
}

/**
 * The 18 arguments of `w`'s driver for rows [r0, r1) × columns [n0, n1) of C (rows of a side-A product, columns
 * of a side-B one, starting on whole tiles), for a recorded call:
 *   side B: (M, N, K, a, aRow, aCol, b, colBias, c, ldc, scratch, kc, block, accumulate, act, p0, p1, tmp),
 *   side A: (M, N, K, a, rowBias, b, bRow, bCol, c, ldc, scratch, kc, block, accumulate, act, p0, p1, tmp).
 * `op` is the per-call operand's byte offset with element strides (opRow, opCol); `c` the byte offset of C[0, 0].
 * Weight panels of a tile hold K·tile floats, so the first row (side A) or column (side B) moves them by 4·K bytes.
 */
export function driverArgs(
  ctx: WasmContext, w: WasmPackedWeights, op: number, opRow: number, opCol: number, r0: number, r1: number, n0: number,
  n1: number, c: number, ldc: number, accumulate: boolean, ep: ReturnType<typeof epilogue>,
): number[] {
  const [code, p0, p1] = ep;
  const first = w.side === 'B' ? n0 : r0;
  const panels = w.panels + 4 * first * w.K;
  const bias = w.bias === 0 ? 0 : w.bias + 4 * first;
  const head = w.side === 'B'
    ? [op + 4 * r0 * opRow, opRow, opCol, panels, bias]
    : [panels, bias, op + 4 * n0 * opCol, opRow, opCol];
  return [
    r1 - r0, n1 - n0, w.K, ...head, c + 4 * (r0 * ldc + n0), ldc, ctx.scratch, w.kc, w.block, accumulate ? 1 : 0, code, p0, p1,
    ctx.tileBuffer,
  ];
}

/** The whole-product driver of `w`'s side. */
export function driverOf(w: WasmPackedWeights): WasmGemmDriver {
  return w.side === 'B' ? w.kernels.packedB : w.kernels.packedA;
}

/**
 * Records, into the pool's current group, the wasm twin of gemmPackedA for an operand B that lives in a step's
 * per-thread scratch: B at byte `b` for thread 0 and `b + t · stride` for thread t (ArgCode.StepScratch), so a
 * group may fill its own copy of B (an im2col tile) and multiply it. Unfused activations follow per row.
 */
export function recordGemmPackedA(
  ctx: WasmContext, pool: ThreadPool, w: WasmPackedWeights, N: number, b: number, ldb: number, stride: number,
  C: Float32Array, cOff: number, ldc: number, act: Activation, accumulate: boolean,
): void {
  const ep = epilogue(act);
  const c = C.byteOffset + 4 * cOff;
  pool.call(w.kernels.packedA, driverArgs(ctx, w, b, ldb, 1, 0, w.count, 0, N, c, ldc, accumulate, ep), STEP_B_CODES, stride);
  if (ep[3]) return;
  const unary = ctx.use(MATH_KERNELS)!.unary[act.kind as 'sigmoid' | 'silu' | 'tanh'];
  for (let r = 0; r < w.count; r++) pool.call(unary, [c + 4 * r * ldc, c + 4 * r * ldc, N]);
}

/** True when `act` runs on wasm after a recorded product: fused in the store, or on the math family's kernels. */
export function activationOnWasm(ctx: WasmContext, act: Activation): boolean {
  return epilogue(act)[3] || ctx.use(MATH_KERNELS) !== undefined;
}

/** DRIVER_CODES with B (argument 5) in a step's per-thread scratch. */
const STEP_B_CODES: ArgCode[] = [0, 0, 0, 0, 0, ArgCode.StepScratch, 0, 0, 0, 0, ArgCode.ThreadScratch, 0, 0, 0, 0, 0, 0, ArgCode.Tile];
