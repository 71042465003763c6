import { sizeOf } from '../../dtype.js';
import { attrFloat, attrInt } from '../../graph/attributes.js';
import { kernelError, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { requireFloat } from './float-input.js';

type Vec = Float32Array | Float64Array;

/**
 * Normalises each of `groups` contiguous runs of `size` elements to zero mean and unit variance
 * (biased variance, float64 accumulation), then applies y = x̂ · scale[p] + bias[p], where each run is cut
 * into segments of `segment` elements sharing one parameter p = paramOf(run, segmentIndex).
 * Shared by InstanceNormalization (one run per (n, c)) and GroupNormalization (one run per (n, group)).
 * Per segment the affine map folds into y = x · a + c with a = scale[p] / σ and c = bias[p] − mean · a
 * (in float64, so no precision is lost to the cancellation), one multiply-add per element.
 */
export function normalizeRuns(
  groups: number, size: number, eps: number, x: Vec, y: Vec,
  segment: number, paramOf: (run: number, segmentIndex: number) => number, scale: Vec, bias: Vec,
): void {
  for (let g = 0; g < groups; g++) {
    const base = g * size;
    const end = base + size;
    let sum = 0;
    for (let i = base; i < end; i++) sum += x[i]!;
    const mean = sum / size;
    let sq = 0;
    for (let i = base; i < end; i++) {
      const d = x[i]! - mean;
      sq += d * d;
    }
    const inv = 1 / Math.sqrt(sq / size + eps);
    for (let start = base, j = 0; start < end; start += segment, j++) {
      const p = paramOf(g, j);
      const a = scale[p]! * inv;
      const c = bias[p]! - mean * a;
      for (let i = start; i < start + segment; i++) y[i] = x[i]! * a + c;
    }
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
      normalizeRuns(runs, S, eps, inputs[0] as Vec, outs[0] as Vec, S, (run) => run % C, s, b);
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
      // Per-channel parameters change every S elements of a group's run; per-group ones once per run.
      const segment = perChannel ? S : size;
      const paramOf = perChannel ? (run: number, j: number): number => (run % G) * (C / G) + j : (run: number): number => run % G;
      normalizeRuns(x.shape[0]! * G, size, eps, inputs[0] as Vec, outs[0] as Vec, segment, paramOf, s, b);
    },
  };
}

export const instanceNormKernel: KernelDef = { opType: 'InstanceNormalization', prepare: prepareInstanceNorm };
export const groupNormKernel: KernelDef = { opType: 'GroupNormalization', prepare: prepareGroupNorm };
