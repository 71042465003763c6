import { sizeOf, type DType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat, attrInt } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel, type ScratchSpec } from '../kernel.js';
import { applyZeroPointCorrections, igemmABt, rowSums, type Int8Like } from './igemm.js';
import { planWasmRightConstantGemm } from './igemm-wasm.js';
import { fusedOutputRange } from './params.js';
import { integerRange, requantize } from './rounding.js';

const ZERO: Int32Array = new Int32Array(1);

/** dst[j·rows + i] = src[i·cols + j]: a rows×cols 8-bit matrix transposed. */
function transpose8(src: Int8Like, rows: number, cols: number, dst: Int8Like): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j]!;
}

/** Strides of an int32 bias C broadcast to [M, N] (Gemm's unidirectional broadcasting). */
function biasStrides(ctx: PrepareContext, shape: number[], M: number, N: number): [number, number] {
  const dims = [...new Array<number>(Math.max(0, 2 - shape.length)).fill(1), ...shape];
  const [cm, cn] = dims.slice(-2) as [number, number];
  if (dims.length > 2 || (cm !== 1 && cm !== M) || (cn !== 1 && cn !== N)) {
    throw kernelError(ctx, `C [${shape}] does not broadcast to [${M}, ${N}]`);
  }
  return [cm === 1 ? 0 : cn, cn === 1 ? 0 : 1];
}

