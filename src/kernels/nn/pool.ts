import type { NumericArray } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat, attrInt } from '../../graph/attributes.js';
import { attrFlag, forwardGeometry, liftGeometry, readWindowAttrs, type WindowGeometry } from '../conv/geometry.js';
import { kernelError, jsFallbacks, ranOnWasm, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import type { WasmContext } from '../../wasm/context.js';
import { MAX_POOL_UNROLL, poolModule, type PoolElement, type PoolMode, type WasmMaxPoolInterior } from '../../wasm/pool-kernels.js';

/**
 * Per spatial dim (lifted to D, H, W) and output index o, the taps k in [lo, hi) that land inside the input:
 * 0 <= o·s − pb + k·d < in. `padded` is hi for the input extended by both pads (for count_include_pad).
 */
interface TapRanges {
  lo: Int32Array;
  hi: Int32Array;
  padded: Int32Array;
}

function tapRanges(g: WindowGeometry, dim: number): TapRanges {
  const out = g.outSize[dim]!;
  const [n, k, s, d, pb, pe] = [g.inSize[dim]!, g.kernel[dim]!, g.strides[dim]!, g.dilations[dim]!, g.padsBegin[dim]!, g.padsEnd[dim]!];
  const r: TapRanges = { lo: new Int32Array(out), hi: new Int32Array(out), padded: new Int32Array(out) };
  for (let o = 0; o < out; o++) {
    const start = o * s - pb;
    r.lo[o] = Math.min(k, Math.max(0, Math.ceil(-start / d)));
    r.hi[o] = Math.max(r.lo[o]!, Math.min(k, Math.ceil((n - start) / d)));
    r.padded[o] = Math.max(0, Math.min(k, Math.ceil((n + pe - start) / d)));
  }
  return r;
}

/** A pooling problem: N·C independent planes, geometry lifted to 3 spatial dims, tap ranges precomputed. */
interface PoolProblem {
  planes: number;
  geo: WindowGeometry;
  ranges: [TapRanges, TapRanges, TapRanges];
  /** [rowLo, rowHi, colLo, colHi]: the 2-D outputs whose whole window lies inside X (the interior kernels' part). */
  interior: [number, number, number, number];
}

function poolProblem(planes: number, geo: WindowGeometry): PoolProblem {
  const g = liftGeometry(geo, 3);
  const ranges: [TapRanges, TapRanges, TapRanges] = [tapRanges(g, 0), tapRanges(g, 1), tapRanges(g, 2)];
  return { planes, geo: g, ranges, interior: [...fullWindows(ranges[1], g.kernel[1]!), ...fullWindows(ranges[2], g.kernel[2]!)] };
}

type Reducer = 'max' | 'avg' | 'avgIncludePad' | 'lp';

/**
 * Reduces every window of every plane: max, mean over the valid taps, mean over taps inside the padded input
 * (count_include_pad: pads count as zeros, ceil_mode overhang beyond the end pad does not, as in PyTorch and
 * onnxruntime), or the Lp norm (Σ|x|^p)^(1/p). For max, `indices` (when given) receives the flat input index
 * of the maximum, row-major or column-major (storage_order 1) within the plane, per ONNX MaxPool.
 * X [N·C, D, H, W] -> Y [N·C, OD, OH, OW]
 */
function poolPlanes(pp: PoolProblem, reducer: Reducer, p: number, x: NumericArray, y: NumericArray, indices?: BigInt64Array, columnMajor = false): void {
  const g = pp.geo;
  const [D, H, W] = g.inSize as [number, number, number];
  const [OD, OH, OW] = g.outSize as [number, number, number];
  const [sd, sh, sw] = g.strides as [number, number, number];
  const [dd, dh, dw] = g.dilations as [number, number, number];
  const [pd, ph, pw] = g.padsBegin as [number, number, number];
  const [rd, rh, rw] = pp.ranges;
  const plane = D * H * W;
  let yi = 0;
  for (let c = 0; c < pp.planes; c++) {
    const xc = c * plane;
    for (let od = 0; od < OD; od++) {
      const id0 = od * sd - pd;
      for (let oh = 0; oh < OH; oh++) {
        const ih0 = oh * sh - ph;
        for (let ow = 0; ow < OW; ow++) {
          const iw0 = ow * sw - pw;
          let acc = reducer === 'max' ? -Infinity : 0;
          let arg = -1;
          for (let kd = rd.lo[od]!; kd < rd.hi[od]!; kd++) {
            const id = id0 + kd * dd;
            for (let kh = rh.lo[oh]!; kh < rh.hi[oh]!; kh++) {
              const ih = ih0 + kh * dh;
              const row = xc + (id * H + ih) * W;
              for (let kw = rw.lo[ow]!; kw < rw.hi[ow]!; kw++) {
                const iw = iw0 + kw * dw;
                const v = x[row + iw]!;
                if (reducer === 'max') {
                  if (v > acc || arg < 0) {
                    acc = v;
                    arg = columnMajor ? id + D * (ih + H * iw) : (id * H + ih) * W + iw;
                  }
                } else if (reducer === 'lp') acc += Math.pow(Math.abs(v), p);
                else acc += v;
              }
            }
          }
          if (reducer === 'avg') {
            acc /= (rd.hi[od]! - rd.lo[od]!) * (rh.hi[oh]! - rh.lo[oh]!) * (rw.hi[ow]! - rw.lo[ow]!);
          } else if (reducer === 'avgIncludePad') {
            acc /= rd.padded[od]! * rh.padded[oh]! * rw.padded[ow]!;
          } else if (reducer === 'lp') acc = Math.pow(acc, 1 / p);
          if (indices !== undefined) indices[yi] = BigInt(c * plane + Math.max(arg, 0));
          y[yi++] = acc;
        }
      }
    }
  }
}

/** Planes the 2-D max pool reads and writes: float32 (narrow floats widened) or the 8-bit tensors QDQ models pool. */
type PlaneArray = Float32Array | Uint8Array | Int8Array;

/**
 * poolPlanes' max for float32 or 8-bit 2-D planes (D = 1) without indices, the CNN case: one monomorphic function so the
 * inner loop compiles to plain loads and compares. Same result as poolPlanes: the first valid tap seeds the
 * maximum (-Infinity for a window with no valid tap) and later taps replace it when greater.
 * X [planes, 1, H, W] -> Y [planes, 1, OH, OW]
 */
function maxPool2d(pp: PoolProblem, x: PlaneArray, y: PlaneArray): void {
  const g = pp.geo;
  const H = g.inSize[1]! | 0;
  const W = g.inSize[2]! | 0;
  const OH = g.outSize[1]! | 0;
  const OW = g.outSize[2]! | 0;
  const sh = g.strides[1]! | 0;
  const sw = g.strides[2]! | 0;
  const ph = g.padsBegin[1]! | 0;
  const pw = g.padsBegin[2]! | 0;
  // Outputs whose 3×3 window (dilation 1) lies wholly inside X take the unrolled path; the rest the loop.
  const unrolled = g.kernel[1] === 3 && g.kernel[2] === 3 && g.dilations[1] === 1 && g.dilations[2] === 1;
  const [rowLo, rowHi, colLo, colHi] = unrolled ? pp.interior : NO_INTERIOR;
  const plane = H * W;
  for (let c = 0; c < pp.planes; c++) {
    const xc = c * plane;
    const yc = c * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const yr = yc + oh * OW;
      const rowBase = xc + (oh * sh - ph) * W;
      if (oh < rowLo || oh >= rowHi || colLo >= colHi) {
        windowMaxRow(pp, x, rowBase, oh, 0, OW, y, yr);
        continue;
      }
      windowMaxRow(pp, x, rowBase, oh, 0, colLo, y, yr);
      if (sw === 2) {
        maxRow3x3s2(x, rowBase + colLo * 2 - pw, W, y, yr + colLo, colHi - colLo);
        windowMaxRow(pp, x, rowBase, oh, colHi, OW, y, yr);
        continue;
      }
      for (let ow = colLo; ow < colHi; ow++) {
        const r0 = rowBase + ow * sw - pw;
        const r1 = r0 + W;
        const r2 = r1 + W;
        let m = x[r0]!;
        let v = x[r0 + 1]!; if (v > m) m = v;
        v = x[r0 + 2]!; if (v > m) m = v;
        v = x[r1]!; if (v > m) m = v;
        v = x[r1 + 1]!; if (v > m) m = v;
        v = x[r1 + 2]!; if (v > m) m = v;
        v = x[r2]!; if (v > m) m = v;
        v = x[r2 + 1]!; if (v > m) m = v;
        v = x[r2 + 2]!; if (v > m) m = v;
        y[yr + ow] = m;
      }
      windowMaxRow(pp, x, rowBase, oh, colHi, OW, y, yr);
    }
  }
}

