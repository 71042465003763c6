import { sizeOf } from '../../dtype.js';
import { sgemm } from '../gemm/sgemm.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { dgemmAccumulate, floatKind } from './gemm.js';

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

// MatMul (numpy matmul): A [..., M, K] (or [K]), B [..., K, N] (or [K]) -> Y [broadcast(...), M, N] (1-D sides dropped)
function prepareMatMul(ctx: PrepareContext): PreparedKernel {
  const a = requireInput(ctx, 0);
  const b = requireInput(ctx, 1);
  const kind = floatKind(ctx, 0);
  if (floatKind(ctx, 1) !== kind) throw kernelError(ctx, `A and B must share one dtype, got ${a.dtype} and ${b.dtype}`);
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
    outputs: [{ dtype: a.dtype, shape: outShape }],
    run(inputs, outs) {
      (run as (x: unknown, w: unknown, y: unknown) => void)(inputs[0], inputs[1], outs[0]);
    },
  };
}

export const matMulKernel: KernelDef = { opType: 'MatMul', prepare: prepareMatMul };
