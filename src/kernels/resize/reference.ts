/**
 * The reference Resize: onnxruntime's CPU algorithms in its float32 operation order, so the bits match
 * (bilinear, trilinear, bicubic, nearest), and a separable pass per axis for what onnxruntime refuses
 * (antialias, linear/cubic on other axes). The wasm variants (resize.wasm.ts) compute the same bits.
 */
import { sizeOf, type DType, type TensorType } from '../../dtype.js';
import type { PreparedKernel } from '../kernel.js';
import { product, stridesOf } from '../reduce/common.js';
import {
  axisCoordinates, cubicAxis, linearAxis, nearestPixel, originalCoordinate, type CubicAxis, type LinearAxis,
} from './coordinates.js';
import type { ResizeProblem } from './problem.js';

const fr = Math.fround;
type Floats = Float32Array | Float64Array;

/** Input coordinates of one axis, as the problem's coordinate mode and scale give them. */
export function coordinatesOf(p: ResizeProblem, axis: number): Float32Array {
  return axisCoordinates(p.coord, p.outShape[axis]!, p.scales[axis]!, p.lengthResized[axis]!, p.x.shape[axis]!, p.roiStart[axis]!, p.roiEnd[axis]!);
}

/**
 * Per axis and output index, the input index nearest_mode picks (clamped), or −1 outside a tf_crop_and_resize
 * roi. An axis with scale 1 maps j to j (onnxruntime skips the transform there, except for rank 1).
 */
export function nearestIndices(p: ResizeProblem): Int32Array[] {
  const rank = p.x.shape.length;
  return p.outShape.map((outLen, a) => {
    const inLen = p.x.shape[a]!;
    const scale = p.scales[a]!;
    const idx = new Int32Array(outLen);
    for (let j = 0; j < outLen; j++) {
      if (scale === 1 && rank > 1) {
        idx[j] = j;
        continue;
      }
      const x = originalCoordinate(p.coord, j, scale, p.lengthResized[a]!, inLen, p.roiStart[a]!, p.roiEnd[a]!);
      if (p.extrapolate && (x < 0 || x > inLen - 1)) {
        idx[j] = -1;
        continue;
      }
      idx[j] = Math.min(Math.max(nearestPixel(p.nearestMode, x, scale < 1), 0), inLen - 1);
    }
    return idx;
  });
}

function fillValue(dtype: DType, v: number): unknown {
  if (dtype === 'int64' || dtype === 'uint64') return BigInt(Math.trunc(v));
  if (dtype === 'string') return '';
  if (dtype === 'bool') return v !== 0;
  return v;
}

/** Output shape equals input shape: onnxruntime copies the input, whatever the coordinate mode. */
function copyRun(): PreparedKernel['run'] {
  return (inputs, outputs) => {
    const x = inputs[0]! as unknown as ArrayLike<unknown>;
    const y = outputs[0]! as unknown as unknown[];
    for (let i = 0; i < y.length; i++) y[i] = x[i];
  };
}

/** Nearest of any dtype: each output element copies one input element (or the extrapolation value). */
function nearestRun(p: ResizeProblem): PreparedKernel['run'] {
  const outShape = p.outShape;
  const rank = outShape.length;
  const inStrides = stridesOf(p.x.shape);
  const fill = fillValue(p.x.dtype, p.extrapolation);
  // Per axis: input offset of output index j, or −1 outside the crop roi.
  const offsets = nearestIndices(p).map((idx, d) => Int32Array.from(idx, (v) => (v < 0 ? -1 : v * inStrides[d]!)));
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
    let prevBase = -1;
    let prevOutside = false;
    for (let r = 0; r < rows; r++) {
      let base = 0;
      let outside = false;
      for (let d = 0; d < last; d++) {
        const o = offsets[d]![counter[d]!]!;
        if (o < 0) outside = true;
        base += o;
      }
      const yb = r * rowLen;
      if (r > 0 && base === prevBase && outside === prevOutside) {
        // The same input row as the previous output row (upsampling): copy that row.
        (y as unknown as Float32Array).copyWithin(yb, yb - rowLen, yb);
      } else {
        for (let j = 0; j < rowLen; j++) {
          const o = lastOff[j]!;
          y[yb + j] = outside || o < 0 ? fill : x[base + o];
        }
      }
      prevBase = base;
      prevOutside = outside;
      for (let d = last - 1; d >= 0; d--) {
        if (++counter[d]! < outShape[d]!) break;
        counter[d] = 0;
      }
    }
  };
}