/**
 * `count` interior 3×3 stride-2 windows of one output row, the first at x[r0] (three rows, stride W): the
 * column maxima are shared, window k+1's first column being window k's last, so each window loads 6 values
 * and compares 6 times instead of 9 and 8. As in the loop, the window's first tap seeds the maximum and a value
 * replaces it only when greater (a NaN first tap gives NaN, later NaNs are skipped; only ±0 ties may differ).
 */
function maxRow3x3s2(x: PlaneArray, r0: number, W: number, y: PlaneArray, yi: number, count: number): void {
  const r1 = r0 + W;
  const r2 = r1 + W;
  let a = x[r0]!;
  let v = x[r1]!; if (v > a) a = v;
  v = x[r2]!; if (v > a) a = v;
  for (let k = 0; k < count; k++) {
    const c = 2 * k;
    let b = x[r0 + c + 1]!;
    v = x[r1 + c + 1]!; if (v > b) b = v;
    v = x[r2 + c + 1]!; if (v > b) b = v;
    let e = x[r0 + c + 2]!;
    v = x[r1 + c + 2]!; if (v > e) e = v;
    v = x[r2 + c + 2]!; if (v > e) e = v;
    let m = a;
    if (b > m) m = b;
    if (e > m) m = e;
    y[yi + k] = m;
    a = e;
  }
}

