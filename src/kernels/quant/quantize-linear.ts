import { ONNX_DTYPE_CODES, isFloat, type DType, type Data, type TensorType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrInt } from '../../graph/attributes.js';
import {
  chooseVariant, kernelError, onWasmOrReference, requireInput, type Capabilities, type KernelDef, type PrepareContext, type PreparedKernel,
  type VariantDef, viewsInWasm,
} from '../kernel.js';
import { WasmQuantParams, dynamicInt8Kernels } from './dynamic-int8.wasm.js';
import type { Int8Like } from './igemm.js';
import { checkZeroPointShape, quantParamLayout, type QuantParamLayout } from './params.js';
import { ROUND_LIMIT, ROUND_MAGIC, integerRange, isFloat8, quantizeToRange, roundToFloat8, roundToStorageType } from './rounding.js';

const QUANTIZED_OUTPUTS: readonly DType[] = [
  'uint8', 'int8', 'uint16', 'int16', 'uint4', 'int4',
  'float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz',
];

/**
 * Converts every element of x with the scale / zero point that applies to it: x is walked as [outer, D, inner]
 * and convert(v, scale, zeroPoint) maps one value. One indexing rule for per-tensor, per-axis and blocked.
 */
function convertWithParams(
  l: QuantParamLayout,
  x: Exclude<Data, string[]>,
  scales: Float32Array,
  zps: Exclude<Data, string[]> | undefined,
  y: Float32Array,
  convert: (v: number, scale: number, zeroPoint: number) => number,
): void {
  let idx = 0;
  for (let o = 0; o < l.outer; o++) {
    for (let a = 0; a < l.axisDim; a++) {
      const p0 = o * l.outerStride + Math.floor(a / l.blockSize) * l.axisStride;
      for (let i = 0; i < l.inner; i++, idx++) {
        const p = p0 + i * l.innerStride;
        y[idx] = convert(Number(x[idx]), scales[p]!, zps === undefined ? 0 : Number(zps[p]));
      }
    }
  }
}

/** The quantized type: the zero point's type, else output_dtype (opset 21), else uint8. */
function quantizedType(ctx: PrepareContext): DType {
  const zp = ctx.inputs[2];
  if (zp !== undefined) return zp.dtype;
  const code = attrInt(ctx.node, 'output_dtype', 0);
  if (code === 0) return 'uint8';
  const dtype = ONNX_DTYPE_CODES[code];
  if (dtype === undefined) throw kernelError(ctx, `output_dtype ${code} is not a known type`);
  return dtype;
}

interface QdqProblem {
  ctx: PrepareContext;
  x: TensorType;
  outType: DType;
  layout: QuantParamLayout;
}

/** Per tensor or per axis (not blocked): what the wasm kernels take as [outer, D, inner]. */
function wasmLayout(l: QuantParamLayout): [number, number, number] | undefined {
  if (l.outerStride === 0 && l.axisStride === 0 && l.innerStride === 0) return [1, 1, l.outer * l.axisDim * l.inner];
  if (l.blockSize === 1 && l.outerStride === 0 && l.axisStride === 1 && l.innerStride === 0) return [l.outer, l.axisDim, l.inner];
  return undefined;
}

/** True when the step is float32 ↔ 8-bit with float32 scales, per tensor or per axis, and the wasm kernels are there. */
function wasmQdqApplies(p: QdqProblem, caps: Capabilities, quantize: boolean): boolean {
  const eight = quantize ? p.outType : p.x.dtype;
  const float = quantize ? p.x.dtype : p.outType;
  return dynamicInt8Kernels(caps.wasm) !== undefined && (eight === 'uint8' || eight === 'int8') && float === 'float32' &&
    requireInput(p.ctx, 1).dtype === 'float32' && wasmLayout(p.layout) !== undefined;
}

// y = saturate(round(x / y_scale) + y_zero_point), ties to even (Operators.md §QuantizeLinear).
// x [...], y_scale [] | [D] | blocked, y_zero_point like y_scale -> y [...]
function prepareQuantizeReference(p: QdqProblem): PreparedKernel {
  const { ctx, x, outType, layout } = p;
  const saturate = attrInt(ctx.node, 'saturate', 1) !== 0;
  const range = integerRange(outType);
  const convert =
    range !== undefined
      ? (v: number, scale: number, zp: number) => quantizeToRange(Math.fround(v / scale), zp, range[0], range[1])
      : (v: number, scale: number, zp: number) => roundToFloat8(Math.fround(v / scale) + zp, outType, saturate);
  const perTensorInteger = range !== undefined && layout.outerStride === 0 && layout.axisStride === 0 && layout.innerStride === 0 && x.dtype !== 'int32';
  return {
    outputs: [{ dtype: outType, shape: [...x.shape] }],
    run(inputs, outputs) {
      const zps = inputs[2] as Exclude<Data, string[]> | undefined;
      if (perTensorInteger) {
        quantizePerTensor(inputs[0] as Float32Array, (inputs[1] as Float32Array)[0]!, zps === undefined ? 0 : Number(zps[0]), range[0], range[1], outputs[0] as Int8Array);
        return;
      }
      convertWithParams(layout, inputs[0] as Float32Array, inputs[1] as Float32Array, zps, outputs[0] as Float32Array, convert);
    },
  };
}

