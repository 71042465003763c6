import { attrInt } from '../../graph/attributes.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { kernelError, requireInput, type PrepareContext, type TensorType } from '../kernel.js';
import { forwardGeometry, liftGeometry, readWindowAttrs } from './geometry.js';
import { depthwiseApplies } from './depthwise.js';
import { planIm2col } from './im2col.js';
import { winogradApplies, type WinogradVariant } from './winograd.js';
import type { ConvProblem } from './reference.js';

/** The algorithm one Conv runs (chosen at prepare; `convPathOf` names it for reports). */
export type ConvPath =
  | 'reference'
  | 'im2col'
  | 'im2col-packed'
  | 'pointwise-packed'
  | 'winograd-f23'
  | 'winograd-f43'
  | 'winograd-f63'
  | 'depthwise';

/** Float types whose storage the conv paths read (narrow floats are widened to Float32Array). */
export function requireFloatInput(ctx: PrepareContext, i: number): 'f32' | 'f64' {
  const t = requireInput(ctx, i);
  if (t.dtype === 'float64') return 'f64';
  if (t.dtype === 'float32' || t.dtype === 'float16' || t.dtype === 'bfloat16') return 'f32';
  throw new UnsupportedError(`${nodeLabel(ctx.node)}: input ${i} has dtype ${t.dtype}; only float16/bfloat16/float32/float64 are supported`);
}

/**
 * X, W and optional B of a Conv or ConvTranspose: one float dtype, W's rank matching X's, 1 to 3 spatial dims.
 * `op` names the operator in the unsupported-rank message.
 */
export function convOperands(ctx: PrepareContext, op: string): {
  x: TensorType; w: TensorType; b: TensorType | undefined; kind: 'f32' | 'f64'; rank: number;
} {
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
  if (rank > 3) throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${rank}-D ${op} is not supported (at most 3-D)`);
  return { x, w, b, kind, rank };
}

/**
 * The Winograd tile for a 3×3 layer, by measurement on bench/conv.mjs (CPU-time medians): F(4,3) beats
 * im2col + packed GEMM from 64 to 512 channels and from 56×56 down to 7×7 images; F(6,3) never beats F(4,3)
 * here (its transforms are generic loops, its tiles waste more at small images, and its float32 error is
 * larger), so it is only run when a test or benchmark asks for it. With few channels the transforms are
 * not amortised and im2col stays. (F(2,3), with 16 instead of 36 filter positions to stream, beat F(4,3) on
 * 512 channels at 7×7 only while the wasm GEMM read each weight panel in 256-deep K blocks; with whole-K
 * blocks (src/wasm/gemm.ts) F(4,3) is ahead there too: 2.0 vs 3.7 ms.)
 */
export function autoWinogradVariant(p: ConvProblem): WinogradVariant | undefined {
  const C = p.inChannels;
  const M = p.outChannels;
  const outPixels = p.geo.outSize[1]! * p.geo.outSize[2]!;
  if (C < 16 || M < 16 || outPixels < 16) return undefined;
  return 'f43';
}

/**
 * Picks the path: a forced ctx.options.convAlgorithm when it applies to this problem, else depthwise for
 * one-channel groups, Winograd for 3×3 stride-1 layers it pays off on, im2col + packed GEMM for other float32
 * convs with constant weights (1×1 stride-1 convs skip the im2col copy), im2col + sgemm when the weights are
 * only known at run time, and the reference loop for float64.
 */
export function chooseConvPath(ctx: PrepareContext, p: ConvProblem, isF32: boolean, weightsConstant: boolean): ConvPath {
  const forced = ctx.options.convAlgorithm ?? 'auto';
  if (forced === 'reference' || !isF32 && !depthwiseApplies(p)) return 'reference';
  const depthwiseOk = depthwiseApplies(p);
  const packedOk = isF32 && weightsConstant;
  const winogradOk = packedOk && winogradApplies(p);
  const gemmPath: ConvPath = !isF32 ? 'reference' : !packedOk ? 'im2col' : planIm2col(p).pointwise ? 'pointwise-packed' : 'im2col-packed';
  if (forced === 'direct' && depthwiseOk) return 'depthwise';
  if (forced === 'im2col') return gemmPath;
  if (forced === 'winograd' && winogradOk) return `winograd-${autoWinogradVariant(p) ?? 'f43'}`;
  if (depthwiseOk) return 'depthwise';
  if (winogradOk) {
    const v = autoWinogradVariant(p);
    if (v !== undefined) return `winograd-${v}`;
  }
  return gemmPath;
}

/** Validates a Conv node and returns its problem (geometry lifted to 3-D) and output type. */
export function convProblemOf(ctx: PrepareContext): { p: ConvProblem; kind: 'f32' | 'f64'; outputs: TensorType[] } {
  const { x, w, b, kind, rank } = convOperands(ctx, 'convolution');
  const group = attrInt(ctx.node, 'group', 1);
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  const M = w.shape[0]!;
  if (group < 1 || C % group !== 0 || M % group !== 0 || w.shape[1]! * group !== C) {
    throw kernelError(ctx, `group ${group} does not fit X channels ${C}, W [${w.shape}]`);
  }
  if (b !== undefined && (b.shape.length !== 1 || b.shape[0] !== M)) throw kernelError(ctx, `B must be [${M}], got [${b.shape}]`);
  const wKernel = w.shape.slice(2);
  const attrs = readWindowAttrs(ctx, rank, wKernel);
  for (let i = 0; i < rank; i++) if (attrs.kernel[i] !== wKernel[i]) throw kernelError(ctx, `kernel_shape [${attrs.kernel}] does not match W [${w.shape}]`);
  const geo = forwardGeometry(ctx, x.shape.slice(2), attrs);
  const p: ConvProblem = { batch: N, inChannels: C, outChannels: M, group, geo: liftGeometry(geo, 3) };
  return { p, kind, outputs: [{ dtype: x.dtype, shape: [N, M].concat(geo.outSize) }] };
}

/** '3x3/2 g32' : kernel, stride, and the group count when grouped (for profile details). */
export function geometryTag(p: ConvProblem): string {
  const g = p.geo;
  const kernel = g.inSize[0] === 1 && g.kernel[0] === 1 ? `${g.kernel[1]}x${g.kernel[2]}` : g.kernel.join('x');
  const stride = g.strides[1] === g.strides[2] ? `${g.strides[1]}` : `${g.strides[1]},${g.strides[2]}`;
  return `${kernel}/${stride}${p.group > 1 ? ` g${p.group}` : ''}`;
}

/**
 * The algorithm family the convAlgorithm option alone would pick for this Conv (for reports such as
 * bench/conv-paths.mjs); the variant that runs is chosen by the table in variants.ts (session.profile() names it).
 */
export function convPathOf(ctx: PrepareContext): ConvPath {
  const { p, kind } = convProblemOf(ctx);
  return chooseConvPath(ctx, p, kind === 'f32', ctx.constants[1] !== undefined);
}
