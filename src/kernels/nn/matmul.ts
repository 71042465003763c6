import { sizeOf } from '../../dtype.js';
import { sgemm } from '../gemm/sgemm.js';
import { gemmPackedB, packB, packedGemmScratchLength } from '../gemm/packed.js';
import { activateInPlace, readFusedActivation } from '../conv/fused-activation.js';
import { uploadWeights } from '../conv/wasm-weights.js';
import { wasmGemmPackedB } from '../../wasm/gemm.js';
import { weightsForRows } from './wasm-few-rows.js';
import { kernelError, jsFallbacks, ranOnWasm, withActivation, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { dgemmAccumulate } from './gemm.js';
import { prepareRuntimeBGemm } from './wasm-runtime-b.js';

type MatMulKind = 'f32' | 'f64' | 'i32' | 'i64';

/** float16/bfloat16/float32 -> sgemm; float64 -> plain loops; 32- and 64-bit ints -> wrapping integer loops. */
function matMulKind(ctx: PrepareContext, i: number): MatMulKind {
  const t = requireInput(ctx, i);
  switch (t.dtype) {
    case 'float32':
    case 'float16':
    case 'bfloat16':
      return 'f32';
    case 'float64':
      return 'f64';
    case 'int32':
    case 'uint32':
      return 'i32';
    case 'int64':
    case 'uint64':
      return 'i64';
    default:
      throw new UnsupportedError(`${nodeLabel(ctx.node)}: input ${i} has dtype ${t.dtype}; MatMul supports float16/bfloat16/float32/float64/int32/uint32/int64/uint64`);
  }
}

/**
 * Y[t] = A[t] · B[t] per batch matrix with integer arithmetic that wraps like C: 32-bit products via
 * Math.imul (low 32 bits, the same for signed and unsigned) and 64-bit ones as BigInt stored modulo 2^64.
 */
function intMatMul(kind: 'i32' | 'i64', plan: BatchPlan, M: number, N: number, K: number, a: unknown, b: unknown, y: unknown): void {
  for (let t = 0; t < plan.count; t++) {
    const ao = plan.aOffsets[t]!;
    const bo = plan.bOffsets[t]!;
    const yo = t * M * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        if (kind === 'i32') {
          const av = a as Int32Array;
          const bv = b as Int32Array;
          let s = 0;
          for (let k = 0; k < K; k++) s = (s + Math.imul(av[ao + i * K + k]!, bv[bo + k * N + j]!)) | 0;
          (y as Int32Array)[yo + i * N + j] = s;
        } else {
          const av = a as BigInt64Array;
          const bv = b as BigInt64Array;
          let s = 0n;
          for (let k = 0; k < K; k++) s += av[ao + i * K + k]! * bv[bo + k * N + j]!;
          (y as BigInt64Array)[yo + i * N + j] = BigInt.asIntN(64, s);
        }
      }
    }
  }
}

/** Per output batch matrix, the element offsets of its A and B matrices (numpy broadcasting of batch dims). */
interface BatchPlan {
  count: number;
  aOffsets: Int32Array;
  bOffsets: Int32Array;
}

