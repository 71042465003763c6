import type { Activation } from '../gemm/activation.js';
import { GEMM_KC, GEMM_MC } from '../gemm/packed.js';
import type { WasmContext } from '../../wasm/context.js';
import { wasmGemmPackedB, type WasmPackedWeights } from '../../wasm/gemm.js';

/**
 * Below this many multiply-adds per product the per-call packing of B and the driver's call overhead outweigh the
 * SIMD gain and the JS sgemm stays: the two cross near 8³ (BENCHMARKS.md, "MatMul with B known only at run"; a
 * BERT's attention products at short sequences, 9×32×9, run ~1.5× faster on wasm alone and ~4× in the model).
 */
export const RUNTIME_B_MIN_MACS = 8 * 8 * 8;

/** Buffers handed out at prepare, given back when the prepared kernel holding them is collected. */
const release: FinalizationRegistry<{ ctx: WasmContext; offset: number }> | undefined =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry(({ ctx, offset }) => ctx.free(offset))
    : undefined;

/**
 * MatMul with a B known only at run (attention: Q·Kᵀ, A·V) on the wasm packed-B driver. Prepare reserves one
 * packed-B buffer in wasm memory (the largest per-batch B, K×N rounded up to whole NR panels) and the driver's
 * scratch; each run packs B[t] into it (k-major panels of width NR, the layout of packB / uploadPackedWeights)
 * and calls the driver. Nothing is allocated at run except a fresh view when the memory has grown.
 */
export interface RuntimeBGemm {
  /**
   * C[t] = act(A[t]·B[t]) for every batch t. A and C are views of wasm memory (the variant's placement is
   * 'wasm'); B may be anywhere (it is packed from JS).
   */
  run(
    a: Float32Array, aOffsets: Int32Array, b: Float32Array, bOffsets: Int32Array, count: number, rows: number,
    c: Float32Array, act: Activation,
  ): void;
}

/**
 * The descriptor points at one buffer reused for every batch matrix; `owner` is the object whose collection
 * frees the buffer (the prepared kernel). Returns undefined when the product is too small to pay.
 */
export function prepareRuntimeBGemm(ctx: WasmContext, M: number, N: number, K: number, owner: object): RuntimeBGemm | undefined {
  if (M * N * K < RUNTIME_B_MIN_MACS || K === 0 || N === 0) return undefined;
  const kernels = ctx.kernels.gemm;
  const nr = kernels.nr;
  const panelFloats = Math.ceil(N / nr) * nr * K;
  const panels = ctx.alloc(panelFloats * 4);
  release?.register(owner, { ctx, offset: panels });
  const kc = GEMM_KC;
  const block = Math.ceil(GEMM_MC / kernels.mr) * kernels.mr;
  ctx.reserveScratch(block * Math.min(K, kc) * 4);
  const w: WasmPackedWeights = { side: 'B', K, count: N, kernels, panels, bias: 0, kc, block };
  let view: Float32Array | undefined;
  return {
    run(a, aOffsets, b, bOffsets, count, rows, c, act) {
      if (view === undefined || view.buffer !== ctx.memory.buffer) view = ctx.f32(panels, panelFloats);
      let packed = -1;
      for (let t = 0; t < count; t++) {
        const bOff = bOffsets[t]!;
        // Broadcast B (several A against one B) repacks only when the matrix changes.
        if (bOff !== packed) {
          packPanelsNR(b, bOff, N, K, nr, view);
          packed = bOff;
        }
        wasmGemmPackedB(ctx, rows, a, aOffsets[t]!, K, false, w, c, t * rows * N, N, act);
      }
    },
  };
}

/** dst[p·K·nr + k·nr + l] = B[bOff + k·N + p·nr + l] (B row-major K×N), zero for columns past N. */
function packPanelsNR(src: Float32Array, bOff: number, N: number, K: number, nr: number, dst: Float32Array): void {
  let d = 0;
  for (let j0 = 0; j0 < N; j0 += nr) {
    const width = Math.min(nr, N - j0);
    let s = bOff + j0;
    for (let k = 0; k < K; k++, s += N, d += nr) {
      for (let l = 0; l < width; l++) dst[d + l] = src[s + l]!;
      for (let l = width; l < nr; l++) dst[d + l] = 0;
    }
  }
}
