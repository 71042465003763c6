import { sizeOf, type TensorType } from '../../dtype.js';
import { attrFloat } from '../../graph/attributes.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import {
  chooseVariant, kernelError, onWasmOrReference, requireInput, type KernelDef, type PrepareContext, type PreparedKernel,
  type ScratchSpec, type VariantDef, viewsInWasm,
} from '../kernel.js';
import { WasmQuantParams, dynamicInt8Kernels } from './dynamic-int8.wasm.js';
import { dynamicUint8Params, quantizeDynamicOnWasm } from './dynamic-quantize-linear.js';
import type { Int8Like } from './igemm.js';
import { checkScalarZeroPoint, planIntegerConv, type ConvOutput } from './integer-conv.js';
import { planWasmQLinearConv, type WasmQLinearConv } from './integer-conv-wasm.js';
import { int8Name, paramIndex, planIntegerMatMul, rowZeroPointWalk, wasmMatMulApplies } from './integer-matmul.js';
import { planWasmIntegerMatMul } from './integer-matmul-wasm.js';
import { quantizeToRange } from './rounding.js';

/**
 * The dynamically quantized MatMul / Conv as onnxruntime's quantize_dynamic writes it, in one node (made by
 * graph/passes/fuse-integer-to-float.ts):
 *   [A, a_scale, a_zp = DynamicQuantizeLinear(X)]
 *   acc = MatMulInteger(A, B, a_zp, b_zp) | ConvInteger(A, B, a_zp, b_zp)
 *   Y   = Add(Mul(Cast(acc, float), Mul(a_scale, b_scale)), bias)
 * computed in the graph's float32 steps, so the result equals the unfused chain's bit for bit:
 *   Y[.., c] = f32(f32(f32(acc) · f32(a_scale · b_scale[c])) + bias[c])
 * then, when the fusion also took a Relu / Clip (attributes clip_min, clip_max), Math.min(Math.max(Y, lo), hi).
 * c is the column (MatMul) or the output channel (Conv); b_scale and bias have 1 or C values.
 * Inputs: [X or A, B, a_scale, b_scale, a_zero_point, b_zero_point, bias]. When input 0 is float32 the
 * DynamicQuantizeLinear is inside (a_scale and a_zero_point are then omitted): X is quantized to uint8 per call into
 * scratch, exactly as that operator does.
 */

const ZERO = new Int32Array(1);
const A_SCALE = 2;
const B_SCALE = 3;
const A_ZP = 4;
const B_ZP = 5;
const BIAS = 6;

/** The quantized A as the integer kernels see it: uint8 when the quantization is fused, else input 0 itself. */
function integerContext(ctx: PrepareContext): PrepareContext {
  const x = requireInput(ctx, 0);
  if (x.dtype !== 'float32') return ctx;
  if (ctx.inputs[A_SCALE] !== undefined || ctx.inputs[A_ZP] !== undefined) {
    throw kernelError(ctx, 'a float32 input is quantized inside: a_scale and a_zero_point must be omitted');
  }
  const inputs: (TensorType | undefined)[] = [...ctx.inputs];
  inputs[0] = { dtype: 'uint8', shape: x.shape };
  return { ...ctx, inputs };
}

