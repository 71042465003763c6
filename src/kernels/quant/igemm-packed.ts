import type { Int8Like } from './igemm.js';

/**
 * Packed integer GEMM: C[r, c] = Σ_k A[r, k] · B[c, k] over 8-bit A (rows: weights, packed once) and B (columns:
 * activations, packed one 4-column panel at a time), in 4×4 register tiles. The reference is igemmABt.
 *
 * Two columns share one float64 ("lane pairs"): the panel holds b0 + b1·2^26, so one multiply a·(b0 + b1·2^26)
 * gives both products a·b0 + a·b1·2^26, and the 4×4 tile needs 8 multiply-adds per k instead of 16. Summed over
 * a chunk of K where |Σ a·b0| < 2^25, the low lane is recovered exactly as L = s - round(s / 2^26)·2^26 and the
 * high lane as round(s / 2^26); every partial sum stays below 2^52, so the double arithmetic is exact and the
 * result equals the int32 accumulation bit for bit (as onnxruntime's, while that does not overflow).
 */
export const TILE_ROWS = 4;
export const TILE_COLS = 4;
/** The weight of the high lane: a lane pair (b0, b1) is stored as b0 + b1·LANE_SCALE. */
export const LANE_SCALE = 2 ** 26;
const LANE = LANE_SCALE;
const LOW_LIMIT = 2 ** 25;

/** Doubles in one column panel of depth K: per k, two lane pairs. */
export function panelLength(K: number): number {
  return 2 * K;
}

/** Bytes of A packed into 4-row panels (rows past M are zero). */
export function packedRowsLength(M: number, K: number): number {
  return Math.ceil(M / TILE_ROWS) * TILE_ROWS * K;
}

/** The longest K chunk whose low-lane sums stay below 2^25 for these operand types. */
export function laneChunk(aSigned: boolean, bSigned: boolean): number {
  const aMax = aSigned ? 128 : 255;
  const bMax = bSigned ? 128 : 255;
  return Math.floor((LOW_LIMIT - 1) / (aMax * bMax));
}

/**
 * Packs M rows of A (K contiguous per row, row stride ld) into 4-row panels:
 * out[outOff + (⌊r/4⌋·K + k)·4 + r%4] = A[aOff + r·ld + k]; rows past M are zero.
 */
export function packRowPanels(M: number, K: number, A: Int8Like, aOff: number, ld: number, out: Int8Like, outOff: number): void {
  const panels = Math.ceil(M / TILE_ROWS);
  for (let p = 0; p < panels; p++) {
    for (let r = 0; r < TILE_ROWS; r++) {
      const row = p * TILE_ROWS + r;
      let dst = outOff + p * K * TILE_ROWS + r;
      if (row >= M) {
        for (let k = 0; k < K; k++, dst += TILE_ROWS) out[dst] = 0;
        continue;
      }
      const src = aOff + row * ld;
      for (let k = 0; k < K; k++, dst += TILE_ROWS) out[dst] = A[src + k]!;
    }
  }
}

/**
 * Fills a column panel from `cols` (≤ 4) columns whose element k is B[off_c + k·step] (missing columns are 0),
 * and sums[c] = Σ_k B(c, k). step 1 for rows of a row-major matrix, step P for a channel-major image.
 */
export function fillPanelStrided(K: number, B: Int8Like, offs: ArrayLike<number>, cols: number, step: number, panel: Float64Array, sums: Int32Array): void {
  for (let h = 0; h < 2; h++) {
    const c0 = 2 * h;
    const c1 = c0 + 1;
    let s0 = 0;
    let s1 = 0;
    let i0 = offs[c0]!;
    let i1 = offs[c1]!;
    const has0 = c0 < cols;
    const has1 = c1 < cols;
    for (let k = 0, d = h; k < K; k++, d += 2, i0 += step, i1 += step) {
      const v0 = has0 ? B[i0]! : 0;
      const v1 = has1 ? B[i1]! : 0;
      s0 += v0;
      s1 += v1;
      panel[d] = v0 + v1 * LANE;
    }
    sums[c0] = s0;
    sums[c1] = s1;
  }
}

/**
 * tile[r·4 + c] += Σ_{k0 ≤ k < k1} A[r, k] · B[c, k] for one 4-row A panel (at aPanel) and one column panel.
 * k1 - k0 must not exceed laneChunk().
 */
export function igemmTile4x4(k0: number, k1: number, A: Int8Like, aPanel: number, panel: Float64Array, tile: Float64Array): void {
  let c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0, c30 = 0, c31 = 0; // prettier-ignore
  for (let k = k0, a = aPanel + k0 * TILE_ROWS, b = 2 * k0; k < k1; k++, a += TILE_ROWS, b += 2) {
    const b0 = panel[b]!;
    const b1 = panel[b + 1]!;
    const a0 = A[a]!;
    const a1 = A[a + 1]!;
    const a2 = A[a + 2]!;
    const a3 = A[a + 3]!;
    c00 += a0 * b0;
    c01 += a0 * b1;
    c10 += a1 * b0;
    c11 += a1 * b1;
    c20 += a2 * b0;
    c21 += a2 * b1;
    c30 += a3 * b0;
    c31 += a3 * b1;
  }
  addLanes(tile, 0, c00);
  addLanes(tile, 2, c01);
  addLanes(tile, 4, c10);
  addLanes(tile, 6, c11);
  addLanes(tile, 8, c20);
  addLanes(tile, 10, c21);
  addLanes(tile, 12, c30);
  addLanes(tile, 14, c31);
}

function addLanes(tile: Float64Array, at: number, s: number): void {
  const high = Math.round(s / LANE);
  tile[at] = tile[at]! + (s - high * LANE);
  tile[at + 1] = tile[at + 1]! + high;
}

/** Writes one finished tile: rows m0.. (count rows), columns c0.. (count cols), values tile[r·4 + c]. */
export type TileStore = (tile: Float64Array, m0: number, rows: number, c0: number, cols: number, colSums: Int32Array) => void;

/**
 * C = A · Bᵀ over all 4×4 tiles: A is M rows packed by packRowPanels at aOff; for each group of 4 columns,
 * fill(c0, cols, panel, colSums) packs them, then every row panel is multiplied and handed to store.
 */
export function igemmPacked(
  M: number,
  N: number,
  K: number,
  A: Int8Like,
  aOff: number,
  chunk: number,
  fill: (c0: number, cols: number, panel: Float64Array, colSums: Int32Array) => void,
  store: TileStore,
  panel: Float64Array,
  colSums: Int32Array,
  tile: Float64Array,
): void {
  for (let c0 = 0; c0 < N; c0 += TILE_COLS) {
    const cols = Math.min(TILE_COLS, N - c0);
    fill(c0, cols, panel, colSums);
    for (let m0 = 0; m0 < M; m0 += TILE_ROWS) {
      tile.fill(0);
      const aPanel = aOff + m0 * K;
      for (let k0 = 0; k0 < K; k0 += chunk) igemmTile4x4(k0, Math.min(K, k0 + chunk), A, aPanel, panel, tile);
      store(tile, m0, Math.min(TILE_ROWS, M - m0), c0, cols, colSums);
    }
  }
}
