import { applyActivation, type Activation } from './activation.js';
import { PACKED_MICROKERNELS, type PackedMicrokernel, type PackedTile } from './microkernels.js';

/** The packed tile and blocking the packed GEMM uses, picked by bench/gemm.mjs (see README.md). */
export const GEMM_TILE = '4x4';
/** K block: one micro-kernel call streams KC·(MR + NR) floats, which stay in L1. */
export const GEMM_KC = 256;
/** Rows (or columns) of the per-call operand packed at once: MC·KC floats stay in L2. */
export const GEMM_MC = 128;
export const GEMM_NC = 512;

/**
 * Constant weights packed once (at a kernel's prepare) into the layout the micro-kernel reads.
 * side 'B': op(B) (K×N) as ⌈N/NR⌉ panels, each K×NR k-major, zero-padded; bias (per column, N floats) first.
 * side 'A': op(A) (M×K) as ⌈M/MR⌉ panels, each K×MR k-major, zero-padded; bias (per row, M floats) first.
 * `count` is N for side 'B' and M for side 'A'. Panel p starts at data[panelsOffset + p·K·tile].
 */
export interface PackedWeights {
  readonly side: 'A' | 'B';
  readonly data: Float32Array;
  readonly K: number;
  readonly count: number;
  readonly mr: number;
  readonly nr: number;
  readonly hasBias: boolean;
  readonly panelsOffset: number;
  /** K block and per-call block (MC rows of A for side 'B', NC columns of B for side 'A'). */
  readonly kc: number;
  readonly block: number;
  /** The micro-kernels of tile mr×nr the drivers call: C = A·B, and C += A·B for K blocks after the first. */
  readonly gemm: PackedMicrokernel;
  readonly gemminc: PackedMicrokernel;
}

/** Tile and blocking overrides, for the tester and the benchmark; kernels use the defaults. */
export interface PackOptions {
  /** A shipped tile by name ('4x4'), or any tile compiled by generate-microkernels.mjs. */
  tile?: string | PackedTile;
  kc?: number;
  block?: number;
  /** Where the packed floats go (default: a new array); storage may be reused, every float is written. */
  storage?: (length: number) => Float32Array;
}

/** Bias source: `bias[biasOff + i]` for i < count. */
export interface BiasSource {
  data: Float32Array;
  offset?: number;
}

function tileOf(options: PackOptions | undefined): PackedTile {
  const tile = options?.tile ?? GEMM_TILE;
  if (typeof tile !== 'string') return tile;
  const entry = PACKED_MICROKERNELS[tile];
  if (entry === undefined) throw new RangeError(`gemm: no packed tile '${tile}'`);
  return entry;
}

/**
 * dst[dstOff + p·kc·tile + (k − k0)·tile + t] = scale · X(p·tile + t, k) for k in [k0, k0 + kc), zero past `count`,
 * where X(t, k) = src[off + t·tStride + k·kStride]: op(A) rows or op(B) columns as k-major panels.
 */
export function packPanels(
  src: Float32Array, off: number, tStride: number, kStride: number, count: number,
  k0: number, kc: number, tile: number, scale: number, dst: Float32Array, dstOff: number,
): void {
  const panels = Math.ceil(count / tile);
  let d = dstOff;
  for (let p = 0; p < panels; p++) {
    const t0 = p * tile;
    const width = Math.min(tile, count - t0);
    for (let k = k0; k < k0 + kc; k++) {
      let s = off + t0 * tStride + k * kStride;
      for (let t = 0; t < width; t++, s += tStride) dst[d + t] = scale * src[s]!;
      for (let t = width; t < tile; t++) dst[d + t] = 0;
      d += tile;
    }
  }
}

function packWeights(
  side: 'A' | 'B', src: Float32Array, off: number, tStride: number, kStride: number, count: number, K: number,
  alpha: number, bias: BiasSource | undefined, options: PackOptions | undefined,
): PackedWeights {
  const layout = packedLayout(side, count, K, bias !== undefined, options);
  const tile = side === 'A' ? layout.mr : layout.nr;
  const length = layout.panelsOffset + Math.ceil(count / tile) * tile * K;
  const data = options?.storage?.(length) ?? new Float32Array(length);
  if (bias !== undefined) data.set(bias.data.subarray(bias.offset ?? 0, (bias.offset ?? 0) + count));
  packPanels(src, off, tStride, kStride, count, 0, K, tile, alpha, data, layout.panelsOffset);
  return { ...layout, data };
}

/**
 * The geometry packA / packB give `count` rows (side 'A') or columns ('B') of depth K, with no data (an empty
 * array): what the scratch sizes need when the packs are made later or never (see packedGemmScratchLength).
 */
