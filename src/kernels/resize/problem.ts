import { sizeOf, type TensorType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat, attrFloats, attrInt, attrInts, attrString } from '../../graph/attributes.js';
import { kernelError, requireConstant, requireInput, type PrepareContext } from '../kernel.js';
import { normalizeAxis, tensorNumbers } from '../reduce/common.js';
import { COORDINATE_MODES, NEAREST_MODES, type CoordinateMode, type NearestMode } from './coordinates.js';

const fr = Math.fround;

export type ResizeMode = 'nearest' | 'linear' | 'cubic';

/**
 * How onnxruntime's CPU kernel computes this node, which tinfer reproduces bit for bit:
 * - 'copy': output shape equals input shape (onnxruntime copies, whatever the coordinate mode);
 * - 'nearest': any rank and dtype;
 * - 'bilinear': linear over two axes of [H, W], [N, C, H, W] (scales 1 on N, C) or [N, H, W, C] (1 on N, C);
 * - 'trilinear': linear over [D, H, W] or [N, C, D, H, W] (scales 1 on N, C);
 * - 'bicubic': cubic over [H, W] or [N, C, H, W] (scales 1 on N, C);
 * - 'separable': everything onnxruntime refuses (linear or cubic on other axes, antialias): one pass per axis.
 */
export type ResizeKind = 'copy' | 'nearest' | 'bilinear' | 'trilinear' | 'bicubic' | 'separable';

/** Everything a Resize variant needs, read once at prepare from attributes and constant inputs. */
export interface ResizeProblem {
  readonly opType: string;
  readonly x: TensorType;
  readonly outShape: number[];
  readonly mode: ResizeMode;
  readonly coord: CoordinateMode;
  readonly nearestMode: NearestMode;
  /** float32, as onnxruntime reads the attributes. */
  readonly cubicA: number;
  readonly excludeOutside: boolean;
  readonly extrapolation: number;
  readonly antialias: boolean;
  /** Per axis, the float32 scale (sizes given: out / in in float32). */
  readonly scales: number[];
  /**
   * Per axis, the resized length the coordinate transform divides by: the output length, as onnxruntime uses it,
   * except for align_corners and tf_crop_and_resize with scales whose product scale·in is not a whole number,
   * where tinfer keeps the ONNX reference's real-valued scale·in (onnxruntime's floored length moves samples
   * by up to a pixel there, and the ONNX conformance tests expect the reference).
   */
  readonly lengthResized: number[];
  readonly roiStart: number[];
  readonly roiEnd: number[];
  /** tf_crop_and_resize: coordinates outside the input give `extrapolation`. */
  readonly extrapolate: boolean;
  readonly kind: ResizeKind;
}

function readMode(ctx: PrepareContext): ResizeMode {
  const mode = attrString(ctx.node, 'mode', 'nearest');
  if (mode === 'nearest' || mode === 'linear' || mode === 'cubic') return mode;
  if (mode === 'bilinear') return 'linear';
  throw new UnsupportedError(`${nodeLabel(ctx.node)}: mode '${mode}' is not supported`);
}

/** An optional input that is present and not an empty placeholder tensor. */
function presentInput(ctx: PrepareContext, i: number): boolean {
  const t = ctx.inputs[i];
  return t !== undefined && sizeOf(t.shape) > 0;
}

interface Partial {
  opType: string;
  x: TensorType;
  mode: ResizeMode;
  coord: CoordinateMode;
  nearestMode: NearestMode;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
  antialias: boolean;
  scales: number[];
  outShape: number[];
  fromScales: boolean[];
  roiStart: number[];
  roiEnd: number[];
}

