import { sizeOf, type DType, type TensorType } from '../../dtype.js';
import { applyActivation, type Activation } from '../gemm/activation.js';
import { gemmPackedB, packB, packedGemmScratchLength, type PackOptions } from '../gemm/packed.js';
import { sgemm } from '../gemm/sgemm.js';
import { activateInPlace, readFusedActivation } from '../conv/fused-activation.js';
import { uploadWeightsB } from '../conv/wasm-weights.js';
import { wasmGemmPackedB } from '../../wasm/gemm.js';
import { weightsForRows } from './wasm-few-rows.js';
import {
  chooseVariant, kernelError, onWasmOrReference, withActivation, requireInput, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef,
} from '../kernel.js';
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
  const bConst = ctx.constants[1]?.data;
  const cConst = ctx.constants[2]?.data;
  return chooseVariant(MATMUL_ADD_VARIANTS, {
    dtype: a.dtype, kind, rows, N, K, act: readFusedActivation(ctx.node),
    bConst: kind === 'f32' && bConst instanceof Float32Array ? bConst : undefined,
    cConst: cConst instanceof Float32Array ? cConst : undefined,
  }, ctx);
}

interface MatMulAddProblem {
  dtype: DType;
  kind: 'f32' | 'f64';
  /** A's leading dims folded into the GEMM's rows. */
  rows: number;
  N: number;
  K: number;
  act: Activation;
  /** B when it is a float32 constant (packed once); C likewise (then it goes into the pack). */
  bConst: Float32Array | undefined;
  cConst: Float32Array | undefined;
}

function outputsOf(p: MatMulAddProblem, ctx: PrepareContext): TensorType[] {
  const a = ctx.inputs[0]!;
  return [{ dtype: p.dtype, shape: [...a.shape.slice(0, -1), p.N] }];
}

/** Each output row starts as C; the GEMM accumulates onto it. */
function writeBiasRows(y: Float32Array | Float64Array, bias: Float32Array | Float64Array, rows: number, N: number): void {
  for (let r = 0; r < rows; r++) y.set(bias, r * N);
}

/** The reference: Y = C per row, then sgemm (float32 storage) or float64 loops accumulate A·B, then act. */
function prepareMatMulAddJs(p: MatMulAddProblem, ctx: PrepareContext): PreparedKernel {
  const { kind, rows, N, K, act } = p;
  return {
    outputs: outputsOf(p, ctx),
    detail: withActivation(kind === 'f32' ? 'js sgemm' : 'js dgemm (float64)', act),
    run(inputs, outs) {
      const y = outs[0] as Float32Array | Float64Array;
      writeBiasRows(y, inputs[2] as Float32Array | Float64Array, rows, N);
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

function packMatMulAddB(p: MatMulAddProblem, options?: PackOptions) {
  return packB(p.bConst!, 0, p.N, false, p.K, p.N, 1, p.cConst !== undefined ? { data: p.cConst } : undefined, options);
}

/** B packed once at prepare (a constant C in the pack, added in the store), the JS packed GEMM. */
function prepareMatMulAddPackedJs(p: MatMulAddProblem, ctx: PrepareContext): PreparedKernel {
  const { rows, N, K, act } = p;
  const biasInPack = p.cConst !== undefined;
  const pb = packMatMulAddB(p);
  return {
    outputs: outputsOf(p, ctx),
    detail: withActivation(`js gemm, B packed at prepare${biasInPack ? ', bias in pack' : ''}`, act),
    scratch: [{ dtype: 'float32', length: packedGemmScratchLength(pb, rows) }],
    run(inputs, outs, scratch) {
      const y = outs[0] as Float32Array;
      if (!biasInPack) writeBiasRows(y, inputs[2] as Float32Array, rows, N);
      gemmPackedB(rows, inputs[0] as Float32Array, 0, K, false, pb, y, 0, N, act, scratch[0] as Float32Array, 0, !biasInPack);
    },
  };
}

/** The same pack uploaded to wasm memory, driven by the tile that fits the rows. */
function prepareMatMulAddPackedWasm(p: MatMulAddProblem, ctx: PrepareContext): PreparedKernel {
  const { rows, N, K, act } = p;
  const biasInPack = p.cConst !== undefined;
  const wasmCtx = ctx.options.wasm!;
  // Packed in the wasm GEMM's tile (only when B is not uploaded yet).
  const uploaded = uploadWeightsB(wasmCtx, 'matmul-add-b', p.bConst!, p.N, false, p.K, p.N, 1, p.cConst, p.cConst).packs[0]!;
  const wasm = weightsForRows(wasmCtx, uploaded, rows);
  const detail = withActivation(`wasm gemm ${wasm.kernels.name}, B packed at prepare${biasInPack ? ', bias in pack' : ''}`, act);
  // Views outside wasm memory (a hand-made run): the driver refuses them and the JS sgemm (B and C read as given,
  // no scratch) writes Y again from the start, counted.
  const kernel = onWasmOrReference(prepareMatMulAddJs(p, ctx), detail, (inputs, outs) => {
    const y = outs[0] as Float32Array;
    if (!biasInPack) writeBiasRows(y, inputs[2] as Float32Array, rows, N);
    return wasmGemmPackedB(wasmCtx, rows, inputs[0] as Float32Array, 0, K, false, wasm, y, 0, N, act, !biasInPack);
  });
  return { ...kernel, unreadInputs: biasInPack ? [1, 2] : [1] };
}

const packedBytes = (p: MatMulAddProblem): number => 4 * (p.bConst!.length + (p.cConst?.length ?? 0));

const MATMUL_ADD_VARIANTS: readonly VariantDef<MatMulAddProblem>[] = [
  { name: (p) => `${p.kind}_matmuladd__js`, applies: () => true, placement: 'any', prepare: prepareMatMulAddJs },
  // The packed variants keep a packed copy of B and the bias (memory, for SessionOptions.memoryLimit).
  { name: 'f32_matmuladd_packedb__js', applies: (p) => p.bConst !== undefined, placement: 'any', prepare: prepareMatMulAddPackedJs, memory: packedBytes },
  {
    name: 'f32_matmuladd_packedb__wasmsimd', applies: (p, caps) => p.bConst !== undefined && caps.wasm !== undefined, placement: 'wasm', prepare: prepareMatMulAddPackedWasm,
    memory: packedBytes,
  },
];

export const matMulAddKernel: KernelDef = { opType: 'MatMulAdd', domain: 'tinfer', prepare: prepareMatMulAdd };
