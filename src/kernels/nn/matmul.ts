import { sizeOf, type DType } from '../../dtype.js';
import type { Activation } from '../gemm/activation.js';
import { sgemm } from '../gemm/sgemm.js';
import { gemmPackedB, packB, packedGemmScratchLength } from '../gemm/packed.js';
import { activateInPlace, readFusedActivation } from '../conv/fused-activation.js';
import { uploadWeightsB } from '../conv/wasm-weights.js';
import { wasmGemmPackedB } from '../../wasm/gemm.js';
import { weightsForRows } from './wasm-few-rows.js';
import {
  chooseVariant, kernelError, onWasmOrReference, viewsInWasm, withActivation, requireInput, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef,
} from '../kernel.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { dgemmAccumulate } from './gemm.js';
import { prepareRuntimeBGemm, RUNTIME_B_MIN_MACS } from './wasm-runtime-b.js';

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
  const bConst = ctx.constants[1]?.data;
  return chooseVariant(MATMUL_VARIANTS, {
    dtype: a.dtype, kind, M, N, K, plan, outShape, foldIntoM, act: readFusedActivation(ctx.node),
    bConst: kind === 'f32' && bConst instanceof Float32Array && sizeOf(bBatch) === 1 ? bConst : undefined,
  }, ctx);
}

interface MatMulProblem {
  dtype: DType;
  kind: MatMulKind;
  M: number;
  N: number;
  K: number;
  /** Offsets of each output batch matrix's A and B. */
  plan: BatchPlan;
  outShape: number[];
  /** One B for a batch of A matrices that are not broadcast: one [batch·M, K] × [K, N] product. */
  foldIntoM: boolean;
  act: Activation;
  /** One constant float32 B [K, N] (a Linear layer's weight), packed once at prepare. */
  bConst: Float32Array | undefined;
}

