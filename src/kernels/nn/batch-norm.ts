import { sizeOf, type DType, type TensorType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat, attrInt } from '../../graph/attributes.js';
import {
  chooseVariant, kernelError, onWasmOrReference, viewsInWasm, withActivation, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef,
} from '../kernel.js';
import { requireFloat } from './float-input.js';
import { activateInPlace, readFusedActivation } from '../conv/fused-activation.js';
import type { Activation } from '../gemm/activation.js';
import { CHANNEL_AFFINE_MODULE } from '../../wasm/affine-kernels.js';

type Vec = Float32Array | Float64Array;

/**
 * Inference form: Y = scale · (X − mean) / sqrt(var + ε) + B, with the per-channel parameters indexed by
 * channel (length C) or, for spatial = 0 before opset 9, by channel and position (length C·S).
 * X [N, C, S] -> Y [N, C, S]
 */
function batchNormInference(N: number, C: number, S: number, perElement: boolean, eps: number, x: Vec, scale: Vec, bias: Vec, mean: Vec, variance: Vec, y: Vec): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * S;
      if (!perElement) {
        const a = scale[c]! / Math.sqrt(variance[c]! + eps);
        const b = bias[c]! - mean[c]! * a;
        for (let i = base; i < base + S; i++) y[i] = x[i]! * a + b;
        continue;
      }
      for (let s = 0; s < S; s++) {
        const j = c * S + s;
        y[base + s] = (scale[j]! * (x[base + s]! - mean[j]!)) / Math.sqrt(variance[j]! + eps) + bias[j]!;
      }
    }
  }
}

/**
 * Training form (opset 14+, training_mode = 1): normalises with the batch's own mean and (biased) variance
 * per channel, and returns running stats = input · momentum + batch · (1 − momentum).
 * X [N, C, S] -> Y [N, C, S], running_mean [C]?, running_var [C]?
 */
function batchNormTraining(N: number, C: number, S: number, eps: number, momentum: number, x: Vec, scale: Vec, bias: Vec, mean: Vec, variance: Vec, y: Vec, runMean?: Vec, runVar?: Vec): void {
  const count = N * S;
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let n = 0; n < N; n++) for (let i = (n * C + c) * S, e = i + S; i < e; i++) sum += x[i]!;
    const mu = sum / count;
    let sq = 0;
    for (let n = 0; n < N; n++) for (let i = (n * C + c) * S, e = i + S; i < e; i++) sq += (x[i]! - mu) ** 2;
    const v = sq / count;
    const a = scale[c]! / Math.sqrt(v + eps);
    const b = bias[c]! - mu * a;
    for (let n = 0; n < N; n++) for (let i = (n * C + c) * S, e = i + S; i < e; i++) y[i] = x[i]! * a + b;
    if (runMean) runMean[c] = mean[c]! * momentum + mu * (1 - momentum);
    if (runVar) runVar[c] = variance[c]! * momentum + v * (1 - momentum);
  }
}

