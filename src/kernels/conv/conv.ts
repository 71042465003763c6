import { attrInt } from '../../graph/attributes.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { forwardGeometry, liftGeometry, readWindowAttrs } from './geometry.js';
import { convDepthwise, depthwiseApplies, planDepthwise } from './depthwise.js';
import { convIm2col, planIm2col } from './im2col.js';
import { convReference, type ConvProblem, type FloatArray } from './reference.js';

export type ConvPath = 'reference' | 'im2col' | 'depthwise';

/** Float types whose storage the conv paths read (narrow floats are widened to Float32Array). */
export function requireFloatInput(ctx: PrepareContext, i: number): 'f32' | 'f64' {
  const t = requireInput(ctx, i);
  if (t.dtype === 'float64') return 'f64';
  if (t.dtype === 'float32' || t.dtype === 'float16' || t.dtype === 'bfloat16') return 'f32';
  throw new UnsupportedError(`${nodeLabel(ctx.node)}: input ${i} has dtype ${t.dtype}; only float16/bfloat16/float32/float64 are supported`);
}

/**
 * Picks the path: a forced ctx.options.convAlgorithm when it applies to this problem, else depthwise for
 * one-channel groups, im2col + sgemm for other float32 convs (1-D to 3-D), and the reference loop for float64.
 */
export function chooseConvPath(ctx: PrepareContext, p: ConvProblem, isF32: boolean): ConvPath {
  const forced = ctx.options.convAlgorithm ?? 'auto';
  if (forced === 'reference') return 'reference';
  const depthwiseOk = depthwiseApplies(p);
  const im2colOk = isF32;
  if (forced === 'direct' && depthwiseOk) return 'depthwise';
  if (forced === 'im2col' && im2colOk) return 'im2col';
  if (depthwiseOk) return 'depthwise';
  if (im2colOk) return 'im2col';
  return 'reference';
}

// Conv: X [N, C, D1..Dn], W [M, C/group, k1..kn], B [M]? -> Y [N, M, O1..On]   (n = 1..3)
function prepareConv(ctx: PrepareContext): PreparedKernel {
  const x = requireInput(ctx, 0);
  const w = requireInput(ctx, 1);
  const b = ctx.inputs[2];
  const kind = requireFloatInput(ctx, 0);
  if (requireFloatInput(ctx, 1) !== kind || (b !== undefined && requireFloatInput(ctx, 2) !== kind)) {
    throw kernelError(ctx, `X, W and B must share one dtype, got ${x.dtype}, ${w.dtype}, ${b?.dtype ?? '-'}`);
  }
  const rank = x.shape.length - 2;
  if (rank < 1) throw kernelError(ctx, `X must have rank >= 3, got [${x.shape}]`);
  if (w.shape.length !== rank + 2) throw kernelError(ctx, `W rank ${w.shape.length} does not match X rank ${x.shape.length}`);
  if (rank > 3) throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${rank}-D convolution is not supported (at most 3-D)`);
  const group = attrInt(ctx.node, 'group', 1);
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  const M = w.shape[0]!;
  if (group < 1 || C % group !== 0 || M % group !== 0 || w.shape[1]! * group !== C) {
    throw kernelError(ctx, `group ${group} does not fit X channels ${C}, W [${w.shape}]`);
  }
  if (b !== undefined && (b.shape.length !== 1 || b.shape[0] !== M)) throw kernelError(ctx, `B must be [${M}], got [${b.shape}]`);
  const wKernel = w.shape.slice(2);
  const attrs = readWindowAttrs(ctx, rank, wKernel);
  if (attrs.kernel.some((k, i) => k !== wKernel[i])) throw kernelError(ctx, `kernel_shape [${attrs.kernel}] does not match W [${w.shape}]`);
  const geo = forwardGeometry(ctx, x.shape.slice(2), attrs);
  const p: ConvProblem = { batch: N, inChannels: C, outChannels: M, group, geo: liftGeometry(geo, 3) };
  const outputs = [{ dtype: x.dtype, shape: [N, M, ...geo.outSize] }];
  const path = chooseConvPath(ctx, p, kind === 'f32');
  if (path === 'im2col') {
    const plan = planIm2col(p);
    return {
      outputs,
      scratch: plan.scratchLength > 0 ? [{ dtype: 'float32', length: plan.scratchLength }] : [],
      run(inputs, outs, scratch) {
        convIm2col(p, plan, inputs[0] as Float32Array, inputs[1] as Float32Array, inputs[2] as Float32Array | undefined, outs[0] as Float32Array, scratch[0] as Float32Array | undefined);
      },
    };
  }
  if (path === 'depthwise') {
    const plan = planDepthwise(p);
    return {
      outputs,
      run(inputs, outs) {
        convDepthwise(p, plan, inputs[0] as FloatArray, inputs[1] as FloatArray, inputs[2] as FloatArray | undefined, outs[0] as FloatArray);
      },
    };
  }
  return {
    outputs,
    run(inputs, outs) {
      convReference(p, inputs[0] as FloatArray, inputs[1] as FloatArray, inputs[2] as FloatArray | undefined, outs[0] as FloatArray);
    },
  };
}

export const convKernel: KernelDef = { opType: 'Conv', prepare: prepareConv };