export function packedLayout(side: 'A' | 'B', count: number, K: number, hasBias: boolean, options?: PackOptions): PackedWeights {
  const { mr, nr, gemm, gemminc } = tileOf(options);
  const panelsOffset = hasBias ? count : 0;
  const kc = Math.max(1, options?.kc ?? GEMM_KC);
  // Whole panels per block, so only the matrix edge (never a block edge) runs a clipped tile.
  const other = side === 'B' ? mr : nr;
  const block = Math.ceil(Math.max(1, options?.block ?? (side === 'B' ? GEMM_MC : GEMM_NC)) / other) * other;
  return { side, data: NO_FLOATS, K, count, mr, nr, hasBias, panelsOffset, kc, block, gemm, gemminc };
}

const NO_FLOATS = new Float32Array(0);

/**
 * Packs constant right-hand weights op(B) (K×N; B is K×N with row stride ldb, or N×K when transB) scaled by
 * alpha, with an optional per-column bias[N]. For Gemm/MatMul with constant B; call once at prepare.
 */
export function packB(
  B: Float32Array, bOff: number, ldb: number, transB: boolean, K: number, N: number,
  alpha = 1, bias?: BiasSource, options?: PackOptions,
): PackedWeights {
  return packWeights('B', B, bOff, transB ? ldb : 1, transB ? 1 : ldb, N, K, alpha, bias, options);
}

/**
 * Packs constant left-hand weights op(A) (M×K; A is M×K with row stride lda, or K×M when transA) scaled by
 * alpha, with an optional per-row bias[M]. For convolution (W [Cout, Cin·KH·KW] is A); call once at prepare.
 */
export function packA(
  A: Float32Array, aOff: number, lda: number, transA: boolean, M: number, K: number,
  alpha = 1, bias?: BiasSource, options?: PackOptions,
): PackedWeights {
  return packWeights('A', A, aOff, transA ? 1 : lda, transA ? lda : 1, M, K, alpha, bias, options);
}

/**
 * Floats of scratch gemmPackedB (other = M) or gemmPackedA (other = N) needs: an edge tile (MR·NR, see
 * runEdgeTile), then one block of the per-call operand, at most `block` rows/columns × `kc` of K, rounded up to
 * whole panels.
 */
export function packedGemmScratchLength(packed: PackedWeights, other: number): number {
  const tile = packed.side === 'B' ? packed.mr : packed.nr;
  const rows = Math.min(Math.max(other, 1), packed.block);
  return packed.mr * packed.nr + Math.ceil(rows / tile) * tile * Math.min(Math.max(packed.K, 1), packed.kc);
}

/**
 * C (M×N, row stride ldc) = act(op(A) · B + bias[N]) with B packed by packB; op(A) is A (M×K, row stride lda)
 * or, when transA, Aᵀ of A stored K×M. With `accumulate` the product is added to C first: act(C + A·B + bias).
 * scratch[scratchOff, + packedGemmScratchLength(pb, M)) is overwritten. Allocates nothing.
 */
export function gemmPackedB(
  M: number, A: Float32Array, aOff: number, lda: number, transA: boolean, pb: PackedWeights,
  C: Float32Array, cOff: number, ldc: number, act: Activation,
  scratch: Float32Array, scratchOff = 0, accumulate = false,
): void {
  if (pb.side !== 'B') throw new RangeError('gemmPackedB: weights were packed with packA');
  const { K, mr, nr, kc: kcMax, block: mcMax, data: b, gemm, gemminc } = pb;
  const N = pb.count;
  const aRow = transA ? 1 : lda;
  const aCol = transA ? lda : 1;
  const panels = scratchOff + mr * nr; // scratch: [edge tile | the per-call operand's panels]
  const blocksK = Math.max(1, Math.ceil(K / kcMax));
  for (let kb = 0; kb < blocksK; kb++) {
    const k0 = kb * kcMax;
    const kc = Math.min(kcMax, K - k0);
    const add = accumulate || kb > 0;
    const last = kb === blocksK - 1;
    for (let m0 = 0; m0 < M; m0 += mcMax) {
      const mc = Math.min(mcMax, M - m0);
      packPanels(A, aOff + m0 * aRow, aRow, aCol, mc, k0, kc, mr, 1, scratch, panels);
      for (let j0 = 0; j0 < N; j0 += nr) {
        const width = Math.min(nr, N - j0);
        const bi = pb.panelsOffset + (j0 / nr) * K * nr + k0 * nr;
        for (let i0 = 0; i0 < mc; i0 += mr) {
          const height = Math.min(mr, mc - i0);
          const ci = cOff + (m0 + i0) * ldc + j0;
          const ai = panels + i0 * kc;
          if (height < mr || width < nr) {
            runEdgeTile(add ? gemminc : gemm, mr, nr, kc, scratch, ai, b, bi, C, ci, ldc, height, width, add, scratch, scratchOff);
          } else if (add) gemminc(kc, scratch, ai, b, bi, C, ci, ldc);
          else gemm(kc, scratch, ai, b, bi, C, ci, ldc);
          if (last) finishTile(C, ci, ldc, height, width, undefined, 0, pb.hasBias ? b : undefined, j0, act);
        }
      }
    }
  }
}