// BatchNormalization: X [N, C, D1..Dn], scale/B/mean/var [C] -> Y [N, C, D1..Dn] (+ running_mean, running_var [C] when training)
function prepareBatchNorm(ctx: PrepareContext): PreparedKernel {
  const x = requireFloat(ctx, 0);
  const params = [1, 2, 3, 4].map((i) => requireFloat(ctx, i));
  if (x.shape.length < 2) throw kernelError(ctx, `X must have rank >= 2, got [${x.shape}]`);
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  const S = sizeOf(x.shape.slice(2));
  const eps = attrFloat(ctx.node, 'epsilon', 1e-5);
  const momentum = attrFloat(ctx.node, 'momentum', 0.9);
  const training = ctx.opset >= 14 && attrInt(ctx.node, 'training_mode', 0) === 1;
  const spatial = ctx.opset < 9 ? attrInt(ctx.node, 'spatial', 1) : 1;
  const perElement = spatial === 0 && sizeOf(params[0]!.shape) === C * S && C * S !== C;
  const expected = perElement ? C * S : C;
  params.forEach((t, i) => {
    if (sizeOf(t.shape) !== expected) throw kernelError(ctx, `input ${i + 1} has shape [${t.shape}], expected ${expected} values`);
  });
  const extraOutputs = ctx.node.outputs.slice(1).filter((o) => o !== '').length;
  if (!training && extraOutputs > 0) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: training outputs (mean/var/saved stats) are only supported with opset >= 14 and training_mode = 1`);
  }
  const act = readFusedActivation(ctx.node);
  if (act.kind !== 'none' && training) throw new UnsupportedError(`${nodeLabel(ctx.node)}: a fused activation needs the inference form`);
  const constantParams = [1, 2, 3, 4].every((i) => {
    const d = ctx.constants[i]?.data;
    return d instanceof Float32Array || d instanceof Float64Array;
  });
  return chooseVariant(BATCH_NORM_VARIANTS, { x, N, C, S, eps, momentum, training, perElement, act, constantParams, statDtype: params[2]!.dtype }, ctx);
}

interface BatchNormProblem {
  x: TensorType;
  /** X viewed as [N, C, S]. */
  N: number;
  C: number;
  S: number;
  eps: number;
  momentum: number;
  training: boolean;
  /** spatial = 0 before opset 9: parameters per channel and position. */
  perElement: boolean;
  act: Activation;
  /** scale, B, mean and var are float constants (foldable at prepare). */
  constantParams: boolean;
  statDtype: DType;
}

/** The clamp bounds of a fused activation the affine kernel applies in its store, or undefined. */
function clampBounds(act: Activation): [number, number] | undefined {
  if (act.kind === 'none') return [-Infinity, Infinity];
  if (act.kind === 'relu') return [0, Infinity];
  if (act.kind === 'clip') return [act.min ?? -Infinity, act.max ?? Infinity];
  return undefined;
}

/** The reference: inference (per channel or per element) or training form in JS, any float dtype. */
function prepareBatchNormJs(p: BatchNormProblem, ctx: PrepareContext): PreparedKernel {
  const { N, C, S, eps, momentum, training, perElement, act, x } = p;
  const wasm = ctx.options.wasm;
  const statType = { dtype: p.statDtype, shape: [C] };
  return {
    outputs: training ? [{ dtype: x.dtype, shape: [...x.shape] }, statType, { ...statType, shape: [C] }] : [{ dtype: x.dtype, shape: [...x.shape] }],
    detail: withActivation(`js batch-norm ${training ? 'training' : 'inference'}`, act),
    run(inputs, outs) {
      const [xv, scale, bias, mean, variance] = inputs as Vec[];
      if (training) {
        const wants = (i: number): boolean => ctx.node.outputs[i] !== undefined && ctx.node.outputs[i] !== '';
        batchNormTraining(N, C, S, eps, momentum, xv!, scale!, bias!, mean!, variance!, outs[0] as Vec, wants(1) ? (outs[1] as Vec) : undefined, wants(2) ? (outs[2] as Vec) : undefined);
      } else {
        batchNormInference(N, C, S, perElement, eps, xv!, scale!, bias!, mean!, variance!, outs[0] as Vec);
        activateInPlace(act, outs[0] as Vec, 0, (outs[0] as Vec).length, wasm);
      }
    },
  };
}

/**
 * Inference with constant parameters on wasm SIMD: y = clamp(x·a[c] + b[c]), a = scale/√(var + ε) and
 * b = B − mean·a folded once (in float64, as the JS loop does) and uploaded at prepare.
 */
function prepareBatchNormWasm(p: BatchNormProblem, ctx: PrepareContext): PreparedKernel {
  const wasm = ctx.options.wasm!;
  const kernel = wasm.use(CHANNEL_AFFINE_MODULE)!;
  const { N, C, S, eps } = p;
  const [lo, hi] = clampBounds(p.act)!;
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => ctx.constants[i]!.data);
  const ab = new Float32Array(2 * C);
  for (let c = 0; c < C; c++) {
    const a = Number(scale![c]) / Math.sqrt(Number(variance![c]) + eps);
    ab[c] = a;
    ab[C + c] = Number(bias![c]) - Number(mean![c]) * a;
  }
  const at = wasm.allocFloats(ab);
  // X or Y outside wasm memory (a hand-made run): the JS inference loop, counted.
  return onWasmOrReference(prepareBatchNormJs(p, ctx), withActivation('wasm per-channel affine (folded at prepare)', p.act), (inputs, outs) => {
    const x = inputs[0] as Float32Array;
    const y = outs[0] as Float32Array;
    if (!viewsInWasm(wasm, x, y)) return false;
    kernel(x.byteOffset, y.byteOffset, N * C, S, C, at, at + 4 * C, lo, hi);
    return true;
  });
}

const BATCH_NORM_VARIANTS: readonly VariantDef<BatchNormProblem>[] = [
  { name: (p) => `${p.x.dtype === 'float32' ? 'f32' : p.x.dtype}_batchnorm__js`, applies: () => true, placement: 'any', prepare: prepareBatchNormJs },
  {
    name: (p) => `f32_batchnorm_affine${p.act.kind === 'none' ? '' : `_${p.act.kind}`}__wasmsimd`,
    applies: (p, caps) =>
      caps.wasm !== undefined && p.x.dtype === 'float32' && !p.training && !p.perElement && p.constantParams &&
      clampBounds(p.act) !== undefined && caps.wasm.use(CHANNEL_AFFINE_MODULE) !== undefined,
    placement: 'wasm',
    prepare: prepareBatchNormWasm,
  },
];

export const batchNormKernel: KernelDef = { opType: 'BatchNormalization', prepare: prepareBatchNorm };
