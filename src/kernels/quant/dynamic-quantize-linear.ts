import { UnsupportedError, nodeLabel } from '../../errors.js';
import { requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
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
  const scale = Math.fround((hi === lo ? 1 : Math.fround(hi - lo)) / 255);
  const initialZeroPoint = Math.fround(0 - Math.fround(lo / scale));
  const zeroPoint = roundHalfEven(Math.min(255, Math.max(0, initialZeroPoint)));
  return { scale, zeroPoint };
}

// x [...] float32 -> y [...] uint8, y_scale [] float32, y_zero_point [] uint8
function prepareDynamicQuantizeLinear(ctx: PrepareContext): PreparedKernel {
  const x = requireInput(ctx, 0);
  if (x.dtype !== 'float32') throw new UnsupportedError(`${nodeLabel(ctx.node)}: input must be float32, got ${x.dtype}`);
  return {
    outputs: [
      { dtype: 'uint8', shape: [...x.shape] },
      { dtype: 'float32', shape: [] },
      { dtype: 'uint8', shape: [] },
    ],
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

export const dynamicQuantizeLinearKernels: KernelDef[] = [
  { opType: 'DynamicQuantizeLinear', prepare: prepareDynamicQuantizeLinear },
];