/**
 * The 2-D geometry of a bilinear or bicubic problem: `outer` independent [H, W, inner] blocks, H and W at
 * axes hAxis, hAxis + 1 ([N·C, H, W, 1] for NCHW and 2-D inputs, [N, H, W, C] for NHWC).
 */
export interface Plane2d {
  outer: number;
  inner: number;
  hAxis: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
}

export function plane2d(p: ResizeProblem): Plane2d {
  const s = p.x.shape;
  const rank = s.length;
  // NHWC only when the channel scale is not 1 (onnxruntime tests scales[1] == 1 first).
  const hAxis = rank === 2 ? 0 : p.scales[1] === 1 ? 2 : 1;
  const inner = rank === 4 && hAxis === 1 ? s[3]! : 1;
  return { outer: product(s, 0, hAxis), inner, hAxis, H: s[hAxis]!, W: s[hAxis + 1]!, OH: p.outShape[hAxis]!, OW: p.outShape[hAxis + 1]! };
}

/**
 * Bilinear: y = (dx2·dy2)·X11 + (dx1·dy2)·X21 + (dx2·dy1)·X12 + (dx1·dy1)·X22, each product and sum rounded to
 * float32 left to right (onnxruntime's UpsampleBilinear / NhwcUpsampleBilinear).
 * X [outer, H, W, inner] -> Y [outer, OH, OW, inner]
 */
export function bilinearPlanes(g: Plane2d, ya: LinearAxis, xa: LinearAxis, fill: number, x: Float32Array, y: Float32Array): void {
  const { outer, inner, W, H, OH, OW } = g;
  if (inner === 1) {
    bilinearNchw(g, ya, xa, fill, x, y);
    return;
  }
  for (let o = 0; o < outer; o++) {
    const xb = o * H * W * inner;
    let yi = o * OH * OW * inner;
    for (let oy = 0; oy < OH; oy++) {
      const r1 = xb + ya.i1[oy]! * W * inner;
      const r2 = xb + ya.i2[oy]! * W * inner;
      const dy1 = ya.d1[oy]!;
      const dy2 = ya.d2[oy]!;
      const rowOutside = ya.outside[oy] === 1;
      for (let ox = 0; ox < OW; ox++) {
        if (rowOutside || xa.outside[ox] === 1) {
          for (let c = 0; c < inner; c++) y[yi++] = fill;
          continue;
        }
        const c11 = fr(xa.d2[ox]! * dy2);
        const c21 = fr(xa.d1[ox]! * dy2);
        const c12 = fr(xa.d2[ox]! * dy1);
        const c22 = fr(xa.d1[ox]! * dy1);
        const x1 = xa.i1[ox]! * inner;
        const x2 = xa.i2[ox]! * inner;
        for (let c = 0; c < inner; c++) {
          y[yi++] = fr(fr(fr(fr(c11 * x[r1 + x1 + c]!) + fr(c21 * x[r1 + x2 + c]!)) + fr(c12 * x[r2 + x1 + c]!)) + fr(c22 * x[r2 + x2 + c]!));
        }
      }
    }
  }
}

