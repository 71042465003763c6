import type { Data, DType } from '../../dtype.js';
import type { Activation } from '../gemm/activation.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat, attrInt } from '../../graph/attributes.js';
import { sgemm } from '../gemm/sgemm.js';
import { gemmPackedB, packB, packedGemmScratchLength, type PackOptions, type PackedWeights } from '../gemm/packed.js';
import { activateInPlace, readFusedActivation } from '../conv/fused-activation.js';
import { uploadWeightsB } from '../conv/wasm-weights.js';
import { wasmGemmPackedB } from '../../wasm/gemm.js';
import { weightsForRows } from './wasm-few-rows.js';
import {
  chooseVariant, kernelError, onWasmOrReference, withActivation, requireInput, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef,
} from '../kernel.js';

/** Element types the GEMM-like kernels compute in: float32 storage goes to sgemm, float64 to plain loops. */
export function floatKind(ctx: PrepareContext, i: number): 'f32' | 'f64' {
  const t = requireInput(ctx, i);
  if (t.dtype === 'float64') return 'f64';
  if (t.dtype === 'float32' || t.dtype === 'float16' || t.dtype === 'bfloat16') return 'f32';
  throw new UnsupportedError(`${nodeLabel(ctx.node)}: input ${i} has dtype ${t.dtype}; only float16/bfloat16/float32/float64 are supported`);
}

/**
 * C (M×N, row stride ldc) += alpha · op(A) · op(B), in float64 with plain loops (the float64 twin of sgemm
 * with beta = 1; the caller has already written beta·C).
 */
export function dgemmAccumulate(
  transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Float64Array, aOff: number, lda: number, B: Float64Array, bOff: number, ldb: number,
  C: Float64Array, cOff: number, ldc: number,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const a = transA ? A[aOff + k * lda + i]! : A[aOff + i * lda + k]!;
        const b = transB ? B[bOff + j * ldb + k]! : B[bOff + k * ldb + j]!;
        s += a * b;
      }
      C[cOff + i * ldc + j]! += alpha * s;
    }
  }
}

// Gemm: A [M, K] (or [K, M] when transA), B [K, N] (or [N, K] when transB), C broadcastable to [M, N]? -> Y [M, N]
// Y = alpha · op(A) · op(B) + beta · C (ONNX Gemm; before opset 7 C broadcasts only when broadcast = 1,
// but every shape the later rule accepts is accepted here too). A fused activation (tinfer.activation) is
// applied in the store; with B constant it is packed once and the packed GEMM's epilogue adds C.
function prepareGemm(ctx: PrepareContext): PreparedKernel {
  const a = requireInput(ctx, 0);
  const b = requireInput(ctx, 1);
  const c = ctx.inputs[2];
  const kind = floatKind(ctx, 0);
  if (floatKind(ctx, 1) !== kind || (c !== undefined && floatKind(ctx, 2) !== kind)) {
    throw kernelError(ctx, `A, B and C must share one dtype, got ${a.dtype}, ${b.dtype}, ${c?.dtype ?? '-'}`);
  }
  if (a.shape.length !== 2 || b.shape.length !== 2) throw kernelError(ctx, `A and B must be 2-D, got [${a.shape}] and [${b.shape}]`);
  const transA = attrInt(ctx.node, 'transA', 0) !== 0;
  const transB = attrInt(ctx.node, 'transB', 0) !== 0;
  const alpha = attrFloat(ctx.node, 'alpha', 1);
  const beta = attrFloat(ctx.node, 'beta', 1);
  const [M, K] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [Kb, N] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (K !== Kb) throw kernelError(ctx, `inner dims differ: op(A) is [${M},${K}], op(B) is [${Kb},${N}]`);
  let cRows = 1;
  let cCols = 1;
  if (c !== undefined) {
    if (c.shape.length > 2) throw kernelError(ctx, `C must have rank <= 2, got [${c.shape}]`);
    cCols = c.shape.length >= 1 ? c.shape[c.shape.length - 1]! : 1;
    cRows = c.shape.length === 2 ? c.shape[0]! : 1;
    if ((cRows !== 1 && cRows !== M) || (cCols !== 1 && cCols !== N)) {
      throw kernelError(ctx, `C [${c.shape}] does not broadcast to [${M},${N}]`);
    }
  }
  const bConst = ctx.constants[1]?.data;
  return chooseVariant(GEMM_VARIANTS, {
    dtype: a.dtype, kind, M, N, K, transA, transB, alpha, beta, hasC: c !== undefined, cRows, cCols,
    act: readFusedActivation(ctx.node), bConst: kind === 'f32' && bConst instanceof Float32Array ? bConst : undefined,
  }, ctx);
}

