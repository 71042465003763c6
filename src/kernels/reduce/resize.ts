import { sizeOf, type DType, type TensorType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat, attrFloats, attrInt, attrInts, attrString } from '../../graph/attributes.js';
import { kernelError, requireConstant, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { normalizeAxis, product, requireFloat, stridesOf, tensorNumbers } from './common.js';

type Mode = 'nearest' | 'linear' | 'cubic';

/** Everything Resize needs per node, read once from attributes and constant inputs. */
interface ResizeParams {
  mode: Mode;
  coord: string;
  nearestMode: string;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
  antialias: boolean;
  /** Per input axis: scale, output length, and the roi (only read by tf_crop_and_resize). */
  scales: number[];
  outShape: number[];
  /**
   * The resized length as a real number: scale * in when scales are given, the size otherwise. The ONNX
   * reference uses it (not the floored length) in align_corners and tf_crop_and_resize.
   */
  resizedLength: number[];
  roiStart: number[];
  roiEnd: number[];
}

/**
 * One axis of the separable resampling: output j reads taps idx[j*T + t] (clamped input indices) with
 * weights w[j*T + t]; extrapolate[j] marks outputs outside a tf_crop_and_resize roi.
 */
interface AxisTable {
  taps: number;
  idx: Int32Array;
  w: Float64Array;
  extrapolate: Uint8Array;
  identity: boolean;
}

/**
 * Output coordinate -> input coordinate (ONNX Resize, coordinate_transformation_mode).
 * `scale` is the axis scale, `inLen`/`outLen` the lengths, `start`/`end` the roi for tf_crop_and_resize.
 */
export function originalCoordinate(
  coord: string,
  j: number,
  scale: number,
  inLen: number,
  outLen: number,
  lengthF: number,
  start: number,
  end: number,
): number {
  switch (coord) {
    case 'half_pixel':
      return (j + 0.5) / scale - 0.5;
    case 'half_pixel_symmetric': {
      // Centres the sampled window when outLen was rounded from scale*inLen (opset 19).
      const adjustment = outLen / (scale * inLen);
      const offset = (inLen / 2) * (1 - adjustment);
      return offset + (j + 0.5) / scale - 0.5;
    }
    case 'pytorch_half_pixel':
      return outLen > 1 ? (j + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return lengthF === 1 ? 0 : (j * (inLen - 1)) / (lengthF - 1);
    case 'asymmetric':
      return j / scale;
    case 'tf_half_pixel_for_nn':
      return (j + 0.5) / scale;
    case 'tf_crop_and_resize':
      return lengthF !== 1
        ? start * (inLen - 1) + (j * (end - start) * (inLen - 1)) / (lengthF - 1)
        : 0.5 * (start + end) * (inLen - 1);
    default:
      throw new Error(`unknown coordinate_transformation_mode ${coord}`);
  }
}

/** nearest_mode rounding; 'legacy' is Resize-10/Upsample: floor when upsampling, ceil when downsampling. */
function roundNearest(mode: string, x: number, scale: number): number {
  switch (mode) {
    case 'round_prefer_floor':
      return x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil':
      return x - Math.floor(x) === 0.5 ? Math.ceil(x) : Math.round(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    default:
      return scale < 1 ? Math.ceil(x) : Math.floor(x);
  }
}

/** Keys' cubic convolution kernel W(d) with parameter A (ONNX cubic_coeff_a). */
function cubicKernel(d: number, A: number): number {
  const t = Math.abs(d);
  if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
  return 0;
}

/**
 * Builds one axis's tap table. With antialias and scale < 1 the kernel is stretched by 1/scale
 * (more taps, weights evaluated at distance*scale and normalised), as in ONNX Resize-18.
 */
function buildAxisTable(p: ResizeParams, axis: number, inLen: number): AxisTable {
  const outLen = p.outShape[axis]!;
  const scale = p.scales[axis]!;
  const s = p.antialias && scale < 1 && p.mode !== 'nearest' ? scale : 1;
  const reach = p.mode === 'cubic' ? 2 : 1;
  // Taps cover input offsets k in [start, start+T) around floor(x).
  const start = p.mode === 'nearest' ? 0 : Math.floor(-reach / s) + 1;
  const T = p.mode === 'nearest' ? 1 : 2 - 2 * start;
  const idx = new Int32Array(outLen * T);
  const w = new Float64Array(outLen * T);
  const extrapolate = new Uint8Array(outLen);
  let identity = outLen === inLen;
  for (let j = 0; j < outLen; j++) {
    const x = originalCoordinate(p.coord, j, scale, inLen, outLen, p.resizedLength[axis]!, p.roiStart[axis]!, p.roiEnd[axis]!);
    if (x !== j) identity = false;
    if (p.coord === 'tf_crop_and_resize' && (x < 0 || x > inLen - 1)) {
      extrapolate[j] = 1;
      identity = false;
      continue;
    }
    if (p.mode === 'nearest') {
      idx[j] = clamp(roundNearest(p.nearestMode, x, scale), inLen);
      w[j] = 1;
      continue;
    }
    const x0 = Math.floor(x);
    const ratio = x - x0;
    let sum = 0;
    for (let t = 0; t < T; t++) {
      const k = x0 + start + t;
      const d = (start + t - ratio) * s;
      let wt = p.mode === 'cubic' ? cubicKernel(d, p.cubicA) : Math.max(0, 1 - Math.abs(d));
      if (p.excludeOutside && (k < 0 || k >= inLen)) wt = 0;
      idx[j * T + t] = clamp(k, inLen);
      w[j * T + t] = wt;
      sum += wt;
    }
    // Renormalise when taps were dropped (exclude_outside) or the kernel was stretched (antialias).
    if ((p.excludeOutside || s !== 1) && sum !== 0) for (let t = 0; t < T; t++) w[j * T + t]! /= sum;
  }
  return { taps: T, idx, w, extrapolate, identity };
}

function clamp(i: number, len: number): number {
  return i < 0 ? 0 : i >= len ? len - 1 : i;
}

/** Nearest resampling of any dtype: each output element copies one input element (or the extrapolation value). */
function nearestRun(inShape: number[], outShape: number[], tables: AxisTable[], fill: unknown): PreparedKernel['run'] {
  const rank = outShape.length;
  const inStrides = stridesOf(inShape);
  // Per axis: input offset contribution of output index j, or -1 when it lies outside the crop roi.
  const offsets = tables.map((t, d) => Int32Array.from(t.idx, (v, j) => (t.extrapolate[j] ? -1 : v * inStrides[d]!)));
  const last = Math.max(rank - 1, 0);
  const rowLen = rank === 0 ? 1 : outShape[last]!;
  const rows = rank === 0 ? 1 : product(outShape, 0, last);
  const counter = new Array<number>(rank).fill(0);
  return (inputs, outputs) => {
    const x = inputs[0]! as unknown as ArrayLike<unknown>;
    const y = outputs[0]! as unknown as unknown[];
    counter.fill(0);
    if (rank === 0) {
      y[0] = x[0];
      return;
    }
    const lastOff = offsets[last]!;
    for (let r = 0; r < rows; r++) {
      let base = 0;
      let outside = false;
      for (let d = 0; d < last; d++) {
        const o = offsets[d]![counter[d]!]!;
        if (o < 0) outside = true;
        base += o;
      }
      const yb = r * rowLen;
      for (let j = 0; j < rowLen; j++) {
        const o = lastOff[j]!;
        y[yb + j] = outside || o < 0 ? fill : x[base + o];
      }
      for (let d = last - 1; d >= 0; d--) {
        if (++counter[d]! < outShape[d]!) break;
        counter[d] = 0;
      }
    }
  };
}

/** One separable pass along `axis`: y(outer, j, inner) = Σ_t w[j,t] · x(outer, idx[j,t], inner). */
function interpolateAxis(
  x: Float32Array | Float64Array,
  y: Float32Array | Float64Array,
  outer: number,
  inLen: number,
  inner: number,
  table: AxisTable,
  fill: number,
): void {
  const { taps, idx, w, extrapolate } = table;
  const outLen = extrapolate.length;
  if (inner === 1) {
    // Last axis: one dot product of `taps` weights per output element.
    for (let o = 0; o < outer; o++) {
      const xb = o * inLen;
      const yb = o * outLen;
      for (let j = 0; j < outLen; j++) {
        if (extrapolate[j]) {
          y[yb + j] = fill;
          continue;
        }
        let acc = 0;
        for (let t = j * taps; t < (j + 1) * taps; t++) acc += w[t]! * x[xb + idx[t]!]!;
        y[yb + j] = acc;
      }
    }
    return;
  }
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < outLen; j++) {
      const yb = (o * outLen + j) * inner;
      if (taps === 2 && !extrapolate[j] && w[2 * j] !== 0 && w[2 * j + 1] !== 0) {
        // Linear: one streaming pass over two contiguous input rows (zero-weight taps keep the generic
        // loop, which skips them, so an Inf there does not turn into NaN).
        const w0 = w[2 * j]!, w1 = w[2 * j + 1]!;
        const x0 = (o * inLen + idx[2 * j]!) * inner, x1 = (o * inLen + idx[2 * j + 1]!) * inner;
        for (let i = 0; i < inner; i++) y[yb + i] = w0 * x[x0 + i]! + w1 * x[x1 + i]!;
        continue;
      }
      if (extrapolate[j]) {
        y.fill(fill, yb, yb + inner);
        continue;
      }
      y.fill(0, yb, yb + inner);
      for (let t = 0; t < taps; t++) {
        const wt = w[j * taps + t]!;
        if (wt === 0) continue;
        const xb = (o * inLen + idx[j * taps + t]!) * inner;
        for (let i = 0; i < inner; i++) y[yb + i]! += wt * x[xb + i]!;
      }
    }
  }
}

/** Linear/cubic: one pass per resized axis, ping-ponging through two scratch buffers. */
/**
 * Relative cost of resizing `axes` in this order: outputs × taps per pass, the last-axis pass (a gather per
 * output) weighted 3× against the others (contiguous row blends).
 */
function passOrderCost(shape: readonly number[], p: ResizeParams, tables: AxisTable[], axes: number[]): number {
  const cur = [...shape];
  let cost = 0;
  for (const a of axes) {
    cur[a] = p.outShape[a]!;
    cost += sizeOf(cur) * tables[a]!.taps * (a === cur.length - 1 ? 3 : 1);
  }
  return cost;
}

function permutations(v: number[]): number[][] {
  if (v.length <= 1) return [v];
  return v.flatMap((a, i) => permutations([...v.slice(0, i), ...v.slice(i + 1)]).map((rest) => [a, ...rest]));
}

/**
 * The separable passes commute (up to float rounding), so run them in the cheapest order: upsampling
 * [21, 14, 14] to [21, 224, 224] along W first gathers 66k outputs and leaves the 1M-output pass to H's
 * row blends, instead of gathering all 1M along W last.
 */
function cheapestAxisOrder(shape: readonly number[], p: ResizeParams, tables: AxisTable[], axes: number[]): number[] {
  if (axes.length < 2 || axes.length > 4) return axes;
  let best = axes;
  let bestCost = passOrderCost(shape, p, tables, axes);
  for (const order of permutations(axes)) {
    const cost = passOrderCost(shape, p, tables, order);
    if (cost < bestCost) [best, bestCost] = [order, cost];
  }
  return best;
}

function separablePlan(x: TensorType, p: ResizeParams, tables: AxisTable[]): PreparedKernel {
  const resized = tables.map((t, d) => (t.identity ? -1 : d)).filter((d) => d >= 0);
  const axes = cheapestAxisOrder(x.shape, p, tables, resized);
  const passes: { axis: number; outer: number; inLen: number; inner: number }[] = [];
  const cur = [...x.shape];
  let scratchLen = 0;
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i]!;
    passes.push({ axis: a, outer: product(cur, 0, a), inLen: cur[a]!, inner: product(cur, a + 1) });
    cur[a] = p.outShape[a]!;
    if (i < axes.length - 1) scratchLen = Math.max(scratchLen, sizeOf(cur));
  }
  const nScratch = Math.min(2, Math.max(0, axes.length - 1));
  const scratch = Array.from({ length: nScratch }, () => ({ dtype: x.dtype, length: scratchLen }));
  return {
    outputs: [{ dtype: x.dtype, shape: [...p.outShape] }],
    scratch,
    run(inputs, outputs, scr) {
      const xin = inputs[0] as Float32Array | Float64Array;
      const y = outputs[0] as Float32Array | Float64Array;
      if (passes.length === 0) {
        y.set(xin);
        return;
      }
      let src = xin;
      for (let i = 0; i < passes.length; i++) {
        const ps = passes[i]!;
        const dst = i === passes.length - 1 ? y : (scr[i % 2] as Float32Array | Float64Array);
        interpolateAxis(src, dst, ps.outer, ps.inLen, ps.inner, tables[ps.axis]!, p.extrapolation);
        src = dst;
      }
    },
  };
}