/** bilinearPlanes for inner = 1 ([N·C, H, W] planes): the same operations with the tables hoisted into locals. */
function bilinearNchw(g: Plane2d, ya: LinearAxis, xa: LinearAxis, fill: number, x: Float32Array, y: Float32Array): void {
  const { outer, W, H, OH, OW } = g;
  const { i1: xi1, i2: xi2, d1: dx1, d2: dx2, outside: xOut } = xa;
  const anyOutside = xOut.includes(1) || ya.outside.includes(1);
  let yi = 0;
  for (let o = 0; o < outer; o++) {
    const xb = o * H * W;
    for (let oy = 0; oy < OH; oy++) {
      const r1 = xb + ya.i1[oy]! * W;
      const r2 = xb + ya.i2[oy]! * W;
      const dy1 = ya.d1[oy]!;
      const dy2 = ya.d2[oy]!;
      const rowOutside = ya.outside[oy] === 1;
      for (let ox = 0; ox < OW; ox++, yi++) {
        if (anyOutside && (rowOutside || xOut[ox] === 1)) {
          y[yi] = fill;
          continue;
        }
        const a = dx1[ox]!, b = dx2[ox]!, c1 = xi1[ox]!, c2 = xi2[ox]!;
        y[yi] = fr(fr(fr(fr(fr(b * dy2) * x[r1 + c1]!) + fr(fr(a * dy2) * x[r1 + c2]!)) + fr(fr(b * dy1) * x[r2 + c1]!)) + fr(fr(a * dy1) * x[r2 + c2]!));
      }
    }
  }
}

/**
 * Trilinear: the eight corner terms ((dx·dy)·dz)·X summed left to right in float32, corners ordered
 * (x, y, z) = 111, 211, 121, 221, 112, 212, 122, 222 (onnxruntime's UpsampleTrilinear).
 * X [outer, D, H, W] -> Y [outer, OD, OH, OW]
 */
function trilinearPlanes(
  outer: number, inDims: number[], outDims: number[], za: LinearAxis, ya: LinearAxis, xa: LinearAxis, fill: number, x: Float32Array, y: Float32Array,
): void {
  const [D, H, W] = inDims as [number, number, number];
  const [OD, OH, OW] = outDims as [number, number, number];
  let yi = 0;
  for (let o = 0; o < outer; o++) {
    const xb = o * D * H * W;
    for (let oz = 0; oz < OD; oz++) {
      const z1 = xb + za.i1[oz]! * H * W, z2 = xb + za.i2[oz]! * H * W;
      const dz1 = za.d1[oz]!, dz2 = za.d2[oz]!;
      for (let oy = 0; oy < OH; oy++) {
        const y1 = ya.i1[oy]! * W, y2 = ya.i2[oy]! * W;
        const dy1 = ya.d1[oy]!, dy2 = ya.d2[oy]!;
        for (let ox = 0; ox < OW; ox++) {
          if (za.outside[oz] === 1 || ya.outside[oy] === 1 || xa.outside[ox] === 1) {
            y[yi++] = fill;
            continue;
          }
          const x1 = xa.i1[ox]!, x2 = xa.i2[ox]!;
          const dx1 = xa.d1[ox]!, dx2 = xa.d2[ox]!;
          const t = (a: number, b: number, c: number, v: number) => fr(fr(fr(a * b) * c) * v);
          let acc = t(dx2, dy2, dz2, x[z1 + y1 + x1]!);
          acc = fr(acc + t(dx1, dy2, dz2, x[z1 + y1 + x2]!));
          acc = fr(acc + t(dx2, dy1, dz2, x[z1 + y2 + x1]!));
          acc = fr(acc + t(dx1, dy1, dz2, x[z1 + y2 + x2]!));
          acc = fr(acc + t(dx2, dy2, dz1, x[z2 + y1 + x1]!));
          acc = fr(acc + t(dx1, dy2, dz1, x[z2 + y1 + x2]!));
          acc = fr(acc + t(dx2, dy1, dz1, x[z2 + y2 + x1]!));
          acc = fr(acc + t(dx1, dy1, dz1, x[z2 + y2 + x2]!));
          y[yi++] = acc;
        }
      }
    }
  }
}