interface GemmProblem {
  dtype: DType;
  kind: 'f32' | 'f64';
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  hasC: boolean;
  /** C's shape as [cRows, cCols], each 1 or full. */
  cRows: number;
  cCols: number;
  act: Activation;
  /** B when it is a float32 constant (packed once at prepare). */
  bConst: Float32Array | undefined;
}

/** The reference: Y = beta·C, then sgemm (float32 storage) or plain float64 loops accumulate alpha·op(A)·op(B). */
function prepareGemmJs(p: GemmProblem): PreparedKernel {
  const { M, N, K, transA, transB, alpha, beta, cRows, cCols, kind, act } = p;
  const [lda, ldb] = [transA ? M : K, transB ? K : N];
  return {
    outputs: [{ dtype: p.dtype, shape: [M, N] }],
    detail: withActivation(kind === 'f32' ? 'js sgemm' : 'js dgemm (float64)', act),
    run(inputs, outs) {
      const y = outs[0] as Float32Array | Float64Array;
      writeScaledBias(y, M, N, beta, inputs[2], cRows, cCols);
      if (kind === 'f32') {
        sgemm(transA, transB, M, N, K, alpha, inputs[0] as Float32Array, 0, lda, inputs[1] as Float32Array, 0, ldb, 1, y as Float32Array, 0, N);
      } else {
        dgemmAccumulate(transA, transB, M, N, K, alpha, inputs[0] as Float64Array, 0, lda, inputs[1] as Float64Array, 0, ldb, y as Float64Array, 0, N);
      }
      activateInPlace(act, y, 0, y.length);
    },
  };
}

/**
 * B known at prepare: op(B)·alpha packed once; a constant per-column C (the usual Linear bias) goes in the pack,
 * any other C is written first and accumulated onto.
 */
function packedGemm(p: GemmProblem, ctx: PrepareContext) {
  const cConst = ctx.constants[2]?.data as Float32Array | undefined;
  const biasInPack = p.hasC && cConst !== undefined && p.cRows === 1 && p.beta !== 0;
  const bias = biasInPack ? columnBias(cConst, p.cCols, p.N, p.beta) : undefined;
  const ldb = p.transB ? p.K : p.N;
  /** B packed (in the JS GEMM's tile unless options say otherwise). */
  const pack = (options?: PackOptions): PackedWeights => packB(p.bConst!, 0, ldb, p.transB, p.K, p.N, p.alpha, bias === undefined ? undefined : { data: bias }, options);
  const accumulate = p.hasC && p.beta !== 0 && !biasInPack;
  const uploadKey = `gemm-b:${p.transB}:${p.alpha}:${biasInPack ? `${p.beta}:${p.cCols}` : '-'}`;
  return { pack, accumulate, biasInPack, cConst, bias, ldb, uploadKey, lda: p.transA ? p.M : p.K };
}

