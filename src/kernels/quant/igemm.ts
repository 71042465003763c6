/**
 * Integer GEMM shared by QLinearConv, ConvInteger, QLinearMatMul and MatMulInteger.
 *
 * Both operands are stored with K contiguous ("A·Bᵀ" layout), so each output is one dot product with a
 * register accumulator. With zero points za (per row of A) and zb (per row of B):
 *   Σ_k (A[i,k] - za_i)(B[j,k] - zb_j) = Σ A·B - zb_j·ΣA[i,:] - za_i·ΣB[j,:] + K·za_i·zb_j
 * so the raw uint8/int8 data is multiplied as is and the zero points cost O(M·N) corrections from row sums
 * (which are computed once at prepare for constant weights). All arithmetic is exact (products < 2^16,
 * sums < 2^53), matching onnxruntime's int32 accumulation bit for bit while it does not overflow.
 */
export type Int8Like = Int8Array | Uint8Array;

/**
 * C[i,j] = Σ_k A[aOff + i·lda + k] · B[bOff + j·ldb + k], for i < M, j < N; C is Int32 with row stride ldc.
 * Computes 2×2 output tiles so each loaded element feeds two multiply-adds; odd edges fall back to dots.
 */
export function igemmABt(
  M: number,
  N: number,
  K: number,
  A: Int8Like,
  aOff: number,
  lda: number,
  B: Int8Like,
  bOff: number,
  ldb: number,
  C: Int32Array,
  cOff: number,
  ldc: number,
): void {
  const M2 = M - (M % 2);
  const N2 = N - (N % 2);
  for (let i = 0; i < M2; i += 2) {
    const a0 = aOff + i * lda;
    const a1 = a0 + lda;
    const c0 = cOff + i * ldc;
    for (let j = 0; j < N2; j += 2) {
      const b0 = bOff + j * ldb;
      const b1 = b0 + ldb;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k]!;
        const x1 = A[a1 + k]!;
        const y0 = B[b0 + k]!;
        const y1 = B[b1 + k]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      C[c0 + j] = s00;
      C[c0 + j + 1] = s01;
      C[c0 + ldc + j] = s10;
      C[c0 + ldc + j + 1] = s11;
    }
    if (N2 < N) {
      C[c0 + N2] = dot(K, A, a0, B, bOff + N2 * ldb);
      C[c0 + ldc + N2] = dot(K, A, a1, B, bOff + N2 * ldb);
    }
  }
  if (M2 < M) {
    const a0 = aOff + M2 * lda;
    const c0 = cOff + M2 * ldc;
    for (let j = 0; j < N; j++) C[c0 + j] = dot(K, A, a0, B, bOff + j * ldb);
  }
}

function dot(K: number, A: Int8Like, a0: number, B: Int8Like, b0: number): number {
  let s = 0;
  for (let k = 0; k < K; k++) s += A[a0 + k]! * B[b0 + k]!;
  return s;
}

/** out[outOff + i] = Σ_k X[off + i·ld + k] for i < rows: the row sums the zero-point corrections need. */
export function rowSums(rows: number, K: number, X: Int8Like, off: number, ld: number, out: Int32Array, outOff: number): void {
  for (let i = 0; i < rows; i++) {
    const x0 = off + i * ld;
    let s = 0;
    for (let k = 0; k < K; k++) s += X[x0 + k]!;
    out[outOff + i] = s;
  }
}

/**
 * Applies the zero-point corrections in place to C (M×N, from igemmABt):
 * C[i,j] += -zb_j·sumA_i - za_i·sumB_j + K·za_i·zb_j.
 * za_i = za[zaOff + i·zaStride] and zb_j = zb[zbOff + j·zbStride]; a stride of 0 is one zero point for all.
 */
export function applyZeroPointCorrections(
  M: number,
  N: number,
  K: number,
  C: Int32Array,
  cOff: number,
  ldc: number,
  za: ArrayLike<number>,
  zaOff: number,
  zaStride: number,
  sumA: Int32Array,
  sumAOff: number,
  zb: ArrayLike<number>,
  zbOff: number,
  zbStride: number,
  sumB: Int32Array,
  sumBOff: number,
): void {
  for (let i = 0; i < M; i++) {
    const zai = za[zaOff + i * zaStride]!;
    const sai = sumA[sumAOff + i]!;
    const c0 = cOff + i * ldc;
    if (zbStride === 0) {
      const zbj = zb[zbOff]!;
      if (zai === 0 && zbj === 0) continue;
      const rowTerm = -zbj * sai + K * zai * zbj;
      for (let j = 0; j < N; j++) C[c0 + j] = C[c0 + j]! + rowTerm - zai * sumB[sumBOff + j]!;
      continue;
    }
    for (let j = 0; j < N; j++) {
      const zbj = zb[zbOff + j * zbStride]!;
      C[c0 + j] = C[c0 + j]! - zbj * sai - zai * sumB[sumBOff + j]! + K * zai * zbj;
    }
  }
}
