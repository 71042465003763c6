import { sizeOf } from '../../dtype.js';
import { attrFloat, attrInt } from '../../graph/attributes.js';
import { kernelError, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { requireFloat } from './float-input.js';

type Vec = Float32Array | Float64Array;

/**
 * Normalises each of `groups` contiguous runs of `size` elements to zero mean and unit variance
 * (biased variance, float64 accumulation), then applies y = x̂ · scale[p] + bias[p] with p = paramOf(run, i).
 * Shared by InstanceNormalization (one run per (n, c)) and GroupNormalization (one run per (n, group)).
 */
export function normalizeRuns(
  groups: number, size: number, eps: number, x: Vec, y: Vec,
  affine: (run: number, i: number, xhat: number) => number,
): void {
  for (let g = 0; g < groups; g++) {
    const base = g * size;
    let sum = 0;
    for (let i = 0; i < size; i++) sum += x[base + i]!;
    const mean = sum / size;
    let sq = 0;
    for (let i = 0; i < size; i++) sq += (x[base + i]! - mean) ** 2;
    const inv = 1 / Math.sqrt(sq / size + eps);
    for (let i = 0; i < size; i++) y[base + i] = affine(g, i, (x[base + i]! - mean) * inv);
  }
}

// InstanceNormalization: X [N, C, D1..Dn], scale [C], B [C] -> Y [N, C, D1..Dn]
function prepareInstanceNorm(ctx: PrepareContext): PreparedKernel {
  const x = requireFloat(ctx, 0);
  const scale = requireFloat(ctx, 1);
  const bias = requireFloat(ctx, 2);
  if (x.shape.length < 3) throw kernelError(ctx, `X must have rank >= 3, got [${x.shape}]`);
  const C = x.shape[1]!;
  if (sizeOf(scale.shape) !== C || sizeOf(bias.shape) !== C) throw kernelError(ctx, `scale [${scale.shape}] and B [${bias.shape}] must have ${C} values`);
  const eps = attrFloat(ctx.node, 'epsilon', 1e-5);
  const S = sizeOf(x.shape.slice(2));
  const runs = x.shape[0]! * C;
  return {
    outputs: [{ dtype: x.dtype, shape: [...x.shape] }],
    run(inputs, outs) {
      const s = inputs[1] as Vec;
      const b = inputs[2] as Vec;
      normalizeRuns(runs, S, eps, inputs[0] as Vec, outs[0] as Vec, (run, _i, xhat) => xhat * s[run % C]! + b[run % C]!);
    },
  };
}

// GroupNormalization (opset 18: scale/bias [G]; opset 21: [C]): X [N, C, D1..Dn] -> Y [N, C, D1..Dn]
function prepareGroupNorm(ctx: PrepareContext): PreparedKernel {
  const x = requireFloat(ctx, 0);
  const scale = requireFloat(ctx, 1);
  const bias = requireFloat(ctx, 2);
  if (x.shape.length < 2) throw kernelError(ctx, `X must have rank >= 2, got [${x.shape}]`);
  const C = x.shape[1]!;
  const G = attrInt(ctx.node, 'num_groups');
  if (G === undefined || G < 1 || C % G !== 0) throw kernelError(ctx, `num_groups ${G} must divide the ${C} channels`);
  const perChannel = sizeOf(scale.shape) === C && ctx.opset >= 21 ? true : sizeOf(scale.shape) === C && C !== G;
  const expected = perChannel ? C : G;
  if (sizeOf(scale.shape) !== expected || sizeOf(bias.shape) !== expected) {
    throw kernelError(ctx, `scale [${scale.shape}] and bias [${bias.shape}] must have ${expected} values`);
  }
  const eps = attrFloat(ctx.node, 'epsilon', 1e-5);
  const S = sizeOf(x.shape.slice(2));
  const size = (C / G) * S;
  return {
    outputs: [{ dtype: x.dtype, shape: [...x.shape] }],
    run(inputs, outs) {
      const s = inputs[1] as Vec;
      const b = inputs[2] as Vec;
      normalizeRuns(x.shape[0]! * G, size, eps, inputs[0] as Vec, outs[0] as Vec, (run, i, xhat) => {
        const p = perChannel ? (run % G) * (C / G) + Math.floor(i / S) : run % G;
        return xhat * s[p]! + b[p]!;
      });
    },
  };
}

export const instanceNormKernel: KernelDef = { opType: 'InstanceNormalization', prepare: prepareInstanceNorm };
export const groupNormKernel: KernelDef = { opType: 'GroupNormalization', prepare: prepareGroupNorm };