function base(ctx: PrepareContext, x: TensorType, legacy: boolean): Partial {
  const rank = x.shape.length;
  const mode = readMode(ctx);
  const coord = legacy ? 'asymmetric' : attrString(ctx.node, 'coordinate_transformation_mode', 'half_pixel');
  const nearestMode = legacy ? 'legacy' : attrString(ctx.node, 'nearest_mode', 'round_prefer_floor');
  if (!COORDINATE_MODES.has(coord)) throw new UnsupportedError(`${nodeLabel(ctx.node)}: coordinate_transformation_mode '${coord}' is not supported`);
  if (!legacy && !NEAREST_MODES.has(nearestMode)) throw new UnsupportedError(`${nodeLabel(ctx.node)}: nearest_mode '${nearestMode}' is not supported`);
  return {
    opType: ctx.node.opType,
    x,
    mode,
    coord: coord as CoordinateMode,
    nearestMode: nearestMode as NearestMode,
    cubicA: fr(attrFloat(ctx.node, 'cubic_coeff_a', -0.75)),
    excludeOutside: attrInt(ctx.node, 'exclude_outside', 0) !== 0,
    extrapolation: fr(attrFloat(ctx.node, 'extrapolation_value', 0)),
    antialias: attrInt(ctx.node, 'antialias', 0) !== 0,
    scales: new Array<number>(rank).fill(1),
    outShape: [...x.shape],
    fromScales: new Array<boolean>(rank).fill(false),
    roiStart: new Array<number>(rank).fill(0),
    roiEnd: new Array<number>(rank).fill(1),
  };
}

/** Scales on `axes`: output length = trunc(float32(scale · in)), as onnxruntime computes it. */
function applyScales(ctx: PrepareContext, p: Partial, axes: number[], scales: number[]): void {
  if (scales.length !== axes.length) throw kernelError(ctx, `scales has ${scales.length} values for ${axes.length} axes`);
  axes.forEach((a, i) => {
    const s = fr(scales[i]!);
    if (!(s > 0)) throw kernelError(ctx, `scales must be positive, got [${scales}]`);
    p.scales[a] = s;
    p.outShape[a] = Math.trunc(fr(s * p.x.shape[a]!));
    p.fromScales[a] = true;
  });
}

