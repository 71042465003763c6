import { sizeOf } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat, attrInt } from '../../graph/attributes.js';
import { kernelError, jsFallbacks, ranOnWasm, withActivation, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { requireFloat } from './float-input.js';
import { activateInPlace, readFusedActivation } from '../conv/fused-activation.js';
import type { Activation } from '../gemm/activation.js';
import type { WasmContext } from '../../wasm/context.js';
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
  const wasm = ctx.options.wasm;
  if (!training && !perElement && x.dtype === 'float32' && wasm !== undefined) {
    const affine = wasmAffine(ctx, wasm, C, eps, act);
    if (affine !== undefined) {
      const fallbacks = jsFallbacks();
      return {
        outputs: [{ dtype: x.dtype, shape: [...x.shape] }],
        detail: withActivation('wasm per-channel affine (folded at prepare)', act),
        jsFallbacks: fallbacks,
        run(inputs, outs) {
          const [xv, y] = [inputs[0] as Float32Array, outs[0] as Float32Array];
          if (ranOnWasm(fallbacks, affine(xv, y, N * C, S))) return;
          const [, scale, bias, mean, variance] = inputs as Vec[];
          batchNormInference(N, C, S, false, eps, xv, scale!, bias!, mean!, variance!, y);
          activateInPlace(act, y, 0, y.length);
        },
      };
    }
  }
  const statType = { dtype: params[2]!.dtype, shape: [C] };
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
 * With constant parameters and the wasm backend: y = clamp(x·a[c] + b[c]) on wasm SIMD, a = scale/√(var + ε) and
 * b = B − mean·a folded once (in float64, as the JS loop does) and uploaded; the runner returns false when a view
 * is outside wasm memory. Undefined when a parameter is a runtime value or the activation is not a clamp.
 */
function wasmAffine(ctx: PrepareContext, wasm: WasmContext, C: number, eps: number, act: Activation): ((x: Float32Array, y: Float32Array, outer: number, inner: number) => boolean) | undefined {
  const bounds = act.kind === 'none' ? [-Infinity, Infinity] : act.kind === 'relu' ? [0, Infinity] : act.kind === 'clip' ? [act.min ?? -Infinity, act.max ?? Infinity] : undefined;
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => ctx.constants[i]?.data);
  if (bounds === undefined || [scale, bias, mean, variance].some((p) => !(p instanceof Float32Array || p instanceof Float64Array))) return undefined;
  const kernel = wasm.use(CHANNEL_AFFINE_MODULE);
  if (kernel === undefined) return undefined;
  const ab = new Float32Array(2 * C);
  for (let c = 0; c < C; c++) {
    const a = Number(scale![c]) / Math.sqrt(Number(variance![c]) + eps);
    ab[c] = a;
    ab[C + c] = Number(bias![c]) - Number(mean![c]) * a;
  }
  const at = wasm.allocFloats(ab);
  return (x, y, outer, inner) => {
    const buffer = wasm.memory.buffer;
    if (x.buffer !== buffer || y.buffer !== buffer) return false;
    kernel(x.byteOffset, y.byteOffset, outer, inner, C, at, at + 4 * C, bounds[0]!, bounds[1]!);
    return true;
  };
}

export const batchNormKernel: KernelDef = { opType: 'BatchNormalization', prepare: prepareBatchNorm };