/** float32 → 8 bits per tensor or per axis on q8_quantize_axis (the same float32 division and rounding). */
function prepareQuantizeWasm(p: QdqProblem, ctx: PrepareContext): PreparedKernel {
  const reference = prepareQuantizeReference(p);
  const wasm = ctx.options.wasm!;
  const kernels = dynamicInt8Kernels(wasm)!;
  const [outer, D, inner] = wasmLayout(p.layout)!;
  const params = new WasmQuantParams(wasm, D);
  const [lo, hi] = integerRange(p.outType)!;
  return onWasmOrReference(reference, 'wasm quantize (js for views outside wasm memory)', (inputs, outputs) => {
    const x = inputs[0] as Float32Array;
    const y = outputs[0] as Uint8Array;
    if (!viewsInWasm(wasm, x, y)) return false;
    params.write(inputs[1] as Float32Array, inputs[2] as Int8Like | undefined);
    kernels.quantize(x.byteOffset, y.byteOffset, outer, D, inner, params.scales, params.zeroPoints, lo, hi);
    return true;
  });
}

const QUANTIZE_VARIANTS: readonly VariantDef<QdqProblem>[] = [
  { name: (p) => `${dtypeName(p.x.dtype)}_quantizelinear_${dtypeName(p.outType)}__ref`, applies: () => true, placement: 'any', prepare: prepareQuantizeReference },
  {
    name: (p) => `f32_quantizelinear_${dtypeName(p.outType)}__wasmsimd`,
    applies: (p, caps) => wasmQdqApplies(p, caps, true),
    placement: 'wasm',
    prepare: prepareQuantizeWasm,
  },
];

/** Short dtype names for variant names: float32 → f32, uint8 → u8, int8 → i8. */
function dtypeName(d: DType): string {
  return d === 'float32' ? 'f32' : d === 'float16' ? 'f16' : d === 'uint8' ? 'u8' : d === 'int8' ? 'i8' : d;
}

function prepareQuantizeLinear(ctx: PrepareContext): PreparedKernel {
  const x = requireInput(ctx, 0);
  const scale = requireInput(ctx, 1);
  checkZeroPointShape(ctx, scale, ctx.inputs[2]);
  if (!isFloat(x.dtype) && x.dtype !== 'int32') {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: x must be a float or int32 tensor, got ${x.dtype}`);
  }
  if (!isFloat(scale.dtype)) throw kernelError(ctx, `y_scale must be a float tensor, got ${scale.dtype}`);
  const outType = quantizedType(ctx);
  if (!QUANTIZED_OUTPUTS.includes(outType)) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: cannot quantize to ${outType}`);
  }
  const layout = quantParamLayout(ctx, x, scale, attrInt(ctx.node, 'axis', 1), attrInt(ctx.node, 'block_size', 0));
  return chooseVariant(QUANTIZE_VARIANTS, { ctx, x, outType, layout }, ctx);
}

/**
 * The common case written out: one scale and zero point, an integer output, elements start.. . Same arithmetic as
 * quantizeToRange(fround(v / scale), zp, lo, hi), with the rounding done inline (see rounding.ts).
 */
function quantizePerTensor(x: Float32Array | Float64Array, scale: number, zp: number, lo: number, hi: number, y: Int8Array | Uint8Array | Int16Array | Uint16Array, start = 0): void {
  for (let i = start; i < x.length; i++) {
    const s = Math.fround(x[i]! / scale);
    const q = s > -ROUND_LIMIT && s < ROUND_LIMIT ? s + ROUND_MAGIC - ROUND_MAGIC + zp : quantizeToRange(s, zp, lo, hi);
    y[i] = q < lo ? lo : q > hi ? hi : q;
  }
}

const DEQUANTIZABLE: readonly DType[] = [...QUANTIZED_OUTPUTS, 'int32'];