/** sizes -> float32 scales out / in; keep_aspect_ratio_policy (opset 18) picks one common scale for all axes. */
function applySizes(ctx: PrepareContext, p: Partial, axes: number[], sizes: number[]): void {
  if (sizes.length !== axes.length) throw kernelError(ctx, `sizes has ${sizes.length} values for ${axes.length} axes`);
  const shape = p.x.shape;
  const policy = ctx.opset >= 18 ? attrString(ctx.node, 'keep_aspect_ratio_policy', 'stretch') : 'stretch';
  const ratio = (a: number, size: number) => (shape[a] === 0 ? 1 : fr(size / shape[a]!));
  if (policy === 'stretch') {
    axes.forEach((a, i) => {
      p.outShape[a] = sizes[i]!;
      p.scales[a] = ratio(a, sizes[i]!);
    });
    return;
  }
  if (policy !== 'not_larger' && policy !== 'not_smaller') {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: keep_aspect_ratio_policy '${policy}' is not supported`);
  }
  const ratios = axes.map((a, i) => ratio(a, sizes[i]!));
  const scale = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
  for (const a of axes) {
    p.scales[a] = scale;
    // std::round: halves away from zero (the lengths are positive).
    p.outShape[a] = Math.round(fr(scale * shape[a]!));
  }
}

function kindOf(p: Partial): ResizeKind {
  const s = p.scales;
  const rank = s.length;
  if (p.outShape.every((d, i) => d === p.x.shape[i])) return 'copy';
  if (p.mode === 'nearest') return 'nearest';
  if (p.antialias) return 'separable';
  if (p.mode === 'linear') {
    if (rank === 2 || (rank === 4 && s[0] === 1 && (s[1] === 1 || s[3] === 1))) return 'bilinear';
    if (rank === 3 || (rank === 5 && s[0] === 1 && s[1] === 1)) return 'trilinear';
    return 'separable';
  }
  return rank === 2 || (rank === 4 && s[0] === 1 && s[1] === 1) ? 'bicubic' : 'separable';
}

function finish(ctx: PrepareContext, p: Partial): ResizeProblem {
  for (const d of p.outShape) if (!Number.isInteger(d) || d < 0) throw kernelError(ctx, `invalid output shape [${p.outShape}]`);
  const realLength = p.coord === 'align_corners' || p.coord === 'tf_crop_and_resize';
  const lengthResized = p.outShape.map((d, a) => {
    const exact = fr(p.scales[a]! * p.x.shape[a]!);
    return realLength && p.fromScales[a] && !Number.isInteger(exact) ? exact : d;
  });
  const { fromScales: _fromScales, ...rest } = p;
  return { ...rest, lengthResized, extrapolate: p.coord === 'tf_crop_and_resize', kind: kindOf(p) };
}

/**
 * Resize (ONNX 10, 11, 13, 18, 19). Opset 10: (X, scales), asymmetric coordinates, legacy nearest rounding.
 * Opset 11+: (X, roi, scales, sizes), exactly one of scales/sizes; opset 18 adds `axes` and keep_aspect_ratio_policy.
 */
export function readResize(ctx: PrepareContext): ResizeProblem {
  // X (d0..dn-1) -> Y (out0..outn-1)
  const x = requireInput(ctx, 0);
  const rank = x.shape.length;
  const all = x.shape.map((_, i) => i);
  if (ctx.opset < 11) {
    const p = base(ctx, x, true);
    applyScales(ctx, p, all, tensorNumbers(requireConstant(ctx, 1)));
    return finish(ctx, p);
  }
  const p = base(ctx, x, false);
  const axesAttr = ctx.opset >= 18 ? attrInts(ctx.node, 'axes') : undefined;
  const axes = axesAttr ? axesAttr.map((a) => normalizeAxis(ctx, a, rank, 'axes entry')) : all;
  if (p.coord === 'tf_crop_and_resize' && presentInput(ctx, 1)) {
    const roi = tensorNumbers(requireConstant(ctx, 1));
    if (roi.length !== 2 * axes.length) throw kernelError(ctx, `roi has ${roi.length} values, expected ${2 * axes.length}`);
    axes.forEach((a, i) => {
      p.roiStart[a] = fr(roi[i]!);
      p.roiEnd[a] = fr(roi[axes.length + i]!);
    });
  }
  const hasScales = presentInput(ctx, 2);
  const hasSizes = presentInput(ctx, 3);
  if (hasScales === hasSizes) throw kernelError(ctx, 'exactly one of scales and sizes must be given');
  if (hasScales) applyScales(ctx, p, axes, tensorNumbers(requireConstant(ctx, 2)));
  else applySizes(ctx, p, axes, tensorNumbers(requireConstant(ctx, 3)));
  return finish(ctx, p);
}

/** Upsample (ONNX 7: scales attribute, 9: scales input): the deprecated nearest/linear Resize with asymmetric coordinates. */
export function readUpsample(ctx: PrepareContext): ResizeProblem {
  // X (d0..dn-1) -> Y (trunc(di * scale_i))
  const x = requireInput(ctx, 0);
  const p = base(ctx, x, true);
  if (p.mode === 'cubic') throw new UnsupportedError(`${nodeLabel(ctx.node)}: Upsample has no cubic mode`);
  const scales = ctx.opset >= 9 ? tensorNumbers(requireConstant(ctx, 1)) : attrFloats(ctx.node, 'scales');
  if (scales === undefined) throw kernelError(ctx, "attribute 'scales' is required");
  if (scales.length !== x.shape.length) throw kernelError(ctx, `scales has ${scales.length} values for rank ${x.shape.length}`);
  applyScales(ctx, p, x.shape.map((_, i) => i), scales);
  return finish(ctx, p);
}