/** Checks that b_scale and bias have 1 or `channels` values; returns the counts. */
function checkChannelParams(ctx: PrepareContext, channels: number): void {
  for (const [i, name] of [[B_SCALE, 'b_scale'], [BIAS, 'bias']] as const) {
    const t = ctx.inputs[i];
    if (t === undefined) {
      if (i === B_SCALE) throw kernelError(ctx, 'b_scale is required');
      continue;
    }
    if (t.dtype !== 'float32') throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${name} must be float32, got ${t.dtype}`);
    const n = sizeOf(t.shape);
    if (n !== 1 && n !== channels) throw kernelError(ctx, `${name} must have 1 or ${channels} values, got [${t.shape}]`);
  }
  const aScale = ctx.inputs[A_SCALE];
  if (aScale !== undefined && sizeOf(aScale.shape) !== 1) throw kernelError(ctx, `a_scale must be a scalar, got [${aScale.shape}]`);
}

/**
 * The fused clamp of a Relu / Clip that followed the chain (attributes clip_min, clip_max set by the fusion),
 * applied as the Clip kernel does: Math.min(Math.max(v, lo), hi).
 */
function clampOf(ctx: PrepareContext): [number, number] {
  return [attrFloat(ctx.node, 'clip_min', -Infinity), attrFloat(ctx.node, 'clip_max', Infinity)];
}

/** mult[c] = f32(a_scale · b_scale[c]) as the graph's Mul(a_scale, b_scale). */
function writeMultipliers(aScale: number, bScale: Float32Array, mult: Float32Array): void {
  for (let c = 0; c < mult.length; c++) mult[c] = Math.fround(aScale * bScale[bScale.length === 1 ? 0 : c]!);
}

/** The per-channel bias with stride 0 for a single value, for the wasm stores. */
function biasStride(bias: Float32Array | undefined): number {
  return bias === undefined || bias.length === 1 ? 0 : 1;
}

function quantizeInJs(x: Float32Array, bytes: Uint8Array, out: { scale: number; zp: Int32Array }): void {
  const { scale, zeroPoint } = dynamicUint8Params(x);
  for (let i = 0; i < x.length; i++) bytes[i] = quantizeToRange(Math.fround(x[i]! / scale), zeroPoint, 0, 255);
  out.scale = scale;
  out.zp[0] = zeroPoint;
}

// ---- MatMulIntegerToFloat ----

interface MatMulProblem {
  ctx: PrepareContext;
  ictx: PrepareContext;
  fusedQuantize: boolean;
}

// X f32 [..., M, K] | A 8-bit [..., M, K], B 8-bit [K, N], b_scale [] | [N], bias [N] -> Y f32 [..., M, N]
function prepareMatMulReference(p: MatMulProblem): PreparedKernel {
  const plan = planIntegerMatMul(p.ictx, 0, 1, A_ZP, B_ZP);
  const { M, K, N } = plan.shape;
  const batches = plan.shape.aBatchOf.length;
  const rows = batches * M;
  checkChannelParams(p.ctx, N);
  const fused = p.fusedQuantize;
  const scratch: ScratchSpec[] = [{ dtype: 'int32', length: rows * N }, ...(fused ? [{ dtype: 'uint8' as const, length: plan.shape.aBatches * M * K }] : []), ...plan.scratch];
  const base = fused ? 2 : 1;
  const mult = new Float32Array(N);
  const q = { scale: 0, zp: new Int32Array(1) };
  const [lo, hi] = clampOf(p.ctx);
  return {
    outputs: [{ dtype: 'float32', shape: plan.shape.outShape }],
    scratch,
    run(inputs, outputs, scr) {
      const acc = scr[0] as Int32Array;
      let a = inputs[0] as Int8Like;
      let aZp: ArrayLike<number> = (inputs[A_ZP] as Int8Like | undefined) ?? ZERO;
      let aScale: number;
      if (fused) {
        a = scr[1] as Uint8Array;
        quantizeInJs(inputs[0] as Float32Array, a, q);
        aZp = q.zp;
        aScale = q.scale;
      } else aScale = (inputs[A_SCALE] as Float32Array)[0]!;
      const bZp = (inputs[B_ZP] as Int8Like | undefined) ?? ZERO;
      const packed = plan.packB(inputs[1] as Int8Like, scr, base);
      for (let t = 0; t < batches; t++) plan.accumulate(t, a, packed, aZp, bZp, scr[base] as Int32Array, acc, t * M * N);
      writeMultipliers(aScale, inputs[B_SCALE] as Float32Array, mult);
      const bias = inputs[BIAS] as Float32Array | undefined;
      const y = outputs[0] as Float32Array;
      const bs = biasStride(bias);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < N; c++) {
          const v = Math.fround(acc[r * N + c]! * mult[c]!);
          y[r * N + c] = Math.min(Math.max(bias === undefined ? v : Math.fround(v + bias[c * bs]!), lo), hi);
        }
      }
    },
  };
}

function prepareMatMulWasm(p: MatMulProblem, ctx: PrepareContext): PreparedKernel {
  const reference = prepareMatMulReference(p);
  const plan = planIntegerMatMul(p.ictx, 0, 1, A_ZP, B_ZP);
  const { M, K, N } = plan.shape;
  const rows = plan.shape.aBatchOf.length * M;
  const wasm = ctx.options.wasm!;
  const gemm = planWasmIntegerMatMul(wasm, rows, K, N, p.ictx.inputs[0]!.dtype === 'int8', {
    data: ctx.constants[1]!.data as Int8Like, zp: ctx.constants[B_ZP]?.data as Int8Like | undefined,
  }, 'f32affine', ...clampOf(ctx))!;
  const aZpIdx = paramIndex(p.ictx, 'a_zero_point', p.ictx.inputs[A_ZP], M, plan.shape.aBatches);
  const [zaStride, zaPeriod] = rowZeroPointWalk(aZpIdx, rows, M);
  const dyn = dynamicInt8Kernels(wasm)!;
  const params = new WasmQuantParams(wasm, 1);
  const scaleOut = new Float32Array(1);
  const zpOut = new Int32Array(1);
  const mult = new Float32Array(N);
  const fused = p.fusedQuantize;
  return onWasmOrReference(reference, `${fused ? 'wasm minmax + quantize, ' : ''}${gemm.detail}`, (inputs, outputs, scratch) => {
    const y = outputs[0] as Float32Array;
    let a = inputs[0] as Int8Like;
    let aScale: number;
    let aZp: ArrayLike<number>;
    if (fused) {
      const x = inputs[0] as Float32Array;
      a = scratch[1] as Uint8Array;
      if (!viewsInWasm(wasm, x, a, y)) return false;
      const q = quantizeDynamicOnWasm(dyn, params, x, a as Uint8Array, scaleOut);
      aScale = q.scale;
      zpOut[0] = q.zeroPoint;
      aZp = zpOut;
    } else {
      aScale = (inputs[A_SCALE] as Float32Array)[0]!;
      aZp = (inputs[A_ZP] as Int8Like | undefined) ?? ZERO;
    }
    writeMultipliers(aScale, inputs[B_SCALE] as Float32Array, mult);
    const bias = inputs[BIAS] as Float32Array | undefined;
    return gemm.run(a, aZp, zaStride, zaPeriod, y, bias, biasStride(bias), mult);
  });
}

const MATMUL_VARIANTS: readonly VariantDef<MatMulProblem>[] = [
  { name: (p) => `${p.fusedQuantize ? 'f32' : int8Name(p.ctx, 0)}${int8Name(p.ctx, 1)}_matmulintegertofloat__ref`, applies: () => true, placement: 'any', prepare: prepareMatMulReference },
  {
    name: (p) => `${p.fusedQuantize ? 'f32' : int8Name(p.ctx, 0)}${int8Name(p.ctx, 1)}_matmulintegertofloat__wasmsimd`,
    applies: (p, caps) => {
      if (dynamicInt8Kernels(caps.wasm) === undefined) return false;
      const plan = planIntegerMatMul(p.ictx, 0, 1, A_ZP, B_ZP);
      return wasmMatMulApplies(p.ictx, 1, B_ZP, plan.shape, caps);
    },
    placement: 'wasm',
    prepare: prepareMatMulWasm,
  },
];

function prepareMatMulIntegerToFloat(ctx: PrepareContext): PreparedKernel {
  const ictx = integerContext(ctx);
  return chooseVariant(MATMUL_VARIANTS, { ctx, ictx, fusedQuantize: ictx !== ctx }, ctx);
}

// ---- ConvIntegerToFloat ----

interface ConvProblem {
  ctx: PrepareContext;
  ictx: PrepareContext;
  fusedQuantize: boolean;
  /** The wasm GEMM plan, made on first ask (it uploads the packed weights). */
  wasm(): WasmQLinearConv | undefined;
}

// X f32 [N, C, ...] | A u8 [N, C, ...], W 8-bit [M, C/group, ...k], w_scale [] | [M], bias [M] -> Y f32 [N, M, ...out]
function prepareConvReference(p: ConvProblem): PreparedKernel {
  checkScalarZeroPoint(p.ictx, A_ZP, 'x_zero_point');
  const plan = planIntegerConv(p.ictx, 0, 1, B_ZP);
  checkChannelParams(p.ctx, plan.M);
  const { M, P } = plan;
  const batch = plan.outShape[0]!;
  const wZpType = p.ctx.inputs[B_ZP];
  const wZpStride = wZpType !== undefined && sizeOf(wZpType.shape) > 1 ? 1 : 0;
  const fused = p.fusedQuantize;
  const xCount = sizeOf(p.ictx.inputs[0]!.shape);
  const out: ConvOutput = { y: new Int32Array(0), requantize: false, bias: undefined, multipliers: new Float32Array(M), yZp: 0, lo: 0, hi: 0 };
  const mult = new Float32Array(M);
  const q = { scale: 0, zp: new Int32Array(1) };
  const [lo, hi] = clampOf(p.ctx);
  return {
    outputs: [{ dtype: 'float32', shape: plan.outShape }],
    scratch: [{ dtype: 'int32', length: batch * M * P }, ...(fused ? [{ dtype: 'uint8' as const, length: xCount }] : [])],
    run(inputs, outputs, scr) {
      let x = inputs[0] as Int8Like;
      let zx: number;
      let xScale: number;
      if (fused) {
        x = scr[1] as Uint8Array;
        quantizeInJs(inputs[0] as Float32Array, x, q);
        zx = q.zp[0]!;
        xScale = q.scale;
      } else {
        zx = ((inputs[A_ZP] as Int8Like | undefined) ?? ZERO)[0]!;
        xScale = (inputs[A_SCALE] as Float32Array)[0]!;
      }
      const w = inputs[1] as Int8Like;
      const wZp = (inputs[B_ZP] as Int8Like | undefined) ?? ZERO;
      out.y = scr[0] as Int32Array;
      plan.prepareWeights(w, wZp, wZpStride);
      for (let n = 0; n < batch; n++) for (let g = 0; g < plan.group; g++) plan.convolve(n, g, x, zx, wZp, wZpStride, out);
      writeMultipliers(xScale, inputs[B_SCALE] as Float32Array, mult);
      const bias = inputs[BIAS] as Float32Array | undefined;
      const bs = biasStride(bias);
      const acc = out.y;
      const y = outputs[0] as Float32Array;
      for (let n = 0; n < batch; n++) {
        for (let m = 0; m < M; m++) {
          const s = mult[m]!;
          const b = bias === undefined ? 0 : bias[m * bs]!;
          const o = (n * M + m) * P;
          for (let i = o; i < o + P; i++) {
            const v = Math.fround(acc[i]! * s);
            y[i] = Math.min(Math.max(bias === undefined ? v : Math.fround(v + b), lo), hi);
          }
        }
      }
    },
  };
}

function prepareConvWasm(p: ConvProblem, ctx: PrepareContext): PreparedKernel {
  const reference = prepareConvReference(p);
  const conv = p.wasm()!;
  const wasm = ctx.options.wasm!;
  const dyn = dynamicInt8Kernels(wasm)!;
  const params = new WasmQuantParams(wasm, 1);
  const scaleOut = new Float32Array(1);
  const M = reference.outputs[0]!.shape[1]!;
  const mult = new Float32Array(M);
  const biasValues = new Float32Array(M);
  const fused = p.fusedQuantize;
  return onWasmOrReference(reference, `${fused ? 'wasm minmax + quantize, ' : ''}${conv.detail}`, (inputs, outputs, scratch) => {
    const y = outputs[0] as Float32Array;
    let x = inputs[0] as Int8Like;
    let zx: number;
    let xScale: number;
    if (fused) {
      const xf = inputs[0] as Float32Array;
      x = scratch[1] as Uint8Array;
      if (!viewsInWasm(wasm, xf, x)) return false;
      const q = quantizeDynamicOnWasm(dyn, params, xf, x as Uint8Array, scaleOut);
      zx = q.zeroPoint;
      xScale = q.scale;
    } else {
      zx = ((inputs[A_ZP] as Int8Like | undefined) ?? ZERO)[0]!;
      xScale = (inputs[A_SCALE] as Float32Array)[0]!;
    }
    writeMultipliers(xScale, inputs[B_SCALE] as Float32Array, mult);
    const bias = inputs[BIAS] as Float32Array | undefined;
    const bs = biasStride(bias);
    for (let m = 0; m < M; m++) biasValues[m] = bias === undefined ? 0 : bias[m * bs]!;
    return conv.run(x, zx, y, 0, biasValues, mult);
  });
}

const CONV_VARIANTS: readonly VariantDef<ConvProblem>[] = [
  { name: (p) => `${p.fusedQuantize ? 'f32' : int8Name(p.ctx, 0)}${int8Name(p.ctx, 1)}_convintegertofloat__ref`, applies: () => true, placement: 'any', prepare: prepareConvReference },
  {
    name: (p) => `${p.fusedQuantize ? 'f32' : int8Name(p.ctx, 0)}${int8Name(p.ctx, 1)}_convintegertofloat__wasmsimd`,
    applies: (p, caps) => dynamicInt8Kernels(caps.wasm) !== undefined && p.wasm()?.narrow === false,
    placement: 'wasm',
    prepare: prepareConvWasm,
  },
  {
    // Fewer than 8 output positions (squeeze-excitation 1×1 convolutions after a global pool): the int8 GEMV.
    name: (p) => `${p.fusedQuantize ? 'f32' : int8Name(p.ctx, 0)}${int8Name(p.ctx, 1)}_convintegertofloat_gemv__wasmsimd`,
    applies: (p, caps) => dynamicInt8Kernels(caps.wasm) !== undefined && p.wasm()?.narrow === true,
    placement: 'wasm',
    prepare: prepareConvWasm,
  },
];

function prepareConvIntegerToFloat(ctx: PrepareContext): PreparedKernel {
  const ictx = integerContext(ctx);
  let wasm: WasmQLinearConv | undefined | null = null;
  const wasmPlan = () => (wasm === null ? (wasm = planWasmQLinearConv(ictx, 1, B_ZP, ...clampOf(ctx), 'f32affine')) : wasm);
  return chooseVariant(CONV_VARIANTS, { ctx, ictx, fusedQuantize: ictx !== ctx, wasm: wasmPlan }, ctx);
}

export const integerToFloatKernels: KernelDef[] = [
  { opType: 'MatMulIntegerToFloat', domain: 'tinfer', prepare: prepareMatMulIntegerToFloat },
  { opType: 'ConvIntegerToFloat', domain: 'tinfer', prepare: prepareConvIntegerToFloat },
];