function fillValue(dtype: DType, v: number): unknown {
  if (dtype === 'int64' || dtype === 'uint64') return BigInt(Math.trunc(v));
  if (dtype === 'string') return '';
  return v;
}

function prepareResample(ctx: PrepareContext, x: TensorType, p: ResizeParams): PreparedKernel {
  for (const d of p.outShape) if (!Number.isInteger(d) || d < 0) throw kernelError(ctx, `invalid output shape [${p.outShape}]`);
  const tables = x.shape.map((len, d) => buildAxisTable(p, d, len));
  if (p.mode === 'nearest') {
    return { outputs: [{ dtype: x.dtype, shape: [...p.outShape] }], run: nearestRun([...x.shape], p.outShape, tables, fillValue(x.dtype, p.extrapolation)) };
  }
  requireFloat(ctx, x.dtype, `${p.mode} Resize of an input`);
  return separablePlan(x, p, tables);
}

function readMode(ctx: PrepareContext): Mode {
  const mode = attrString(ctx.node, 'mode', 'nearest');
  if (mode === 'nearest' || mode === 'linear' || mode === 'cubic') return mode;
  if (mode === 'bilinear') return 'linear';
  throw new UnsupportedError(`${nodeLabel(ctx.node)}: mode '${mode}' is not supported`);
}