/**
 * Per output column of a bicubic problem: the four clamped input columns and the weights c/sum (onnxruntime
 * divides each x weight by the x sum before multiplying). Shared with the wasm variant, which uploads them.
 */
export interface CubicColumns {
  /** [OW·4]: input column of tap t of output column j, clamped to [0, W). */
  cols: Int32Array;
  /** [OW·4]: float32 coeff / sum. */
  w: Float32Array;
}

export function cubicColumns(xa: CubicAxis, W: number): CubicColumns {
  const OW = xa.first.length;
  const cols = new Int32Array(4 * OW);
  const w = new Float32Array(4 * OW);
  for (let j = 0; j < OW; j++) {
    for (let t = 0; t < 4; t++) {
      cols[4 * j + t] = Math.min(Math.max(xa.first[j]! - 1 + t, 0), W - 1);
      w[4 * j + t] = fr(xa.coeff[4 * j + t]! / xa.sum[j]!);
    }
  }
  return { cols, w };
}

/**
 * The horizontal cubic interpolation of input row `row` (offset `rb`) for every output column:
 * h[j] = 0 + w0·X[c0] + w1·X[c1] + w2·X[c2] + w3·X[c3], float32 left to right (onnxruntime's CubicInterpolation1D).
 */
function cubicRow(cc: CubicColumns, OW: number, x: Float32Array, rb: number, h: Float32Array, hb: number): void {
  const { cols, w } = cc;
  for (let j = 0; j < OW; j++) {
    const k = 4 * j;
    let acc = fr(0 + fr(w[k]! * x[rb + cols[k]!]!));
    acc = fr(acc + fr(w[k + 1]! * x[rb + cols[k + 1]!]!));
    acc = fr(acc + fr(w[k + 2]! * x[rb + cols[k + 2]!]!));
    h[hb + j] = fr(acc + fr(w[k + 3]! * x[rb + cols[k + 3]!]!));
  }
}

/**
 * Bicubic as onnxruntime's ResizeBiCubic computes it: per output (y, x), the horizontal interpolations of the
 * four (clamped) input rows around y, then y = 0 + (h0·cy0)/sy + (h1·cy1)/sy + … in float32. The horizontal
 * rows are computed once per input row and kept in four slots (slot = row mod 4: the rows an output reads are
 * consecutive before clamping), which changes no bits.
 * X [planes, H, W] -> Y [planes, OH, OW]; h: scratch of 4·OW floats.
 */
export function bicubicPlanes(
  planes: number, H: number, W: number, ya: CubicAxis, cc: CubicColumns, xOutside: Uint8Array, fill: number,
  x: Float32Array, y: Float32Array, h: Float32Array,
): void {
  const OH = ya.first.length;
  const OW = xOutside.length;
  const tags = [-1, -1, -1, -1];
  for (let pl = 0; pl < planes; pl++) {
    const xb = pl * H * W;
    tags.fill(-1);
    for (let oy = 0; oy < OH; oy++) {
      const yb = (pl * OH + oy) * OW;
      if (ya.outside[oy] === 1) {
        y.fill(fill, yb, yb + OW);
        continue;
      }
      const first = ya.first[oy]! - 1;
      const sy = ya.sum[oy]!;
      for (let t = 0; t < 4; t++) {
        const r = Math.min(Math.max(first + t, 0), H - 1);
        if (tags[r & 3] !== r) {
          cubicRow(cc, OW, x, xb + r * W, h, (r & 3) * OW);
          tags[r & 3] = r;
        }
      }
      const h0 = (Math.min(Math.max(first, 0), H - 1) & 3) * OW;
      const h1 = (Math.min(Math.max(first + 1, 0), H - 1) & 3) * OW;
      const h2 = (Math.min(Math.max(first + 2, 0), H - 1) & 3) * OW;
      const h3 = (Math.min(Math.max(first + 3, 0), H - 1) & 3) * OW;
      const k = 4 * oy;
      const c0 = ya.coeff[k]!, c1 = ya.coeff[k + 1]!, c2 = ya.coeff[k + 2]!, c3 = ya.coeff[k + 3]!;
      for (let ox = 0; ox < OW; ox++) {
        if (xOutside[ox] === 1) {
          y[yb + ox] = fill;
          continue;
        }
        let acc = fr(0 + fr(fr(h[h0 + ox]! * c0) / sy));
        acc = fr(acc + fr(fr(h[h1 + ox]! * c1) / sy));
        acc = fr(acc + fr(fr(h[h2 + ox]! * c2) / sy));
        y[yb + ox] = fr(acc + fr(fr(h[h3 + ox]! * c3) / sy));
      }
    }
  }
}