const dequantize = (v: number, scale: number, zp: number) => Math.fround(Math.fround(v - zp) * scale);

// y = (x - x_zero_point) * x_scale, in float32 as onnxruntime (Operators.md §DequantizeLinear).
// x [...], x_scale [] | [D] | blocked, x_zero_point like x_scale -> y [...] of x_scale's type
function prepareDequantizeReference(p: QdqProblem): PreparedKernel {
  const { x, outType, layout } = p;
  const xIsFloat8 = isFloat8(x.dtype);
  // Computed in float32, then rounded to a float16 / bfloat16 output as the reference's final cast does.
  const narrowOutput = outType === 'float16' || outType === 'bfloat16';
  return {
    outputs: [{ dtype: outType, shape: [...x.shape] }],
    run(inputs, outputs) {
      // float8 zero points must be 0 (Operators.md), so they are not read.
      const zps = xIsFloat8 ? undefined : (inputs[2] as Exclude<Data, string[]> | undefined);
      const y = outputs[0] as Float32Array;
      convertWithParams(layout, inputs[0] as Exclude<Data, string[]>, inputs[1] as Float32Array, zps, y, dequantize);
      if (narrowOutput) for (let i = 0; i < y.length; i++) y[i] = roundToStorageType(y[i]!, outType);
    },
  };
}

/** 8 bits → float32 per tensor or per axis on q8_dequantize_axis (the same f32((x - zp)·scale)). */
function prepareDequantizeWasm(p: QdqProblem, ctx: PrepareContext): PreparedKernel {
  const reference = prepareDequantizeReference(p);
  const wasm = ctx.options.wasm!;
  const kernel = dynamicInt8Kernels(wasm)!.dequantize[p.x.dtype === 'int8' ? 1 : 0];
  const [outer, D, inner] = wasmLayout(p.layout)!;
  const params = new WasmQuantParams(wasm, D);
  return onWasmOrReference(reference, 'wasm dequantize (js for views outside wasm memory)', (inputs, outputs) => {
    const x = inputs[0] as Int8Like;
    const y = outputs[0] as Float32Array;
    if (!viewsInWasm(wasm, x, y)) return false;
    params.write(inputs[1] as Float32Array, inputs[2] as Int8Like | undefined);
    kernel(x.byteOffset, y.byteOffset, outer, D, inner, params.scales, params.zeroPoints);
    return true;
  });
}

const DEQUANTIZE_VARIANTS: readonly VariantDef<QdqProblem>[] = [
  { name: (p) => `${dtypeName(p.x.dtype)}_dequantizelinear_${dtypeName(p.outType)}__ref`, applies: () => true, placement: 'any', prepare: prepareDequantizeReference },
  {
    name: (p) => `${dtypeName(p.x.dtype)}_dequantizelinear_f32__wasmsimd`,
    applies: (p, caps) => wasmQdqApplies(p, caps, false),
    placement: 'wasm',
    prepare: prepareDequantizeWasm,
  },
];

function prepareDequantizeLinear(ctx: PrepareContext): PreparedKernel {
  const x = requireInput(ctx, 0);
  const scale = requireInput(ctx, 1);
  checkZeroPointShape(ctx, scale, ctx.inputs[2]);
  if (!DEQUANTIZABLE.includes(x.dtype)) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: cannot dequantize ${x.dtype}`);
  }
  if (!isFloat(scale.dtype)) throw kernelError(ctx, `x_scale must be a float tensor, got ${scale.dtype}`);
  const outCode = attrInt(ctx.node, 'output_dtype', 0);
  const outType = outCode === 0 ? scale.dtype : ONNX_DTYPE_CODES[outCode];
  if (outType === undefined || !isFloat(outType)) throw kernelError(ctx, `output_dtype ${outCode} is not a float type`);
  const layout = quantParamLayout(ctx, x, scale, attrInt(ctx.node, 'axis', 1), attrInt(ctx.node, 'block_size', 0));
  return chooseVariant(DEQUANTIZE_VARIANTS, { ctx, x, outType, layout }, ctx);
}

export const quantizeLinearKernels: KernelDef[] = [
  { opType: 'QuantizeLinear', prepare: prepareQuantizeLinear },
  { opType: 'DequantizeLinear', prepare: prepareDequantizeLinear },
  // onnxruntime's quantizer may emit the contrib versions; their semantics are the ONNX ones (with axis).
  { opType: 'QuantizeLinear', domain: 'com.microsoft', prepare: prepareQuantizeLinear },
  { opType: 'DequantizeLinear', domain: 'com.microsoft', prepare: prepareDequantizeLinear },
];
