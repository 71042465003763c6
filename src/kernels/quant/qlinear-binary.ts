import { sizeOf } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import type { Int8Like } from './igemm.js';
import { int8Kernels } from './igemm-wasm.js';
import { scalarOf } from './lookup-table.js';
import { integerRange, quantizeToRange } from './rounding.js';

/** Numpy broadcasting of two shapes: the output shape and each input's element strides over it (0 on broadcast dims). */
function broadcastStrides(ctx: PrepareContext, a: number[], b: number[]) {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  const aStrides = new Array<number>(rank).fill(0);
  const bStrides = new Array<number>(rank).fill(0);
  let sa = 1;
  let sb = 1;
  for (let d = rank - 1; d >= 0; d--) {
    const da = a[d - (rank - a.length)] ?? 1;
    const db = b[d - (rank - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw kernelError(ctx, `shapes [${a}] and [${b}] do not broadcast`);
    out[d] = da === 1 ? db : da;
    aStrides[d] = da === 1 ? 0 : sa;
    bStrides[d] = db === 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
  return { out, aStrides, bStrides };
}

/**
 * com.microsoft QLinearAdd / QLinearMul: C = quantize(dequantize(A) ∘ dequantize(B)) with numpy broadcasting.
 * Inputs: A, A_scale, A_zero_point?, B, B_scale, B_zero_point?, C_scale, C_zero_point?; all per tensor.
 * Float steps in float32 as onnxruntime's reference kernels (MlasQLinearAdd's scalar path).
 */
function prepareQLinearBinary(ctx: PrepareContext, combine: (a: number, b: number) => number, op: 'add' | 'mul'): PreparedKernel {
  const a = requireInput(ctx, 0);
  const b = requireInput(ctx, 3);
  if ((a.dtype !== 'uint8' && a.dtype !== 'int8') || b.dtype !== a.dtype) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: A and B must both be uint8 or both int8, got ${a.dtype} and ${b.dtype}`);
  }
  for (const i of [1, 2, 4, 5, 6, 7]) {
    const t = ctx.inputs[i];
    if (t !== undefined && sizeOf(t.shape) !== 1) {
      throw new UnsupportedError(`${nodeLabel(ctx.node)}: input ${i} must be a scalar (per-tensor quantization)`);
    }
  }
  const [lo, hi] = integerRange(a.dtype)!;
  const { out, aStrides, bStrides } = broadcastStrides(ctx, a.shape, b.shape);
  const rank = out.length;
  const total = sizeOf(out);
  const inner = rank === 0 ? 1 : out[rank - 1]!;
  const innerA = rank === 0 ? 0 : aStrides[rank - 1]!;
  const innerB = rank === 0 ? 0 : bStrides[rank - 1]!;
  const counter = new Array<number>(rank).fill(0);
  // Equal shapes (a residual Add): whole vectors of four on wasm SIMD, the last n mod 4 in JS below.
  const kernels = int8Kernels(ctx.options.wasm);
  const wasmKernel = kernels !== undefined && sizeOf(a.shape) === total && sizeOf(b.shape) === total ? kernels[op] : undefined;
  const wasmMemory = ctx.options.wasm?.memory;
  return {
    outputs: [{ dtype: a.dtype, shape: out }],
    // Each C element is written after the A element at the same index is read, so C may overwrite an unbroadcast A.
    inPlace: sizeOf(a.shape) === total ? 0 : undefined,
    run(inputs, outputs) {
      const A = inputs[0] as Int8Like;
      const B = inputs[3] as Int8Like;
      const C = outputs[0] as Int8Like;
      const sa = scalarOf(inputs[1]);
      const za = scalarOf(inputs[2]);
      const sb = scalarOf(inputs[4]);
      const zb = scalarOf(inputs[5]);
      const sc = scalarOf(inputs[6]);
      const zc = scalarOf(inputs[7]);
      if (wasmKernel !== undefined && A.buffer === wasmMemory!.buffer && B.buffer === A.buffer && C.buffer === A.buffer) {
        const flip = a.dtype === 'uint8' ? 0x80 : 0;
        wasmKernel(A.byteOffset, B.byteOffset, C.byteOffset, total, flip, za - flip, zb - flip, sa, sb, sc, zc, lo, hi);
        for (let i = total - (total % 4); i < total; i++) {
          C[i] = quantizeToRange(Math.fround(combine(Math.fround(sa * (A[i]! - za)), Math.fround(sb * (B[i]! - zb))) / sc), zc, lo, hi);
        }
        return;
      }
      counter.fill(0);
      let ia = 0;
      let ib = 0;
      for (let o = 0; o < total; o += inner) {
        for (let j = 0; j < inner; j++) {
          const va = Math.fround(sa * (A[ia + j * innerA]! - za));
          const vb = Math.fround(sb * (B[ib + j * innerB]! - zb));
          C[o + j] = quantizeToRange(Math.fround(combine(va, vb) / sc), zc, lo, hi);
        }
        // Advance the odometer over the outer dims, moving each input by its strides.
        for (let d = rank - 2; d >= 0; d--) {
          counter[d]!++;
          ia += aStrides[d]!;
          ib += bStrides[d]!;
          if (counter[d]! < out[d]!) break;
          ia -= aStrides[d]! * out[d]!;
          ib -= bStrides[d]! * out[d]!;
          counter[d] = 0;
        }
      }
    },
  };
}

export const qlinearBinaryKernels: KernelDef[] = [
  { opType: 'QLinearAdd', domain: 'com.microsoft', prepare: (ctx) => prepareQLinearBinary(ctx, (x, y) => Math.fround(x + y), 'add') },
  { opType: 'QLinearMul', domain: 'com.microsoft', prepare: (ctx) => prepareQLinearBinary(ctx, (x, y) => Math.fround(x * y), 'mul') },
];