// ---- Separable passes (antialias, and linear/cubic on axes onnxruntime does not interpolate) ----

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

/** Keys' cubic convolution kernel W(d) with parameter A (ONNX cubic_coeff_a). */
function cubicKernel(d: number, A: number): number {
  const t = Math.abs(d);
  if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
  return 0;
}

/**
 * Builds one axis's tap table. With antialias and scale < 1 the kernel is stretched by 1/scale
 * (more taps, weights evaluated at distance·scale and normalised), as in ONNX Resize-18.
 */
function buildAxisTable(p: ResizeProblem, axis: number): AxisTable {
  const inLen = p.x.shape[axis]!;
  const outLen = p.outShape[axis]!;
  const scale = p.scales[axis]!;
  const s = p.antialias && scale < 1 ? scale : 1;
  const reach = p.mode === 'cubic' ? 2 : 1;
  // Taps cover input offsets k in [start, start+T) around floor(x).
  const start = Math.floor(-reach / s) + 1;
  const T = 2 - 2 * start;
  const idx = new Int32Array(outLen * T);
  const w = new Float64Array(outLen * T);
  const extrapolate = new Uint8Array(outLen);
  const coords = coordinatesOf(p, axis);
  let identity = outLen === inLen && scale === 1;
  for (let j = 0; j < outLen; j++) {
    const x = coords[j]!;
    if (x !== j) identity = false;
    if (p.extrapolate && (x < 0 || x > inLen - 1)) {
      extrapolate[j] = 1;
      identity = false;
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
      idx[j * T + t] = Math.min(Math.max(k, 0), inLen - 1);
      w[j * T + t] = wt;
      sum += wt;
    }
    // Renormalise when taps were dropped (exclude_outside) or the kernel was stretched (antialias).
    if ((p.excludeOutside || s !== 1) && sum !== 0) for (let t = 0; t < T; t++) w[j * T + t]! /= sum;
  }
  return { taps: T, idx, w, extrapolate, identity };
}

/** One separable pass along `axis`: y(outer, j, inner) = Σ_t w[j,t] · x(outer, idx[j,t], inner). */
function interpolateAxis(x: Floats, y: Floats, outer: number, inLen: number, inner: number, table: AxisTable, fill: number): void {
  const { taps, idx, w, extrapolate } = table;
  const outLen = extrapolate.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < outLen; j++) {
      const yb = (o * outLen + j) * inner;
      if (extrapolate[j]) {
        y.fill(fill, yb, yb + inner);
        continue;
      }
      y.fill(0, yb, yb + inner);
      for (let t = 0; t < taps; t++) {
        const wt = w[j * taps + t]!;
        // Zero-weight taps are skipped, so an Inf there does not turn into NaN.
        if (wt === 0) continue;
        const xb = (o * inLen + idx[j * taps + t]!) * inner;
        for (let i = 0; i < inner; i++) y[yb + i]! += wt * x[xb + i]!;
      }
    }
  }
}