const NO_INTERIOR: readonly [number, number, number, number] = [0, 0, 0, 0];

/** [first, end) of the outputs whose window has all `k` taps inside (a contiguous run for pooling windows). */
function fullWindows(r: TapRanges, k: number): [number, number] {
  let first = 0;
  while (first < r.lo.length && !(r.lo[first] === 0 && r.hi[first] === k)) first++;
  let end = first;
  while (end < r.lo.length && r.lo[end] === 0 && r.hi[end] === k) end++;
  return [first, end];
}

/** y[yr + ow] for ow in [ow0, ow1) of output row oh by the planned tap ranges (rowBase = X row oh·sh − ph). */
function windowMaxRow(pp: PoolProblem, x: PlaneArray, rowBase: number, oh: number, ow0: number, ow1: number, y: PlaneArray, yr: number): void {
  const g = pp.geo;
  const W = g.inSize[2]! | 0;
  const sw = g.strides[2]! | 0;
  const dh = g.dilations[1]! | 0;
  const dw = g.dilations[2]! | 0;
  const pw = g.padsBegin[2]! | 0;
  const khLo = pp.ranges[1].lo[oh]!;
  const khHi = pp.ranges[1].hi[oh]!;
  const rw = pp.ranges[2];
  for (let ow = ow0; ow < ow1; ow++) {
    const kwLo = rw.lo[ow]!;
    const kwHi = rw.hi[ow]!;
    const colBase = rowBase + ow * sw - pw;
    let acc = -Infinity;
    if (khLo < khHi && kwLo < kwHi) {
      acc = x[colBase + khLo * dh * W + kwLo * dw]!;
      for (let kh = khLo; kh < khHi; kh++) {
        const r = colBase + kh * dh * W;
        for (let kw = kwLo; kw < kwHi; kw++) {
          const v = x[r + kw * dw]!;
          if (v > acc) acc = v;
        }
      }
    }
    y[yr + ow] = acc;
  }
}