const COORD_MODES = new Set([
  'half_pixel',
  'half_pixel_symmetric',
  'pytorch_half_pixel',
  'align_corners',
  'asymmetric',
  'tf_half_pixel_for_nn',
  'tf_crop_and_resize',
]);
const NEAREST_MODES = new Set(['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']);

/** An optional input that is present and not an empty placeholder tensor. */
function presentInput(ctx: PrepareContext, i: number): boolean {
  const t = ctx.inputs[i];
  return t !== undefined && sizeOf(t.shape) > 0;
}

/** Scales applied to the whole shape: output dim = floor(in * scale) (ONNX Resize/Upsample). */
function fromScales(
  ctx: PrepareContext,
  shape: readonly number[],
  scales: number[],
): { scales: number[]; outShape: number[]; resizedLength: number[] } {
  if (scales.length !== shape.length) throw kernelError(ctx, `scales has ${scales.length} values for rank ${shape.length}`);
  for (const s of scales) if (!(s > 0)) throw kernelError(ctx, `scales must be positive, got [${scales}]`);
  return { scales, outShape: shape.map((d, i) => Math.floor(d * scales[i]!)), resizedLength: shape.map((d, i) => d * scales[i]!) };
}

function baseParams(ctx: PrepareContext, rank: number, mode: Mode, legacy: boolean): ResizeParams {
  const coord = legacy ? 'asymmetric' : attrString(ctx.node, 'coordinate_transformation_mode', 'half_pixel');
  const nearestMode = legacy ? 'legacy' : attrString(ctx.node, 'nearest_mode', 'round_prefer_floor');
  if (!COORD_MODES.has(coord)) throw new UnsupportedError(`${nodeLabel(ctx.node)}: coordinate_transformation_mode '${coord}' is not supported`);
  if (!legacy && !NEAREST_MODES.has(nearestMode)) throw new UnsupportedError(`${nodeLabel(ctx.node)}: nearest_mode '${nearestMode}' is not supported`);
  return {
    mode,
    coord,
    nearestMode,
    cubicA: attrFloat(ctx.node, 'cubic_coeff_a', -0.75),
    excludeOutside: attrInt(ctx.node, 'exclude_outside', 0) !== 0,
    extrapolation: attrFloat(ctx.node, 'extrapolation_value', 0),
    antialias: attrInt(ctx.node, 'antialias', 0) !== 0,
    scales: new Array<number>(rank).fill(1),
    outShape: [],
    resizedLength: [],
    roiStart: new Array<number>(rank).fill(0),
    roiEnd: new Array<number>(rank).fill(1),
  };
}