/** Linear/cubic one pass per resized axis (last axis first), ping-ponging through two scratch buffers. */
function separablePlan(p: ResizeProblem): PreparedKernel {
  const x = p.x;
  const tables = x.shape.map((_, d) => buildAxisTable(p, d));
  const axes = tables.map((t, d) => (t.identity ? -1 : d)).filter((d) => d >= 0).reverse();
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
  return {
    outputs: [{ dtype: x.dtype, shape: [...p.outShape] }],
    scratch: Array.from({ length: nScratch }, () => ({ dtype: x.dtype, length: scratchLen })),
    run(inputs, outputs, scr) {
      const xin = inputs[0] as Floats;
      const y = outputs[0] as Floats;
      if (passes.length === 0) {
        y.set(xin);
        return;
      }
      let src = xin;
      for (let i = 0; i < passes.length; i++) {
        const ps = passes[i]!;
        const dst = i === passes.length - 1 ? y : (scr[i % 2] as Floats);
        interpolateAxis(src, dst, ps.outer, ps.inLen, ps.inner, tables[ps.axis]!, p.extrapolation);
        src = dst;
      }
    },
  };
}

/** The float32 problems the onnxruntime-order kernels take (narrow and wide floats use the separable passes). */
export function isFloat32Kernel(p: ResizeProblem): boolean {
  return p.x.dtype === 'float32' && (p.kind === 'bilinear' || p.kind === 'trilinear' || p.kind === 'bicubic');
}

/**
 * The reference variant: onnxruntime's algorithm for each kind (float32), the separable passes for float16/64 and
 * the shapes onnxruntime refuses.
 */
export function prepareReference(p: ResizeProblem): PreparedKernel {
  const outputs: TensorType[] = [{ dtype: p.x.dtype, shape: [...p.outShape] }];
  if (p.kind === 'copy') return { outputs, run: copyRun() };
  if (p.kind === 'nearest') return { outputs, run: nearestRun(p) };
  if (!isFloat32Kernel(p)) return separablePlan(p);
  const rank = p.x.shape.length;
  if (p.kind === 'trilinear') {
    const first = rank - 3;
    const [za, ya, xa] = [first, first + 1, first + 2].map((a) => linearAxis(coordinatesOf(p, a), p.x.shape[a]!, p.extrapolate)) as [LinearAxis, LinearAxis, LinearAxis];
    const outer = product(p.x.shape, 0, first);
    const inDims = p.x.shape.slice(first);
    const outDims = p.outShape.slice(first);
    return {
      outputs,
      run: (inputs, outs) => trilinearPlanes(outer, inDims, outDims, za, ya, xa, p.extrapolation, inputs[0] as Float32Array, outs[0] as Float32Array),
    };
  }
  const g = plane2d(p);
  if (p.kind === 'bilinear') {
    const ya = linearAxis(coordinatesOf(p, g.hAxis), g.H, p.extrapolate);
    const xa = linearAxis(coordinatesOf(p, g.hAxis + 1), g.W, p.extrapolate);
    return { outputs, run: (inputs, outs) => bilinearPlanes(g, ya, xa, p.extrapolation, inputs[0] as Float32Array, outs[0] as Float32Array) };
  }
  const ya = cubicAxis(coordinatesOf(p, g.hAxis), g.H, p.cubicA, p.excludeOutside, p.extrapolate);
  const xa = cubicAxis(coordinatesOf(p, g.hAxis + 1), g.W, p.cubicA, p.excludeOutside, p.extrapolate);
  const cc = cubicColumns(xa, g.W);
  return {
    outputs,
    scratch: [{ dtype: 'float32', length: 4 * g.OW }],
    run: (inputs, outs, scratch) =>
      bicubicPlanes(g.outer, g.H, g.W, ya, cc, xa.outside, p.extrapolation, inputs[0] as Float32Array, outs[0] as Float32Array, scratch[0] as Float32Array),
  };
}
