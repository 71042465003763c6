import { sizeOf } from '../../dtype.js';
import { sgemm } from '../gemm/sgemm.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { dgemmAccumulate, floatKind } from './gemm.js';

// tinfer.MatMulAdd (emitted by the fuse-matmul-add pass): A [..., K], B [K, N], C [N] -> Y [..., N]
// Y = MatMul(A, B) + C: every leading dim of A is folded into the GEMM's rows, and each output row starts
// as the bias so the GEMM accumulates onto it (beta = 1) instead of a separate Add pass over Y.
function prepareMatMulAdd(ctx: PrepareContext): PreparedKernel {
  const a = requireInput(ctx, 0);
  const b = requireInput(ctx, 1);
  const c = requireInput(ctx, 2);
  const kind = floatKind(ctx, 0);
  if (floatKind(ctx, 1) !== kind || floatKind(ctx, 2) !== kind || a.dtype !== b.dtype || a.dtype !== c.dtype) {
    throw kernelError(ctx, `A, B and C must share one float dtype, got ${a.dtype}, ${b.dtype}, ${c.dtype}`);
  }
  if (a.shape.length < 1 || b.shape.length !== 2 || c.shape.length !== 1) {
    throw kernelError(ctx, `expects A of rank >= 1, 2-D B and 1-D C, got [${a.shape}], [${b.shape}], [${c.shape}]`);
  }
  const K = a.shape[a.shape.length - 1]!;
  const [Kb, N] = b.shape as [number, number];
  if (K !== Kb) throw kernelError(ctx, `inner dims differ: A [${a.shape}], B [${b.shape}]`);
  if (c.shape[0] !== N) throw kernelError(ctx, `bias [${c.shape}] does not match N = ${N}`);
  const rows = sizeOf(a.shape.slice(0, -1));
  const outShape = [...a.shape.slice(0, -1), N];
  return {
    outputs: [{ dtype: a.dtype, shape: outShape }],
    run(inputs, outs) {
      const y = outs[0] as Float32Array | Float64Array;
      const bias = inputs[2] as Float32Array | Float64Array;
      for (let r = 0; r < rows; r++) y.set(bias, r * N);
      if (kind === 'f32') {
        sgemm(false, false, rows, N, K, 1, inputs[0] as Float32Array, 0, K, inputs[1] as Float32Array, 0, N, 1, y as Float32Array, 0, N);
      } else {
        dgemmAccumulate(false, false, rows, N, K, 1, inputs[0] as Float64Array, 0, K, inputs[1] as Float64Array, 0, N, y as Float64Array, 0, N);
      }
    },
  };
}

export const matMulAddKernel: KernelDef = { opType: 'MatMulAdd', domain: 'tinfer', prepare: prepareMatMulAdd };
