/**
 * C (M×N, row stride ldc) = alpha · op(A) (M×K) · op(B) (K×N) + beta · C, all row-major float32.
 * op(X) is X or Xᵀ; when transposed, A is stored K×M (row stride lda) and B is N×K (row stride ldb).
 * This is the portable reference-speed GEMM every kernel can call; packed micro-kernels replace it on hot paths.
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
  scaleC(M, N, beta, C, cOff, ldc);
  if (alpha === 0 || K === 0) return;
  if (!transB) {
    // C[i,:] += alpha·A[i,k] · B[k,:]: streams rows of B and C, vectorisable inner loop.
    for (let i = 0; i < M; i++) {
      const c0 = cOff + i * ldc;
      for (let k = 0; k < K; k++) {
        const a = alpha * (transA ? A[aOff + k * lda + i]! : A[aOff + i * lda + k]!);
        if (a === 0) continue;
        const b0 = bOff + k * ldb;
        for (let j = 0; j < N; j++) C[c0 + j]! += a * B[b0 + j]!;
      }
    }
    return;
  }
  // B is N×K: C[i,j] += alpha · dot(A[i,:], B[j,:]).
  for (let i = 0; i < M; i++) {
    const c0 = cOff + i * ldc;
    for (let j = 0; j < N; j++) {
      const b0 = bOff + j * ldb;
      let s = 0;
      if (transA) for (let k = 0; k < K; k++) s += A[aOff + k * lda + i]! * B[b0 + k]!;
      else {
        const a0 = aOff + i * lda;
        for (let k = 0; k < K; k++) s += A[a0 + k]! * B[b0 + k]!;
      }
      C[c0 + j]! += alpha * s;
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