/** The wasm interior kernel for this 2-D float32 pool, or undefined (shape not generated, no wasm). */
function wasmPool(mode: PoolMode, pp: PoolProblem, wasm: WasmContext | undefined, elem: PoolElement = 'f32'): WasmMaxPoolInterior | undefined {
  const g = pp.geo;
  const [KH, KW, S] = [g.kernel[1]!, g.kernel[2]!, g.strides[1]!];
  if (wasm === undefined || g.strides[2] !== S || (S !== 1 && S !== 2)) return undefined;
  if (g.dilations[1] !== 1 || g.dilations[2] !== 1 || KH > MAX_POOL_UNROLL || KW > MAX_POOL_UNROLL) return undefined;
  return wasm.use(poolModule(mode, KH, KW, S, elem));
}

/** The profile detail of a 2-D pool: its window and stride, and whether the wasm interior kernel was prepared. */
function pool2dDetail(mode: PoolMode, pp: PoolProblem, kernel: WasmMaxPoolInterior | undefined): string {
  const g = pp.geo;
  const window = `${g.kernel[1]}x${g.kernel[2]}s${g.strides[1]}${g.strides[2] === g.strides[1] ? '' : `x${g.strides[2]}`}`;
  return kernel !== undefined ? `wasm ${mode} pool ${window} interior, borders in js` : `js ${mode} pool ${window}`;
}

/** Writes y[yr + ow] for ow in [ow0, ow1) of output row oh (rowBase = X row oh·sh − ph), by the planned tap ranges. */
type BorderRow = (pp: PoolProblem, x: PlaneArray, rowBase: number, oh: number, ow0: number, ow1: number, y: PlaneArray, yr: number) => void;

/**
 * A 2-D float32 pool with the interior (windows wholly inside X) on WebAssembly SIMD over all planes in one
 * call and the border windows by `border` in JS. False (nothing done) when x or y is not in wasm memory.
 * X [planes, 1, H, W] -> Y [planes, 1, OH, OW]
 */
function pool2dWasm(pp: PoolProblem, kernel: WasmMaxPoolInterior, border: BorderRow, memory: WebAssembly.Memory, x: PlaneArray, y: PlaneArray): boolean {
  if (x.buffer !== memory.buffer || y.buffer !== memory.buffer) return false;
  const g = pp.geo;
  const [H, W, OH, OW] = [g.inSize[1]!, g.inSize[2]!, g.outSize[1]!, g.outSize[2]!];
  const [rowLo, rowHi, colLo, colHi] = pp.interior;
  const interior = rowLo < rowHi && colLo < colHi;
  if (interior) {
    const es = x.BYTES_PER_ELEMENT;
    kernel(x.byteOffset, W, H * W * es, y.byteOffset, OW, OH * OW * es, pp.planes, rowLo, rowHi, colLo, colHi, g.padsBegin[1]!, g.padsBegin[2]!);
  }
  const sh = g.strides[1]!;
  const ph = g.padsBegin[1]!;
  for (let c = 0; c < pp.planes; c++) {
    const xc = c * H * W;
    const yc = c * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const rowBase = xc + (oh * sh - ph) * W;
      const yr = yc + oh * OW;
      if (!interior || oh < rowLo || oh >= rowHi) {
        border(pp, x, rowBase, oh, 0, OW, y, yr);
      } else {
        border(pp, x, rowBase, oh, 0, colLo, y, yr);
        border(pp, x, rowBase, oh, colHi, OW, y, yr);
      }
    }
  }
  return true;
}

