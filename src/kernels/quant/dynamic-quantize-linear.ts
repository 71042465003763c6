import type { TensorType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import {
  chooseVariant, onWasmOrReference, requireInput, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef, viewsInWasm,
} from '../kernel.js';
import { WasmQuantParams, dynamicInt8Kernels, type DynamicInt8Kernels } from './dynamic-int8.wasm.js';
import { quantizeToRange, roundHalfEven } from './rounding.js';

/**
 * uint8 quantization parameters from the data range, including 0 (Operators.md §DynamicQuantizeLinear):
 * scale = (max(0, max x) - min(0, min x)) / 255 (1 when the range is empty, as onnxruntime and the reference do),
 * zero_point = round(saturate(0 - min / scale)). Float32 arithmetic throughout.
 */
export function dynamicUint8Params(x: Float32Array): { scale: number; zeroPoint: number } {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return uint8ParamsOfRange(lo, hi);
}

/** The scale and zero point of dynamicUint8Params from the range's lo = min(0, min x) and hi = max(0, max x). */
export function uint8ParamsOfRange(lo: number, hi: number): { scale: number; zeroPoint: number } {
  const scale = Math.fround((hi === lo ? 1 : Math.fround(hi - lo)) / 255);
  const initialZeroPoint = Math.fround(0 - Math.fround(lo / scale));
  const zeroPoint = roundHalfEven(Math.min(255, Math.max(0, initialZeroPoint)));
  return { scale, zeroPoint };
}

interface DqlProblem {
  x: TensorType;
  outputs: TensorType[];
}

function outputsOf(x: TensorType): TensorType[] {
  return [
    { dtype: 'uint8', shape: [...x.shape] },
    { dtype: 'float32', shape: [] },
    { dtype: 'uint8', shape: [] },
  ];
}

// x [...] float32 -> y [...] uint8, y_scale [] float32, y_zero_point [] uint8
function prepareReference(p: DqlProblem): PreparedKernel {
  return {
    outputs: p.outputs,
    run(inputs, outputs) {
      const xs = inputs[0] as Float32Array;
      const { scale, zeroPoint } = dynamicUint8Params(xs);
      const y = outputs[0] as Uint8Array;
      for (let i = 0; i < xs.length; i++) y[i] = quantizeToRange(Math.fround(xs[i]! / scale), zeroPoint, 0, 255);
      if (outputs[1] !== undefined) (outputs[1] as Float32Array)[0] = scale;
      if (outputs[2] !== undefined) (outputs[2] as Uint8Array)[0] = zeroPoint;
    },
  };
}

/**
 * The same on wasm: f32_minmax for the range, the parameters in JS from it (uint8ParamsOfRange, the same float32
 * steps), then q8_quantize_axis over the whole tensor. Views outside wasm memory take the reference (see
 * onWasmOrReference).
 */
function prepareWasm(p: DqlProblem, ctx: PrepareContext): PreparedKernel {
  const wasm = ctx.options.wasm!;
  const kernels = dynamicInt8Kernels(wasm)!;
  const reference = prepareReference(p);
  const params = new WasmQuantParams(wasm, 1);
  const scaleOut = new Float32Array(1);
  return onWasmOrReference(reference, 'wasm minmax + quantize (js for views outside wasm memory)', (inputs, outputs) => {
    const xs = inputs[0] as Float32Array;
    const y = outputs[0] as Uint8Array;
    if (!viewsInWasm(wasm, xs, y)) return false;
    const { scale, zeroPoint } = quantizeDynamicOnWasm(kernels, params, xs, y, scaleOut);
    if (outputs[1] !== undefined) (outputs[1] as Float32Array)[0] = scale;
    if (outputs[2] !== undefined) (outputs[2] as Uint8Array)[0] = zeroPoint;
    return true;
  });
}

/**
 * DynamicQuantizeLinear of x (in wasm memory) into y (n bytes in wasm memory): f32_minmax, the parameters in JS,
 * q8_quantize_axis. `params` is a one-value WasmQuantParams, `scaleOut` a one-float scratch.
 */
export function quantizeDynamicOnWasm(
  kernels: DynamicInt8Kernels, params: WasmQuantParams, x: Float32Array, y: Uint8Array, scaleOut: Float32Array,
): { scale: number; zeroPoint: number } {
  kernels.minMax(x.byteOffset, x.length, params.minMax);
  const range = params.readMinMax();
  const q = uint8ParamsOfRange(range[0]!, range[1]!);
  scaleOut[0] = q.scale;
  params.write(scaleOut, [q.zeroPoint]);
  kernels.quantize(x.byteOffset, y.byteOffset, 1, 1, x.length, params.scales, params.zeroPoints, 0, 255);
  return q;
}

const VARIANTS: readonly VariantDef<DqlProblem>[] = [
  { name: 'u8_dynamicquantizelinear__ref', applies: () => true, placement: 'any', prepare: prepareReference },
  {
    name: 'u8_dynamicquantizelinear__wasmsimd',
    applies: (_p, caps) => dynamicInt8Kernels(caps.wasm) !== undefined,
    placement: 'wasm',
    prepare: prepareWasm,
  },
];

function prepareDynamicQuantizeLinear(ctx: PrepareContext): PreparedKernel {
  const x = requireInput(ctx, 0);
  if (x.dtype !== 'float32') throw new UnsupportedError(`${nodeLabel(ctx.node)}: input must be float32, got ${x.dtype}`);
  return chooseVariant(VARIANTS, { x, outputs: outputsOf(x) }, ctx);
}

export const dynamicQuantizeLinearKernels: KernelDef[] = [
  { opType: 'DynamicQuantizeLinear', prepare: prepareDynamicQuantizeLinear },
];