/** The reference: sgemm per batch matrix (float32 storage), plain float64 loops, or wrapping integer loops. */
function prepareMatMulJs(p: MatMulProblem): PreparedKernel {
  const { kind, plan, M, N, K, foldIntoM, act } = p;
  const outputs = [{ dtype: p.dtype, shape: p.outShape }];
  if (kind === 'i32' || kind === 'i64') {
    return {
      outputs,
      detail: `js integer matmul (${p.dtype})`,
      run(inputs, outs) {
        intMatMul(kind, plan, M, N, K, inputs[0], inputs[1], outs[0]);
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
  return {
    outputs,
    detail: withActivation(kind === 'f32' ? 'js sgemm' : 'js dgemm (float64)', act),
    run(inputs, outs) {
      (run as (x: unknown, w: unknown, y: unknown) => void)(inputs[0], inputs[1], outs[0]);
      const y = outs[0] as Float32Array | Float64Array;
      activateInPlace(act, y, 0, y.length);
    },
  };
}

/** Rows per packed product: the whole folded batch, or one batch matrix. */
function packedRows(p: MatMulProblem): number {
  return p.foldIntoM ? p.plan.count * p.M : p.M;
}

/** One constant B packed once; every A row block streams through it (JS packed GEMM). */
function prepareMatMulPackedJs(p: MatMulProblem): PreparedKernel {
  const { plan, M, N, K, foldIntoM, act } = p;
  const pb = packB(p.bConst!, 0, N, false, K, N);
  const rows = packedRows(p);
  return {
    outputs: [{ dtype: p.dtype, shape: p.outShape }],
    detail: withActivation(`js gemm, B packed at prepare${foldIntoM ? '' : `, ${plan.count} batches`}`, act),
    scratch: [{ dtype: 'float32', length: packedGemmScratchLength(pb, rows) }],
    run(inputs, outs, scratch) {
      const x = inputs[0] as Float32Array;
      const y = outs[0] as Float32Array;
      const s = scratch[0] as Float32Array;
      if (foldIntoM) {
        gemmPackedB(rows, x, 0, K, false, pb, y, 0, N, act, s);
        return;
      }
      for (let t = 0; t < plan.count; t++) gemmPackedB(M, x, plan.aOffsets[t]!, K, false, pb, y, t * M * N, N, act, s);
    },
  };
}

/** The packed B uploaded to wasm memory once per context and weight, driven by the tile that fits the rows. */
function prepareMatMulPackedWasm(p: MatMulProblem, ctx: PrepareContext): PreparedKernel {
  const { plan, M, N, K, foldIntoM, act } = p;
  const wasmCtx = ctx.options.wasm!;
  const rows = packedRows(p);
  // Packed in the wasm GEMM's tile (only when B is not uploaded yet).
  const wasm = weightsForRows(wasmCtx, uploadWeightsB(wasmCtx, 'matmul-b', p.bConst!, N, false, K, N, 1, undefined, undefined).packs[0]!, rows);
  const detail = withActivation(`wasm gemm ${wasm.kernels.name}, B packed at prepare${foldIntoM ? '' : `, ${plan.count} batches`}`, act);
  // Views outside wasm memory (a hand-made run): the driver refuses them all alike, so the first product says it
  // and the JS sgemm (which reads B as given, no scratch) runs instead, counted.
  const kernel = onWasmOrReference(prepareMatMulJs(p), detail, (inputs, outs) => {
    const x = inputs[0] as Float32Array;
    const y = outs[0] as Float32Array;
    if (foldIntoM) return wasmGemmPackedB(wasmCtx, rows, x, 0, K, false, wasm, y, 0, N, act);
    for (let t = 0; t < plan.count; t++) {
      if (!wasmGemmPackedB(wasmCtx, M, x, plan.aOffsets[t]!, K, false, wasm, y, t * M * N, N, act)) return false;
    }
    return true;
  });
  return { ...kernel, unreadInputs: [1] };
}

/** B known only at run (attention Q·Kᵀ, A·V): packed per batch matrix into wasm memory, then the SIMD driver. */
function prepareMatMulRuntimeBWasm(p: MatMulProblem, ctx: PrepareContext): PreparedKernel {
  const { plan, M, N, K, foldIntoM, act } = p;
  const rows = packedRows(p);
  const count = foldIntoM ? 1 : plan.count;
  const aOffsets = foldIntoM ? new Int32Array(1) : plan.aOffsets;
  const bOffsets = foldIntoM ? new Int32Array(1) : plan.bOffsets;
  const wasm = ctx.options.wasm!;
  // A and C must be views of wasm memory (B is packed from JS): otherwise the JS sgemm runs, counted.
  const prepared = onWasmOrReference(prepareMatMulJs(p), withActivation(`wasm gemm ${wasm.kernels.gemm.name}, B packed per run`, act), (inputs, outs) => {
    const a = inputs[0] as Float32Array;
    const c = outs[0] as Float32Array;
    if (!viewsInWasm(wasm, a, c)) return false;
    gemm.run(a, aOffsets, inputs[1] as Float32Array, bOffsets, count, rows, c, act);
    return true;
  });
  const gemm = prepareRuntimeBGemm(wasm, rows, N, K, prepared)!;
  return prepared;
}

const MATMUL_VARIANTS: readonly VariantDef<MatMulProblem>[] = [
  { name: (p) => `${p.kind === 'f32' ? 'f32' : p.dtype}_matmul__js`, applies: () => true, placement: 'any', prepare: prepareMatMulJs },
  // The packed variants keep a packed copy of B (memory, for SessionOptions.memoryLimit).
  { name: 'f32_matmul_packedb__js', applies: (p) => p.bConst !== undefined, placement: 'any', prepare: prepareMatMulPackedJs, memory: (p) => 4 * p.bConst!.length },
  {
    name: 'f32_matmul_runtimeb__wasmsimd',
    // Below RUNTIME_B_MIN_MACS per product the per-run packing outweighs the SIMD gain.
    applies: (p, caps) => caps.wasm !== undefined && p.kind === 'f32' && p.K > 0 && p.N > 0 && packedRows(p) * p.N * p.K >= RUNTIME_B_MIN_MACS,
    placement: 'wasm',
    prepare: prepareMatMulRuntimeBWasm,
  },
  {
    name: 'f32_matmul_packedb__wasmsimd', applies: (p, caps) => caps.wasm !== undefined && p.bConst !== undefined, placement: 'wasm', prepare: prepareMatMulPackedWasm,
    memory: (p) => 4 * p.bConst!.length,
  },
];

export const matMulKernel: KernelDef = { opType: 'MatMul', prepare: prepareMatMul };
