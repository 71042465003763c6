import { sizeOf } from '../../dtype.js';
import { applyActivation } from '../gemm/activation.js';
import { gemmPackedB, packB, packedGemmScratchLength } from '../gemm/packed.js';
import { sgemm } from '../gemm/sgemm.js';
import { activateInPlace, readFusedActivation } from '../conv/fused-activation.js';
import { uploadWeights } from '../conv/wasm-weights.js';
import { wasmGemmPackedB } from '../../wasm/gemm.js';
import { weightsForRows } from './wasm-few-rows.js';
import { kernelError, jsFallbacks, ranOnWasm, withActivation, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { dgemmAccumulate, floatKind } from './gemm.js';

// tinfer.MatMulAdd (emitted by the fuse-matmul-add pass): A [..., K], B [K, N], C [N] -> Y [..., N]
// Y = act(MatMul(A, B) + C): every leading dim of A is folded into the GEMM's rows. With B constant (a Linear
// weight) B is packed once and a constant C goes into the pack, so the packed GEMM adds it in its store;
// otherwise each output row starts as C and the GEMM accumulates onto it. act is the optional fused
// activation (tinfer.activation), applied in the store (float64: after the product).
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
  const outputs = [{ dtype: a.dtype, shape: [...a.shape.slice(0, -1), N] }];
  const act = readFusedActivation(ctx.node);
  const writeBiasRows = (y: Float32Array | Float64Array, bias: Float32Array | Float64Array): void => {
    for (let r = 0; r < rows; r++) y.set(bias, r * N);
  };

  const bConst = ctx.constants[1]?.data;
  if (kind === 'f32' && bConst instanceof Float32Array) {
    const cConst = ctx.constants[2]?.data;
    const biasInPack = cConst instanceof Float32Array;
    const pb = packB(bConst, 0, N, false, K, N, 1, biasInPack ? { data: cConst } : undefined);
    const wasmCtx = ctx.options.wasm;
    const uploaded = wasmCtx === undefined ? undefined : uploadWeights(wasmCtx, bConst, biasInPack ? cConst : undefined, 'matmul-add-b', [pb]).packs[0]!;
    const wasm = uploaded && weightsForRows(wasmCtx!, uploaded, rows);
    const fallbacks = jsFallbacks();
    return {
      outputs,
      detail: withActivation(`${wasm !== undefined ? `wasm gemm ${wasm.kernels.name}` : 'js gemm'}, B packed at prepare${biasInPack ? ', bias in pack' : ''}`, act),
      jsFallbacks: fallbacks,
      scratch: [{ dtype: 'float32', length: packedGemmScratchLength(pb, rows) }],
      run(inputs, outs, scratch) {
        const y = outs[0] as Float32Array;
        const x = inputs[0] as Float32Array;
        if (!biasInPack) writeBiasRows(y, inputs[2] as Float32Array);
        if (wasm !== undefined && ranOnWasm(fallbacks, wasmGemmPackedB(wasmCtx!, rows, x, 0, K, false, wasm, y, 0, N, act, !biasInPack))) return;
        gemmPackedB(rows, x, 0, K, false, pb, y, 0, N, act, scratch[0] as Float32Array, 0, !biasInPack);
      },
    };
  }
  return {
    outputs,
    detail: withActivation(kind === 'f32' ? 'js sgemm' : 'js dgemm (float64)', act),
    run(inputs, outs) {
      const y = outs[0] as Float32Array | Float64Array;
      writeBiasRows(y, inputs[2] as Float32Array | Float64Array);
      if (kind === 'f32') {
        sgemm(false, false, rows, N, K, 1, inputs[0] as Float32Array, 0, K, inputs[1] as Float32Array, 0, N, 1, y as Float32Array, 0, N);
        applyActivation(act, y as Float32Array, 0, y.length);
      } else {
        dgemmAccumulate(false, false, rows, N, K, 1, inputs[0] as Float64Array, 0, K, inputs[1] as Float64Array, 0, N, y as Float64Array, 0, N);
        activateInPlace(act, y, 0, y.length);
      }
    },
  };
}

export const matMulAddKernel: KernelDef = { opType: 'MatMulAdd', domain: 'tinfer', prepare: prepareMatMulAdd };