/**
 * windowMaxRow's mean: the sum of the taps inside X over their count, or over the taps inside the padded input
 * when padding counts (count_include_pad), as poolPlanes computes it (float64 sums, one rounding to float32).
 */
function windowAverageRow(includePad: boolean): BorderRow {
  return (pp, x, rowBase, oh, ow0, ow1, y, yr) => {
    const g = pp.geo;
    const W = g.inSize[2]! | 0;
    const sw = g.strides[2]! | 0;
    const dh = g.dilations[1]! | 0;
    const dw = g.dilations[2]! | 0;
    const pw = g.padsBegin[2]! | 0;
    const rh = pp.ranges[1];
    const rw = pp.ranges[2];
    const khLo = rh.lo[oh]!;
    const khHi = rh.hi[oh]!;
    for (let ow = ow0; ow < ow1; ow++) {
      const kwLo = rw.lo[ow]!;
      const kwHi = rw.hi[ow]!;
      const colBase = rowBase + ow * sw - pw;
      let acc = 0;
      for (let kh = khLo; kh < khHi; kh++) {
        const r = colBase + kh * dh * W;
        for (let kw = kwLo; kw < kwHi; kw++) acc += x[r + kw * dw]!;
      }
      y[yr + ow] = acc / (includePad ? rh.padded[oh]! * rw.padded[ow]! : (khHi - khLo) * (kwHi - kwLo));
    }
  };
}

const FLOAT_TYPES = new Set(['float32', 'float16', 'bfloat16', 'float64']);
const MAXPOOL_TYPES = new Set([...FLOAT_TYPES, 'int8', 'uint8']);

/** Reads X and the window attributes shared by MaxPool, AveragePool and LpPool; X is [N, C, D1..Dn]. */
function readPool(ctx: PrepareContext, allowed: Set<string>): { planes: number; lead: number[]; geo: WindowGeometry } {
  const x = requireInput(ctx, 0);
  if (!allowed.has(x.dtype)) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: dtype ${x.dtype} is not supported (expected one of ${[...allowed].join(', ')})`);
  }
  const rank = x.shape.length - 2;
  if (rank < 1) throw kernelError(ctx, `X must have rank >= 3, got [${x.shape}]`);
  if (rank > 3) throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${rank}-D pooling is not supported (at most 3-D)`);
  const attrs = readWindowAttrs(ctx, rank);
  const ceilMode = attrFlag(ctx, 'ceil_mode', 0);
  const geo = forwardGeometry(ctx, x.shape.slice(2), attrs, ceilMode);
  return { planes: x.shape[0]! * x.shape[1]!, lead: x.shape.slice(0, 2), geo };
}

// MaxPool: X [N, C, D1..Dn] -> Y [N, C, O1..On], Indices int64 [N, C, O1..On]?
function prepareMaxPool(ctx: PrepareContext): PreparedKernel {
  const x = requireInput(ctx, 0);
  const { planes, lead, geo } = readPool(ctx, MAXPOOL_TYPES);
  const storageOrder = attrInt(ctx.node, 'storage_order', 0);
  if (storageOrder !== 0 && storageOrder !== 1) throw kernelError(ctx, `storage_order must be 0 or 1, got ${storageOrder}`);
  const pp = poolProblem(planes, geo);
  const shape = [...lead, ...geo.outSize];
  const wantIndices = ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '';
  const planeType = x.dtype === 'int8' || x.dtype === 'uint8' || (x.dtype !== 'float64' && FLOAT_TYPES.has(x.dtype));
  if (!wantIndices && pp.geo.inSize[0] === 1 && pp.geo.kernel[0] === 1 && planeType) {
    const wasm = ctx.options.wasm;
    const elem: PoolElement | undefined = x.dtype === 'float32' ? 'f32' : x.dtype === 'uint8' ? 'u8' : x.dtype === 'int8' ? 's8' : undefined;
    const kernel = elem === undefined ? undefined : wasmPool('max', pp, wasm, elem);
    const fallbacks = jsFallbacks();
    return {
      outputs: [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }],
      detail: pool2dDetail('max', pp, kernel),
      jsFallbacks: fallbacks,
      run(inputs, outs) {
        const [xs, ys] = [inputs[0] as Float32Array, outs[0] as Float32Array];
        if (kernel !== undefined && ranOnWasm(fallbacks, pool2dWasm(pp, kernel, windowMaxRow, wasm!.memory, xs, ys))) return;
        maxPool2d(pp, xs, ys);
      },
    };
  }
  return {
    outputs: [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }],
    detail: `js max pool ${geo.kernel.length}-D${wantIndices ? ' with indices' : ''}`,
    run(inputs, outs) {
      const idx = wantIndices ? (outs[1] as BigInt64Array | undefined) : undefined;
      poolPlanes(pp, 'max', 0, inputs[0] as NumericArray, outs[0] as NumericArray, idx, storageOrder === 1);
    },
  };
}

