import { STRIDED_MICROKERNELS, type MicrokernelEntry, type StridedMicrokernel } from './microkernels.js';

/** The strided tile sgemm uses, picked by bench/gemm.mjs (see README.md). */
export const SGEMM_TILE = '8x4';
/** K block of sgemm: the op(B) rows one pass streams, sized so KC×N floats stay in L2 for typical N. */
export const SGEMM_KC = 256;

/** The main MR×NR strided kernel plus its 1×NR, MR×1 and 1×1 edge helpers. */
export interface StridedTileSet {
  mr: number;
  nr: number;
  main: StridedMicrokernel;
  rowEdge: StridedMicrokernel;
  colEdge: StridedMicrokernel;
  corner: StridedMicrokernel;
}

/**
 * The kernels of strided tile `name` ('MRxNR') and its edge helpers, looked up in `kernels`: the shipped ones, or
 * (tests, benchmarks) tiles compiled by generate-microkernels.mjs.
 */
export function stridedTileSet(
  name: string, kernels: Readonly<Record<string, MicrokernelEntry<StridedMicrokernel>>> = STRIDED_MICROKERNELS,
): StridedTileSet {
  const main = kernels[name];
  if (main === undefined) throw new RangeError(`sgemm: no strided tile '${name}'`);
  const { mr, nr } = main;
  const rowEdge = kernels[`1x${nr}`];
  const colEdge = kernels[`${mr}x1`];
  const corner = kernels['1x1'];
  if (rowEdge === undefined || colEdge === undefined || corner === undefined) {
    throw new RangeError(`sgemm: tile '${name}' has no edge helpers`);
  }
  return { mr, nr, main: main.kernel, rowEdge: rowEdge.kernel, colEdge: colEdge.kernel, corner: corner.kernel };
}

const DEFAULT_TILES = stridedTileSet(SGEMM_TILE);

/**
 * C (M×N, row stride ldc) = alpha · op(A) (M×K) · op(B) (K×N) + beta · C, all row-major float32.
 * op(X) is X or Xᵀ; when transposed, A is stored K×M (row stride lda) and B is N×K (row stride ldb).
 * beta = 0 overwrites C (NaNs in C do not propagate). Allocates nothing.
 * Register-blocked over the unpacked operands (no packing, so no scratch); kernels with constant weights
 * should pack them once and call gemmPackedA / gemmPackedB instead.
 */
export function sgemm(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  aOff: number,
  lda: number,
  B: Float32Array,
  bOff: number,
  ldb: number,
  beta: number,
  C: Float32Array,
  cOff: number,
  ldc: number,
): void {
  sgemmWithTiles(DEFAULT_TILES, SGEMM_KC, transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
}

/** sgemm with an explicit tile set and K block (the tester and the benchmark run every tile through this). */
export function sgemmWithTiles(
  tiles: StridedTileSet,
  kcMax: number,
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  aOff: number,
  lda: number,
  B: Float32Array,
  bOff: number,
  ldb: number,
  beta: number,
  C: Float32Array,
  cOff: number,
  ldc: number,
): void {
  scaleC(M, N, beta, C, cOff, ldc);
  if (alpha === 0 || K === 0 || M === 0 || N === 0) return;
  // Element strides: op(A)(i, k) = A[aOff + i·ars + k·acs], op(B)(k, j) = B[bOff + k·brs + j·bcs].
  const ars = transA ? 1 : lda;
  const acs = transA ? lda : 1;
  const brs = transB ? 1 : ldb;
  const bcs = transB ? ldb : 1;
  const { mr, nr, main, rowEdge, colEdge, corner } = tiles;
  const mFull = M - (M % mr);
  const nFull = N - (N % nr);
  for (let k0 = 0; k0 < K; k0 += kcMax) {
    const kc = Math.min(kcMax, K - k0);
    const a0 = aOff + k0 * acs;
    const b0 = bOff + k0 * brs;
    for (let i = 0; i < M; ) {
      const full = i < mFull;
      const ai = a0 + i * ars;
      const ci = cOff + i * ldc;
      const body = full ? main : rowEdge;
      const edge = full ? colEdge : corner;
      let j = 0;
      for (; j < nFull; j += nr) body(kc, alpha, A, ai, ars, acs, B, b0 + j * bcs, brs, bcs, C, ci + j, ldc);
      for (; j < N; j++) edge(kc, alpha, A, ai, ars, acs, B, b0 + j * bcs, brs, bcs, C, ci + j, ldc);
      i += full ? mr : 1;
    }
  }
}

function scaleC(M: number, N: number, beta: number, C: Float32Array, cOff: number, ldc: number): void {
  if (beta === 1) return;
  for (let i = 0; i < M; i++) {
    const c0 = cOff + i * ldc;
    if (beta === 0) C.fill(0, c0, c0 + N);
    else for (let j = 0; j < N; j++) C[c0 + j]! *= beta;
  }
}