// com.microsoft QGemm: acc = (A' - a_zp)(B' - b_zp) + C in int32 (A' = transA ? Aᵀ : A, likewise B');
// with y_scale: y = saturate(round(acc · alpha·a_scale·b_scale / y_scale) + y_zp), else float y = acc · alpha·a_scale·b_scale.
// A [M, K] or [K, M], B [K, N] or [N, K], b_scale / b_zero_point [] | [N], C int32 broadcast to [M, N] -> Y [M, N]
function prepareQGemm(ctx: PrepareContext): PreparedKernel {
  const a = requireInput(ctx, 0);
  const b = requireInput(ctx, 3);
  for (const [name, t] of [['A', a], ['B', b]] as const) {
    if (t.dtype !== 'uint8' && t.dtype !== 'int8') throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${name} must be uint8 or int8, got ${t.dtype}`);
    if (t.shape.length !== 2) throw kernelError(ctx, `${name} must be 2-D, got [${t.shape}]`);
  }
  const transA = attrInt(ctx.node, 'transA', 0) !== 0;
  const transB = attrInt(ctx.node, 'transB', 0) !== 0;
  const alpha = Math.fround(attrFloat(ctx.node, 'alpha', 1));
  const [M, K] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [Kb, N] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (K !== Kb) throw kernelError(ctx, `inner dims differ: A [${a.shape}] (transA ${+transA}) and B [${b.shape}] (transB ${+transB})`);
  for (const i of [1, 2]) {
    const t = ctx.inputs[i];
    if (t !== undefined && sizeOf(t.shape) !== 1) throw new UnsupportedError(`${nodeLabel(ctx.node)}: a_scale / a_zero_point must be scalars`);
  }
  const bParams = sizeOf(requireInput(ctx, 4).shape);
  if (bParams !== 1 && bParams !== N) throw kernelError(ctx, `b_scale must be a scalar or have ${N} elements`);
  const bZpCount = ctx.inputs[5] === undefined ? 1 : sizeOf(ctx.inputs[5].shape);
  if (bZpCount !== 1 && bZpCount !== N) throw kernelError(ctx, `b_zero_point must be a scalar or have ${N} elements`);
  const cType = ctx.inputs[6];
  if (cType !== undefined && cType.dtype !== 'int32') throw kernelError(ctx, `C must be int32, got ${cType.dtype}`);
  const [cRowStride, cColStride] = cType === undefined ? [0, 0] : biasStrides(ctx, cType.shape, M, N);
  const quantizedOutput = ctx.inputs[7] !== undefined;
  const outType: DType = quantizedOutput ? (ctx.inputs[8]?.dtype ?? a.dtype) : 'float32';
  const [typeLo, typeHi] = integerRange(outType) ?? [0, 0];
  const [lo, hi] = fusedOutputRange(ctx, typeLo, typeHi);

  // Bᵀ [N, K] is the layout igemmABt reads: B itself when transB, else transposed (once, when B is constant).
  const bConst = ctx.constants[3];
  let packedB: Int8Like | undefined;
  const bSums = new Int32Array(N);
  if (bConst !== undefined) {
    const data = bConst.data as Int8Like;
    packedB = transB ? data : b.dtype === 'int8' ? new Int8Array(N * K) : new Uint8Array(N * K);
    if (!transB) transpose8(data, K, N, packedB);
    rowSums(N, K, packedB, 0, K, bSums, 0);
  }
  const scratch: ScratchSpec[] = [
    { dtype: 'int32', length: M * N },
    { dtype: 'int32', length: M },
    { dtype: a.dtype, length: transA ? M * K : 1 },
    { dtype: b.dtype, length: packedB === undefined && !transB ? N * K : 1 },
  ];
  const scales = new Float32Array(N);
  // Constant B, bias per column (or none): the wasm int8 GEMM with the requantization (or float scaling) fused.
  const bZpConst = ctx.constants[5]?.data as Int8Like | undefined;
  const wasmGemm = bConst !== undefined && !transA && cRowStride === 0 && (ctx.inputs[5] === undefined || bZpConst !== undefined)
    ? planWasmRightConstantGemm(ctx.options.wasm, M, K, N, {
      data: bConst.data as Int8Like, kStride: transB ? 1 : N, nStride: transB ? K : 1, zp: bZpConst ?? ZERO, zpStride: bZpCount === 1 ? 0 : 1, zpData: bZpConst,
    }, lo, hi, !quantizedOutput)
    : undefined;
  return {
    outputs: [{ dtype: outType, shape: [M, N] }],
    detail: wasmGemm?.detail ?? 'js int8 gemm',
    scratch,
    run(inputs, outputs, scr) {
      if (wasmGemm !== undefined) {
        const aScale = (inputs[1] as Float32Array)[0]!;
        const bScale = inputs[4] as Float32Array;
        for (let j = 0; j < N; j++) {
          const s = Math.fround(Math.fround(alpha * aScale) * bScale[bParams === 1 ? 0 : j]!);
          scales[j] = quantizedOutput ? Math.fround(s / (inputs[7] as Float32Array)[0]!) : s;
        }
        const aZp = inputs[2] === undefined ? 0 : (inputs[2] as Int8Like)[0]!;
        const yZp = inputs[8] === undefined ? 0 : (inputs[8] as Int8Like)[0]!;
        if (wasmGemm.run(inputs[0] as Int8Like, aZp, outputs[0] as Int8Like | Float32Array, yZp, inputs[6] as Int32Array | undefined, cColStride, scales)) return;
      }
      const acc = scr[0] as Int32Array;
      const aSums = scr[1] as Int32Array;
      let A = inputs[0] as Int8Like;
      if (transA) {
        transpose8(A, K, M, scr[2] as Int8Like);
        A = scr[2] as Int8Like;
      }
      let Bt = packedB;
      if (Bt === undefined) {
        Bt = transB ? (inputs[3] as Int8Like) : (scr[3] as Int8Like);
        if (!transB) transpose8(inputs[3] as Int8Like, K, N, Bt);
        rowSums(N, K, Bt, 0, K, bSums, 0);
      }
      const aZp = (inputs[2] as Int8Like | undefined) ?? ZERO;
      const bZp = (inputs[5] as Int8Like | undefined) ?? ZERO;
      igemmABt(M, N, K, A, 0, K, Bt, 0, K, acc, 0, N);
      rowSums(M, K, A, 0, K, aSums, 0);
      applyZeroPointCorrections(M, N, K, acc, 0, N, aZp, 0, 0, aSums, 0, bZp, 0, bZpCount === 1 ? 0 : 1, bSums, 0);
      // Output scale per column: alpha·a_scale·b_scale[j] (/ y_scale), float32 steps in onnxruntime's order.
      const aScale = (inputs[1] as Float32Array)[0]!;
      const bScale = inputs[4] as Float32Array;
      for (let j = 0; j < N; j++) {
        const s = Math.fround(Math.fround(alpha * aScale) * bScale[bParams === 1 ? 0 : j]!);
        scales[j] = quantizedOutput ? Math.fround(s / (inputs[7] as Float32Array)[0]!) : s;
      }
      const C = inputs[6] as Int32Array | undefined;
      const yZp = inputs[8] === undefined ? 0 : (inputs[8] as Int8Like)[0]!;
      const Y = outputs[0] as Float32Array | Int8Like;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          const v = acc[i * N + j]! + (C === undefined ? 0 : C[i * cRowStride + j * cColStride]!);
          Y[i * N + j] = quantizedOutput ? requantize(v, scales[j]!, yZp, lo, hi) : Math.fround(Math.fround(v) * scales[j]!);
        }
      }
    },
  };
}

export const qgemmKernels: KernelDef[] = [
  { opType: 'QGemm', domain: 'com.microsoft', prepare: prepareQGemm },
  // QGemm followed by a clamp of the quantized output (output_min / output_max): made by the QDQ fusion.
  { opType: 'QGemm', domain: 'tinfer', prepare: prepareQGemm },
];