// AveragePool: X [N, C, D1..Dn] -> Y [N, C, O1..On]
function prepareAveragePool(ctx: PrepareContext): PreparedKernel {
  const x = requireInput(ctx, 0);
  const { planes, lead, geo } = readPool(ctx, FLOAT_TYPES);
  const includePad = attrFlag(ctx, 'count_include_pad', 0);
  const pp = poolProblem(planes, geo);
  const wasm = ctx.options.wasm;
  const kernel = x.dtype === 'float32' && pp.geo.inSize[0] === 1 && pp.geo.kernel[0] === 1 ? wasmPool('avg', pp, wasm) : undefined;
  const border = windowAverageRow(includePad);
  const fallbacks = jsFallbacks();
  return {
    outputs: [{ dtype: x.dtype, shape: [...lead, ...geo.outSize] }],
    detail: pp.geo.inSize[0] === 1 && pp.geo.kernel[0] === 1 ? pool2dDetail('avg', pp, kernel) : `js avg pool ${geo.kernel.length}-D`,
    jsFallbacks: fallbacks,
    run(inputs, outs) {
      if (kernel !== undefined && ranOnWasm(fallbacks, pool2dWasm(pp, kernel, border, wasm!.memory, inputs[0] as Float32Array, outs[0] as Float32Array))) return;
      poolPlanes(pp, includePad ? 'avgIncludePad' : 'avg', 0, inputs[0] as NumericArray, outs[0] as NumericArray);
    },
  };
}

/** LpPool's p: an int since opset 2, a float in opset 1. */
export function readP(ctx: PrepareContext): number {
  const a = ctx.node.attributes.get('p');
  const p = a?.type === 'float' ? attrFloat(ctx.node, 'p', 2) : attrInt(ctx.node, 'p', 2);
  if (!(p > 0)) throw kernelError(ctx, `p must be positive, got ${p}`);
  return p;
}

// LpPool: X [N, C, D1..Dn] -> Y [N, C, O1..On], Y = (Σ_window |x|^p)^(1/p)
function prepareLpPool(ctx: PrepareContext): PreparedKernel {
  const x = requireInput(ctx, 0);
  const { planes, lead, geo } = readPool(ctx, FLOAT_TYPES);
  const p = readP(ctx);
  const pp = poolProblem(planes, geo);
  return {
    outputs: [{ dtype: x.dtype, shape: [...lead, ...geo.outSize] }],
    detail: `js lp pool p=${p}`,
    run(inputs, outs) {
      poolPlanes(pp, 'lp', p, inputs[0] as NumericArray, outs[0] as NumericArray);
    },
  };
}

export const maxPoolKernel: KernelDef = { opType: 'MaxPool', prepare: prepareMaxPool };
export const averagePoolKernel: KernelDef = { opType: 'AveragePool', prepare: prepareAveragePool };
export const lpPoolKernel: KernelDef = { opType: 'LpPool', prepare: prepareLpPool };