/**
 * Resize (ONNX 10, 11, 13, 18, 19). Opset 10: (X, scales), asymmetric coordinates.
 * Opset 11+: (X, roi, scales, sizes), exactly one of scales/sizes; opset 18 adds `axes` and keep_aspect_ratio_policy.
 */
export const resizeKernel: KernelDef = {
  opType: 'Resize',
  prepare(ctx) {
    // X (d0..dn-1) -> Y (out0..outn-1)
    const x = requireInput(ctx, 0);
    const rank = x.shape.length;
    const mode = readMode(ctx);
    if (ctx.opset < 11) {
      const p = baseParams(ctx, rank, mode, true);
      Object.assign(p, fromScales(ctx, x.shape, tensorNumbers(requireConstant(ctx, 1))));
      return prepareResample(ctx, x, p);
    }
    const p = baseParams(ctx, rank, mode, false);
    const axesAttr = ctx.opset >= 18 ? attrInts(ctx.node, 'axes') : undefined;
    const axes = axesAttr ? axesAttr.map((a) => normalizeAxis(ctx, a, rank, 'axes entry')) : x.shape.map((_, i) => i);
    if (p.coord === 'tf_crop_and_resize' && presentInput(ctx, 1)) {
      const roi = tensorNumbers(requireConstant(ctx, 1));
      if (roi.length !== 2 * axes.length) throw kernelError(ctx, `roi has ${roi.length} values, expected ${2 * axes.length}`);
      axes.forEach((a, i) => {
        p.roiStart[a] = roi[i]!;
        p.roiEnd[a] = roi[axes.length + i]!;
      });
    }
    const hasScales = presentInput(ctx, 2);
    const hasSizes = presentInput(ctx, 3);
    if (hasScales === hasSizes) throw kernelError(ctx, 'exactly one of scales and sizes must be given');
    p.outShape = [...x.shape];
    p.resizedLength = [...x.shape];
    if (hasScales) {
      const scales = tensorNumbers(requireConstant(ctx, 2));
      if (scales.length !== axes.length) throw kernelError(ctx, `scales has ${scales.length} values for ${axes.length} axes`);
      axes.forEach((a, i) => {
        if (!(scales[i]! > 0)) throw kernelError(ctx, `scales must be positive, got [${scales}]`);
        p.scales[a] = scales[i]!;
        p.outShape[a] = Math.floor(x.shape[a]! * scales[i]!);
        p.resizedLength[a] = x.shape[a]! * scales[i]!;
      });
    } else {
      const sizes = tensorNumbers(requireConstant(ctx, 3));
      if (sizes.length !== axes.length) throw kernelError(ctx, `sizes has ${sizes.length} values for ${axes.length} axes`);
      applySizes(ctx, p, x.shape, axes, sizes);
    }
    return prepareResample(ctx, x, p);
  },
};