/**
 * C (M×N, row stride ldc) = act(A · op(B) + bias[M]) with A packed by packA; op(B) is B (K×N, row stride ldb)
 * or, when transB, Bᵀ of B stored N×K. This is convolution as GEMM: A = weights [Cout, Cin·KH·KW],
 * B = im2col columns (or the input itself for 1×1), bias per output channel. `accumulate` adds into C first.
 * scratch[scratchOff, + packedGemmScratchLength(pa, N)) is overwritten. Allocates nothing.
 */
export function gemmPackedA(
  pa: PackedWeights, N: number, B: Float32Array, bOff: number, ldb: number, transB: boolean,
  C: Float32Array, cOff: number, ldc: number, act: Activation,
  scratch: Float32Array, scratchOff = 0, accumulate = false,
): void {
  if (pa.side !== 'A') throw new RangeError('gemmPackedA: weights were packed with packB');
  const { K, mr, nr, kc: kcMax, block: ncMax, data: a, gemm, gemminc } = pa;
  const M = pa.count;
  const bCol = transB ? ldb : 1;
  const bRow = transB ? 1 : ldb;
  const panels = scratchOff + mr * nr; // scratch: [edge tile | the per-call operand's panels]
  const blocksK = Math.max(1, Math.ceil(K / kcMax));
  for (let kb = 0; kb < blocksK; kb++) {
    const k0 = kb * kcMax;
    const kc = Math.min(kcMax, K - k0);
    const add = accumulate || kb > 0;
    const last = kb === blocksK - 1;
    for (let n0 = 0; n0 < N; n0 += ncMax) {
      const nc = Math.min(ncMax, N - n0);
      packPanels(B, bOff + n0 * bCol, bCol, bRow, nc, k0, kc, nr, 1, scratch, panels);
      for (let i0 = 0; i0 < M; i0 += mr) {
        const height = Math.min(mr, M - i0);
        const ai = pa.panelsOffset + (i0 / mr) * K * mr + k0 * mr;
        for (let j0 = 0; j0 < nc; j0 += nr) {
          const width = Math.min(nr, nc - j0);
          const ci = cOff + i0 * ldc + n0 + j0;
          const bi = panels + j0 * kc;
          if (height < mr || width < nr) {
            runEdgeTile(add ? gemminc : gemm, mr, nr, kc, a, ai, scratch, bi, C, ci, ldc, height, width, add, scratch, scratchOff);
          } else if (add) gemminc(kc, a, ai, scratch, bi, C, ci, ldc);
          else gemm(kc, a, ai, scratch, bi, C, ci, ldc);
          if (last) finishTile(C, ci, ldc, height, width, pa.hasBias ? a : undefined, i0, undefined, 0, act);
        }
      }
    }
  }
}

/**
 * An edge tile (rows < mr or cols < nr): C[rows×cols at ci] (+)= A panel · B panel, run whole by `kernel` (gemm or
 * gemminc) in the edge tile scratch[edge, + mr·nr) (the panels are zero-padded), its corner copied in and back.
 *
 * Why the micro-kernels have no clipped store and no accumulate flag: a branch a kernel has not taken yet lacks type
 * feedback, so reaching it deoptimizes the kernel, and until V8 re-optimizes the function every call re-enters its
 * stale on-stack-replaced copy and deoptimizes again (thousands of deopts per ResNet-18 run, the first runs up to
 * 1.5x slower). A straight-line kernel has complete feedback after its first call.
 */
function runEdgeTile(
  kernel: PackedMicrokernel, mr: number, nr: number, kc: number, a: Float32Array, ai: number, b: Float32Array, bi: number,
  C: Float32Array, ci: number, ldc: number, rows: number, cols: number, add: boolean, scratch: Float32Array, edge: number,
): void {
  if (add) for (let r = 0; r < rows; r++) copyRow(C, ci + r * ldc, scratch, edge + r * nr, cols);
  kernel(kc, a, ai, b, bi, scratch, edge, nr);
  for (let r = 0; r < rows; r++) copyRow(scratch, edge + r * nr, C, ci + r * ldc, cols);
}

function copyRow(src: Float32Array, from: number, dst: Float32Array, to: number, n: number): void {
  for (let j = 0; j < n; j++) dst[to + j] = src[from + j]!;
}

/** The fused epilogue of one finished tile, while it is still in L1: + row/column bias, then the activation. */
function finishTile(
  C: Float32Array, ci: number, ldc: number, rows: number, cols: number,
  rowBias: Float32Array | undefined, rowBiasOff: number, colBias: Float32Array | undefined, colBiasOff: number,
  act: Activation,
): void {
  for (let r = 0; r < rows; r++) {
    const p = ci + r * ldc;
    if (rowBias !== undefined) {
      const v = rowBias[rowBiasOff + r]!;
      for (let j = 0; j < cols; j++) C[p + j]! += v;
    }
    if (colBias !== undefined) for (let j = 0; j < cols; j++) C[p + j]! += colBias[colBiasOff + j]!;
    if (act.kind !== 'none') applyActivation(act, C, p, cols);
  }
}
