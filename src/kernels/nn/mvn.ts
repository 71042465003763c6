import { sizeOf } from '../../dtype.js';
import { attrInts } from '../../graph/attributes.js';
import { kernelError, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { requireFloat } from './float-input.js';

type Vec = Float32Array | Float64Array;

/**
 * The flat indices of X ordered group by group, where a group is one position of the kept (non-reduced)
 * axes; each group's `size` reduced elements are then contiguous in the returned order.
 */
function groupOrder(shape: number[], reduced: Set<number>): { order: Int32Array; groups: number; size: number } {
  const strides = shape.map((_, i) => sizeOf(shape.slice(i + 1)));
  const kept = shape.map((_, i) => i).filter((i) => !reduced.has(i));
  const red = shape.map((_, i) => i).filter((i) => reduced.has(i));
  const axes = [...kept, ...red];
  const total = sizeOf(shape);
  const order = new Int32Array(total);
  const idx = new Array<number>(axes.length).fill(0);
  for (let t = 0; t < total; t++) {
    let o = 0;
    for (let k = 0; k < axes.length; k++) o += idx[k]! * strides[axes[k]!]!;
    order[t] = o;
    for (let k = axes.length - 1; k >= 0; k--) {
      if (++idx[k]! < shape[axes[k]!]!) break;
      idx[k] = 0;
    }
  }
  const size = sizeOf(red.map((i) => shape[i]!));
  return { order, groups: size === 0 ? 0 : total / size, size };
}

// MeanVarianceNormalization: X [..] -> Y [..], Y = (X − E[X]) / (sqrt(E[X²] − E[X]²) + 1e-9) over `axes`
// (the ONNX function body adds the epsilon to the standard deviation).
function prepareMvn(ctx: PrepareContext): PreparedKernel {
  const x = requireFloat(ctx, 0);
  const rank = x.shape.length;
  const axes = (attrInts(ctx.node, 'axes') ?? [0, 2, 3]).map((a) => (a < 0 ? a + rank : a));
  if (axes.some((a) => a < 0 || a >= rank)) throw kernelError(ctx, `axes [${axes}] out of range for rank ${rank}`);
  const { order, groups, size } = groupOrder(x.shape, new Set(axes));
  return {
    outputs: [{ dtype: x.dtype, shape: [...x.shape] }],
    run(inputs, outs) {
      const xv = inputs[0] as Vec;
      const y = outs[0] as Vec;
      for (let g = 0; g < groups; g++) {
        const base = g * size;
        let sum = 0;
        let sumSq = 0;
        for (let i = base; i < base + size; i++) {
          const v = xv[order[i]!]!;
          sum += v;
          sumSq += v * v;
        }
        const mean = sum / size;
        const std = Math.sqrt(Math.max(0, sumSq / size - mean * mean));
        for (let i = base; i < base + size; i++) y[order[i]!] = (xv[order[i]!]! - mean) / (std + 1e-9);
      }
    },
  };
}

export const mvnKernel: KernelDef = { opType: 'MeanVarianceNormalization', prepare: prepareMvn };