function planBatches(ctx: PrepareContext, aBatch: number[], bBatch: number[], aMat: number, bMat: number): { shape: number[]; plan: BatchPlan } {
  const rank = Math.max(aBatch.length, bBatch.length);
  const pa = [...new Array<number>(rank - aBatch.length).fill(1), ...aBatch];
  const pb = [...new Array<number>(rank - bBatch.length).fill(1), ...bBatch];
  const shape = pa.map((da, i) => {
    const db = pb[i]!;
    if (da !== db && da !== 1 && db !== 1) throw kernelError(ctx, `batch dims [${aBatch}] and [${bBatch}] do not broadcast`);
    return da === 1 ? db : da;
  });
  const count = sizeOf(shape);
  const aOffsets = new Int32Array(count);
  const bOffsets = new Int32Array(count);
  const idx = new Array<number>(rank).fill(0);
  for (let t = 0; t < count; t++) {
    let ao = 0;
    let bo = 0;
    for (let d = 0; d < rank; d++) {
      ao = ao * pa[d]! + (pa[d] === 1 ? 0 : idx[d]!);
      bo = bo * pb[d]! + (pb[d] === 1 ? 0 : idx[d]!);
    }
    aOffsets[t] = ao * aMat;
    bOffsets[t] = bo * bMat;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return { shape, plan: { count, aOffsets, bOffsets } };
}

// MatMul (numpy matmul, float and 32/64-bit int): A [..., M, K] (or [K]), B [..., K, N] (or [K]) -> Y [broadcast(...), M, N] (1-D sides dropped)
function prepareMatMul(ctx: PrepareContext): PreparedKernel {
  const a = requireInput(ctx, 0);
  const b = requireInput(ctx, 1);
  const kind = matMulKind(ctx, 0);
  if (matMulKind(ctx, 1) !== kind || a.dtype !== b.dtype) throw kernelError(ctx, `A and B must share one dtype, got ${a.dtype} and ${b.dtype}`);
  if (a.shape.length === 0 || b.shape.length === 0) throw kernelError(ctx, 'MatMul inputs must have rank >= 1');
  const aShape = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
  const bShape = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
  const M = aShape[aShape.length - 2]!;
  const K = aShape[aShape.length - 1]!;
  const N = bShape[bShape.length - 1]!;
  if (bShape[bShape.length - 2] !== K) throw kernelError(ctx, `inner dims differ: A [${a.shape}], B [${b.shape}]`);
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const { shape: batchShape, plan } = planBatches(ctx, aBatch, bBatch, M * K, K * N);
  const outShape = [...batchShape, ...(a.shape.length === 1 ? [] : [M]), ...(b.shape.length === 1 ? [] : [N])];
  // A shared B with a batch of A matrices that are not broadcast: one [batch·M, K] × [K, N] product.
  const foldIntoM = sizeOf(bBatch) === 1 && sizeOf(aBatch) === plan.count;
  if (kind === 'i32' || kind === 'i64') {
    return {
      outputs: [{ dtype: a.dtype, shape: outShape }],
      detail: `js integer matmul (${a.dtype})`,
      run(inputs, outs) {
        intMatMul(kind, plan, M, N, K, inputs[0], inputs[1], outs[0]);
      },
    };
  }
  const act = readFusedActivation(ctx.node);
  const bConst = ctx.constants[1]?.data;
  if (kind === 'f32' && bConst instanceof Float32Array && sizeOf(bBatch) === 1) {
    // One constant B [K, N] (a Linear layer's weight): packed once, every A row block streams through it.
    const pb = packB(bConst, 0, N, false, K, N);
    const rows = foldIntoM ? plan.count * M : M;
    const wasmCtx = ctx.options.wasm;
    const uploaded = wasmCtx === undefined ? undefined : uploadWeights(wasmCtx, bConst, undefined, 'matmul-b', [pb]).packs[0]!;
    const wasm = uploaded && weightsForRows(wasmCtx!, uploaded, foldIntoM ? rows : M);
    const fallbacks = jsFallbacks();
    return {
      outputs: [{ dtype: a.dtype, shape: outShape }],
      detail: withActivation(`${wasm !== undefined ? `wasm gemm ${wasm.kernels.name}` : 'js gemm'}, B packed at prepare${foldIntoM ? '' : `, ${plan.count} batches`}`, act),
      jsFallbacks: fallbacks,
      scratch: [{ dtype: 'float32', length: packedGemmScratchLength(pb, rows) }],
      run(inputs, outs, scratch) {
        const x = inputs[0] as Float32Array;
        const y = outs[0] as Float32Array;
        const s = scratch[0] as Float32Array;
        if (foldIntoM) {
          if (wasm !== undefined && ranOnWasm(fallbacks, wasmGemmPackedB(wasmCtx!, rows, x, 0, K, false, wasm, y, 0, N, act))) return;
          gemmPackedB(rows, x, 0, K, false, pb, y, 0, N, act, s);
          return;
        }
        for (let t = 0; t < plan.count; t++) {
          const xOff = plan.aOffsets[t]!;
          if (wasm !== undefined && wasmGemmPackedB(wasmCtx!, M, x, xOff, K, false, wasm, y, t * M * N, N, act)) continue;
          // Every batch sees the same buffers: count the call once.
          if (wasm !== undefined && t === 0) fallbacks.calls++;
          gemmPackedB(M, x, xOff, K, false, pb, y, t * M * N, N, act, s);
        }
      },
    };
  }
  const run =
    kind === 'f32'
      ? (x: Float32Array, w: Float32Array, y: Float32Array): void => {
          if (foldIntoM) {
            sgemm(false, false, plan.count * M, N, K, 1, x, 0, K, w, 0, N, 0, y, 0, N);
            return;
          }
          for (let t = 0; t < plan.count; t++) {
            sgemm(false, false, M, N, K, 1, x, plan.aOffsets[t]!, K, w, plan.bOffsets[t]!, N, 0, y, t * M * N, N);
          }
        }
      : (x: Float64Array, w: Float64Array, y: Float64Array): void => {
          y.fill(0);
          for (let t = 0; t < plan.count; t++) {
            dgemmAccumulate(false, false, M, N, K, 1, x, plan.aOffsets[t]!, K, w, plan.bOffsets[t]!, N, y, t * M * N, N);
          }
        };
  const fallbacks = jsFallbacks();
  const prepared: PreparedKernel = {
    outputs: [{ dtype: a.dtype, shape: outShape }],
    jsFallbacks: fallbacks,
    run(inputs, outs) {
      if (wasmB !== undefined && ranOnWasm(fallbacks, wasmB.run(inputs[0] as Float32Array, wasmA, inputs[1] as Float32Array, wasmBOffsets, wasmCount, wasmRows, outs[0] as Float32Array, act))) return;
      (run as (x: unknown, w: unknown, y: unknown) => void)(inputs[0], inputs[1], outs[0]);
      const y = outs[0] as Float32Array | Float64Array;
      activateInPlace(act, y, 0, y.length);
    },
  };
  // B known only at run (attention Q·Kᵀ, A·V): pack it per batch matrix into wasm memory and use the SIMD driver.
  const wasmRows = foldIntoM ? plan.count * M : M;
  const wasmCount = foldIntoM ? 1 : plan.count;
  const wasmA = foldIntoM ? new Int32Array(1) : plan.aOffsets;
  const wasmBOffsets = foldIntoM ? new Int32Array(1) : plan.bOffsets;
  const wasmB =
    kind === 'f32' && ctx.options.wasm !== undefined ? prepareRuntimeBGemm(ctx.options.wasm, wasmRows, N, K, prepared) : undefined;
  prepared.detail = withActivation(runtimeBDetail(ctx, kind, wasmB !== undefined, M * N * K), act);
  return prepared;
}

/**
 * How a MatMul whose B is known only at run goes: the wasm driver needs A and Y in wasm memory, and a constant A
 * lives outside it, so then the JS sgemm runs every time.
 */
function runtimeBDetail(ctx: PrepareContext, kind: string, wasmPrepared: boolean, macs: number): string {
  if (kind !== 'f32') return 'js dgemm (float64)';
  const wasm = ctx.options.wasm;
  if (wasm === undefined) return 'js sgemm';
  if (!wasmPrepared) return `js sgemm (${macs} MACs, below the wasm threshold)`;
  if (ctx.constants[0] !== undefined) return 'js sgemm (constant A is outside wasm memory)';
  return `wasm gemm ${wasm.kernels.gemm.name}, B packed per run`;
}

export const matMulKernel: KernelDef = { opType: 'MatMul', prepare: prepareMatMul };