function prepareGemmPackedJs(p: GemmProblem, ctx: PrepareContext): PreparedKernel {
  const { M, N, transA, beta, cRows, cCols, act } = p;
  const { pack, accumulate, lda } = packedGemm(p, ctx);
  const pb = pack();
  return {
    outputs: [{ dtype: p.dtype, shape: [M, N] }],
    detail: withActivation('js gemm, B packed at prepare', act),
    scratch: [{ dtype: 'float32', length: packedGemmScratchLength(pb, M) }],
    run(inputs, outs, scratch) {
      const y = outs[0] as Float32Array;
      if (accumulate) writeScaledBias(y, M, N, beta, inputs[2], cRows, cCols);
      gemmPackedB(M, inputs[0] as Float32Array, 0, lda, transA, pb, y, 0, N, act, scratch[0] as Float32Array, 0, accumulate);
    },
  };
}

/** The packed B uploaded to wasm memory (once per context and weight), driven by the tile that fits M. */
function prepareGemmPackedWasm(p: GemmProblem, ctx: PrepareContext): PreparedKernel {
  const { M, N, transA, beta, cRows, cCols, act } = p;
  const wasmCtx = ctx.options.wasm!;
  const { accumulate, biasInPack, cConst, bias, ldb, uploadKey, lda } = packedGemm(p, ctx);
  // Packed in the wasm GEMM's tile (only when B is not uploaded yet).
  const uploaded = uploadWeightsB(wasmCtx, uploadKey, p.bConst!, ldb, p.transB, p.K, p.N, p.alpha, bias, biasInPack ? cConst : undefined).packs[0]!;
  const wasm = weightsForRows(wasmCtx, uploaded, M);
  // Views outside wasm memory (a hand-made run): the driver refuses them and the JS sgemm (B and C read as given,
  // no scratch) writes Y again from the start, counted.
  const kernel = onWasmOrReference(prepareGemmJs(p), withActivation(`wasm gemm ${wasm.kernels.name}, B packed at prepare`, act), (inputs, outs) => {
    const y = outs[0] as Float32Array;
    if (accumulate) writeScaledBias(y, M, N, beta, inputs[2], cRows, cCols);
    return wasmGemmPackedB(wasmCtx, M, inputs[0] as Float32Array, 0, lda, transA, wasm, y, 0, N, act, accumulate);
  });
  return { ...kernel, unreadInputs: accumulate ? [1] : [1, 2] };
}

const GEMM_VARIANTS: readonly VariantDef<GemmProblem>[] = [
  { name: (p) => `${p.kind}_gemm__js`, applies: () => true, placement: 'any', prepare: prepareGemmJs },
  // The packed variants keep a packed copy of B (memory, for SessionOptions.memoryLimit).
  { name: 'f32_gemm_packedb__js', applies: (p) => p.bConst !== undefined, placement: 'any', prepare: prepareGemmPackedJs, memory: (p) => 4 * p.bConst!.length },
  {
    name: 'f32_gemm_packedb__wasmsimd', applies: (p, caps) => p.bConst !== undefined && caps.wasm !== undefined, placement: 'wasm', prepare: prepareGemmPackedWasm,
    memory: (p) => 4 * p.bConst!.length,
  },
];

/** beta · C as a per-column bias [N] (C is [cCols] or [1, cCols] with cCols 1 or N). */
function columnBias(c: Float32Array, cCols: number, N: number, beta: number): Float32Array {
  const bias = new Float32Array(N);
  for (let j = 0; j < N; j++) bias[j] = beta * c[cCols === 1 ? 0 : j]!;
  return bias;
}

/** Y[i, j] = beta · C[i or 0, j or 0] (C is [cRows, cCols] with each dim 1 or full), or 0 without C. */
function writeScaledBias(y: Float32Array | Float64Array, M: number, N: number, beta: number, c: Data | undefined, cRows: number, cCols: number): void {
  if (c === undefined || beta === 0) {
    y.fill(0);
    return;
  }
  const cv = c as Float32Array | Float64Array;
  for (let i = 0; i < M; i++) {
    const cr = cRows === 1 ? 0 : i * cCols;
    for (let j = 0; j < N; j++) y[i * N + j] = beta * cv[cr + (cCols === 1 ? 0 : j)]!;
  }
}

export const gemmKernel: KernelDef = { opType: 'Gemm', prepare: prepareGemm };