/** sizes -> per-axis scales; keep_aspect_ratio_policy (opset 18) picks one common scale for all axes. */
function applySizes(ctx: PrepareContext, p: ResizeParams, shape: readonly number[], axes: number[], sizes: number[]): void {
  const policy = ctx.opset >= 18 ? attrString(ctx.node, 'keep_aspect_ratio_policy', 'stretch') : 'stretch';
  if (policy === 'stretch') {
    axes.forEach((a, i) => {
      p.outShape[a] = sizes[i]!;
      p.resizedLength[a] = sizes[i]!;
      p.scales[a] = sizes[i]! / shape[a]!;
    });
    return;
  }
  if (policy !== 'not_larger' && policy !== 'not_smaller') {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: keep_aspect_ratio_policy '${policy}' is not supported`);
  }
  const ratios = axes.map((a, i) => sizes[i]! / shape[a]!);
  const scale = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
  for (const a of axes) {
    p.scales[a] = scale;
    // Spec: round half up of scale * in_size.
    p.outShape[a] = Math.floor(scale * shape[a]! + 0.5);
    p.resizedLength[a] = p.outShape[a]!;
  }
}

/** Upsample (ONNX 7: scales attribute, 9: scales input): the deprecated nearest/linear Resize with asymmetric coordinates. */
export const upsampleKernel: KernelDef = {
  opType: 'Upsample',
  prepare(ctx) {
    // X (d0..dn-1) -> Y (floor(di * scale_i))
    const x = requireInput(ctx, 0);
    const mode = readMode(ctx);
    if (mode === 'cubic') throw new UnsupportedError(`${nodeLabel(ctx.node)}: Upsample has no cubic mode`);
    const p = baseParams(ctx, x.shape.length, mode, true);
    const scales = ctx.opset >= 9 ? tensorNumbers(requireConstant(ctx, 1)) : attrFloats(ctx.node, 'scales');
    if (scales === undefined) throw kernelError(ctx, "attribute 'scales' is required");
    Object.assign(p, fromScales(ctx, x.shape, scales));
    return prepareResample(ctx, x, p);
  },
};
