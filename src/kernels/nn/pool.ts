import type { NumericArray } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat, attrInt } from '../../graph/attributes.js';
import { attrFlag, forwardGeometry, liftGeometry, readWindowAttrs, type WindowGeometry } from '../conv/geometry.js';
import {
  chooseVariant, kernelError, onWasmOrReference, requireInput, type Capabilities, type DType, type KernelDef, type PrepareContext,
  type PreparedKernel, type VariantDef,
} from '../kernel.js';
import type { WasmContext } from '../../wasm/context.js';
import { SPLIT_MIN_MACS } from '../../wasm/gemm.js';
import type { ThreadPool } from '../../wasm/threads.js';
import {
  GENERIC_POOL_MODULE, MAX_POOL_UNROLL, POOL_GEO, poolModule, type PoolElement, type PoolMode, type WasmGenericPool,
  type WasmMaxPoolInterior,
} from '../../wasm/pool-kernels.js';

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

/** Everything a pooling variant needs, read once at prepare. X [N, C, D1..Dn] -> Y [N, C, O1..On]. */
interface PoolCase {
  op: 'MaxPool' | 'AveragePool' | 'LpPool';
  dtype: DType;
  /** Y's shape: [N, C, O1..On]. */
  shape: number[];
  pp: PoolProblem;
  /** 1-D or 2-D (lifted D = 1 with a depth window of 1): the 2-D kernels apply. */
  is2d: boolean;
  reducer: Reducer;
  /** LpPool's p. */
  p: number;
  /** MaxPool's Indices output is wanted (storage_order 1: column-major within a plane). */
  wantIndices: boolean;
  columnMajor: boolean;
}

function outputsOf(c: PoolCase): PreparedKernel['outputs'] {
  const shape = c.shape;
  return c.op === 'MaxPool' ? [{ dtype: c.dtype, shape }, { dtype: 'int64', shape }] : [{ dtype: c.dtype, shape }];
}

const prefixOf = (dtype: DType) => (dtype === 'float32' ? 'f32' : dtype === 'float16' ? 'f16' : dtype === 'float64' ? 'f64' : dtype === 'uint8' ? 'u8' : dtype === 'int8' ? 's8' : dtype);

/** The window of a 2-D case as names show it: KHxKWsS, or KHxKWsSHxSW when the strides differ (1-D: KH = SH = 1). */
function windowName(c: PoolCase): string {
  const g = c.pp.geo;
  const s = g.strides[1] === g.strides[2] ? `${g.strides[1]}` : `${g.strides[1]}x${g.strides[2]}`;
  const d = g.dilations[1] !== 1 || g.dilations[2] !== 1 ? `d${g.dilations[1]}x${g.dilations[2]}` : '';
  return `${g.kernel[1]}x${g.kernel[2]}s${s}${d}`;
}

const POOL_WORD = { MaxPool: 'max', AveragePool: 'avg', LpPool: 'lp' } as const;

/** The reference: poolPlanes over D, H, W (float64 accumulation), with MaxPool's indices. */
function prepareReferencePool(c: PoolCase): PreparedKernel {
  const outputs = outputsOf(c);
  return {
    outputs,
    detail: `js ${POOL_WORD[c.op]} pool ${c.pp.geo.kernel.length}-D${c.wantIndices ? ' with indices' : ''}${c.op === 'LpPool' ? ` p=${c.p}` : ''}`,
    run(inputs, outs) {
      const idx = c.wantIndices ? (outs[1] as BigInt64Array | undefined) : undefined;
      poolPlanes(c.pp, c.reducer, c.p, inputs[0] as NumericArray, outs[0] as NumericArray, idx, c.columnMajor);
    },
  };
}

/** The monomorphic JS 2-D max pool (float32, or the 8-bit tensors QDQ models pool). */
function prepareJsMaxPool2d(c: PoolCase): PreparedKernel {
  return { outputs: outputsOf(c), detail: `js max pool ${windowName(c)}`, run: (inputs, outs) => maxPool2d(c.pp, inputs[0] as PlaneArray, outs[0] as PlaneArray) };
}

const release: FinalizationRegistry<{ ctx: WasmContext; offset: number }> | undefined =
  typeof FinalizationRegistry === 'function' ? new FinalizationRegistry(({ ctx, offset }) => ctx.free(offset)) : undefined;

/**
 * The geometry table of the generic wasm pool (POOL_GEO, then three i32 per output row and per output column),
 * uploaded once at prepare (the caller registers it in `release` with the prepared kernel as owner).
 */
function uploadGeometry(ctx: WasmContext, c: PoolCase): number {
  const g = c.pp.geo;
  const [H, W, OH, OW] = [g.inSize[1]!, g.inSize[2]!, g.outSize[1]!, g.outSize[2]!];
  const [rh, rw] = [c.pp.ranges[1], c.pp.ranges[2]];
  const bytes = POOL_GEO.bytes + 12 * (OH + OW);
  const offset = ctx.alloc(bytes);
  const t = new Int32Array(ctx.memory.buffer, offset, bytes / 4);
  const at = (field: keyof typeof POOL_GEO) => POOL_GEO[field] / 4;
  t[at('planeIn')] = 4 * H * W;
  t[at('planeOut')] = 4 * OH * OW;
  t[at('W')] = W;
  t[at('OW')] = OW;
  t[at('sh')] = g.strides[1]!;
  t[at('sw')] = g.strides[2]!;
  t[at('rowStep')] = 4 * g.dilations[1]! * W;
  t[at('colStep')] = 4 * g.dilations[2]!;
  t[at('ph')] = g.padsBegin[1]!;
  t[at('pw')] = g.padsBegin[2]!;
  t[at('rows')] = offset + POOL_GEO.bytes;
  t[at('cols')] = offset + POOL_GEO.bytes + 12 * OH;
  const rows = POOL_GEO.bytes / 4;
  for (let o = 0; o < OH; o++) t.set([rh.lo[o]!, rh.hi[o]!, rh.padded[o]!], rows + 3 * o);
  for (let o = 0; o < OW; o++) t.set([rw.lo[o]!, rw.hi[o]!, rw.padded[o]!], rows + 3 * OH + 3 * o);
  return offset;
}

function genericOf(ctx: WasmContext, reducer: Reducer): WasmGenericPool {
  const k = ctx.use(GENERIC_POOL_MODULE)!;
  return reducer === 'max' ? k.max : reducer === 'avg' ? k.avg : k.avgIncludePad;
}

/**
 * A 2-D pool on wasm: the interior (windows wholly inside X) by the unrolled SIMD kernel when there is one for
 * the window, and everything else (the border frame, or the whole layer) by the generic wasm pool. float32
 * only; 8-bit max pools keep their interior on wasm and the border in JS (windowMaxRow).
 * A call whose views lie outside wasm memory (never in a wasm plan) runs `fallback` (see onWasmOrReference).
 * X [planes, 1, H, W] -> Y [planes, 1, OH, OW]
 */
function prepareWasmPool2d(c: PoolCase, ctx: WasmContext, interior: WasmMaxPoolInterior | undefined, detail: string, fallback: PreparedKernel): PreparedKernel {
  const g = c.pp.geo;
  const [H, W, OH, OW] = [g.inSize[1]!, g.inSize[2]!, g.outSize[1]!, g.outSize[2]!];
  const planes = c.pp.planes;
  const [rowLo, rowHi, colLo, colHi] = interior !== undefined ? c.pp.interior : NO_INTERIOR;
  const hasInterior = rowLo < rowHi && colLo < colHi;
  const float = c.dtype === 'float32';
  const generic = float ? genericOf(ctx, c.reducer) : undefined;
  const geo = float ? uploadGeometry(ctx, c) : 0;
  // The generic kernel's rectangles: everything, or the frame around the interior (top, bottom, left, right).
  const frame: [number, number, number, number][] = !hasInterior
    ? [[0, OH, 0, OW]]
    : ([[0, rowLo, 0, OW], [rowHi, OH, 0, OW], [rowLo, rowHi, 0, colLo], [rowLo, rowHi, colHi, OW]] as [number, number, number, number][])
      .filter(([r0, r1, c0, c1]) => r0 < r1 && c0 < c1);
  // x and y are views of wasm memory.
  const poolOnWasm = (x: PlaneArray, y: PlaneArray): void => {
    if (generic !== undefined && planeRangesOnThreads(ctx, x.byteOffset, y.byteOffset, planes, H * W * 4, OH * OW * 4, OH * OW * g.kernel[1]! * g.kernel[2]!, (pool, xAt, yAt, n) => {
      if (hasInterior) pool.call(interior!, [xAt, W, H * W * 4, yAt, OW, OH * OW * 4, n, rowLo, rowHi, colLo, colHi, g.padsBegin[1]!, g.padsBegin[2]!]);
      for (const [r0, r1, c0, c1] of frame) pool.call(generic, [xAt, yAt, n, r0, r1, c0, c1, geo]);
    })) return;
    if (hasInterior) {
      const es = x.BYTES_PER_ELEMENT;
      interior!(x.byteOffset, W, H * W * es, y.byteOffset, OW, OH * OW * es, planes, rowLo, rowHi, colLo, colHi, g.padsBegin[1]!, g.padsBegin[2]!);
    }
    if (generic !== undefined) {
      // The frame around the interior: top rows, bottom rows, then the left and right columns between them.
      if (!hasInterior) generic(x.byteOffset, y.byteOffset, planes, 0, OH, 0, OW, geo);
      else {
        if (rowLo > 0) generic(x.byteOffset, y.byteOffset, planes, 0, rowLo, 0, OW, geo);
        if (rowHi < OH) generic(x.byteOffset, y.byteOffset, planes, rowHi, OH, 0, OW, geo);
        if (colLo > 0) generic(x.byteOffset, y.byteOffset, planes, rowLo, rowHi, 0, colLo, geo);
        if (colHi < OW) generic(x.byteOffset, y.byteOffset, planes, rowLo, rowHi, colHi, OW, geo);
      }
      return;
    }
    // 8-bit planes: the border in JS.
    const sh = g.strides[1]!;
    const ph = g.padsBegin[1]!;
    for (let p = 0; p < planes; p++) {
      for (let oh = 0; oh < OH; oh++) {
        const rowBase = p * H * W + (oh * sh - ph) * W;
        const yr = (p * OH + oh) * OW;
        if (!hasInterior || oh < rowLo || oh >= rowHi) windowMaxRow(c.pp, x, rowBase, oh, 0, OW, y, yr);
        else {
          windowMaxRow(c.pp, x, rowBase, oh, 0, colLo, y, yr);
          windowMaxRow(c.pp, x, rowBase, oh, colHi, OW, y, yr);
        }
      }
    }
  };
  const kernel = onWasmOrReference(fallback, detail, (inputs, outs) => {
    const x = inputs[0] as PlaneArray;
    const y = outs[0] as PlaneArray;
    if (x.buffer !== ctx.memory.buffer || y.buffer !== ctx.memory.buffer) return false;
    poolOnWasm(x, y);
    return true;
  });
  // The geometry table is given back when the kernel is collected.
  if (float) release?.register(kernel, { ctx, offset: geo });
  return kernel;
}

const elemOf = (dtype: DType): PoolElement | undefined => (dtype === 'float32' ? 'f32' : dtype === 'uint8' ? 'u8' : dtype === 'int8' ? 's8' : undefined);

/** The unrolled SIMD interior kernel for this window, when the generator makes one (dilation 1, SW 1 or 2, ≤ 7×7). */
function interiorOf(c: PoolCase, caps: Capabilities): WasmMaxPoolInterior | undefined {
  const g = c.pp.geo;
  const elem = elemOf(c.dtype);
  const mode: PoolMode = c.reducer === 'max' ? 'max' : 'avg';
  const [KH, KW, SH, SW] = [g.kernel[1]!, g.kernel[2]!, g.strides[1]!, g.strides[2]!];
  if (caps.wasm === undefined || elem === undefined || !c.is2d || c.wantIndices || (mode === 'avg' && elem !== 'f32')) return undefined;
  if (g.dilations[1] !== 1 || g.dilations[2] !== 1 || KH > MAX_POOL_UNROLL || KW > MAX_POOL_UNROLL || (SW !== 1 && SW !== 2)) return undefined;
  return caps.wasm.use(poolModule(mode, KH, KW, SH, elem, SW));
}

const opName = (c: PoolCase) => c.op.toLowerCase();

/**
 * MaxPool, AveragePool and LpPool share one table, reference first (chooseVariant takes the last that applies):
 *   {dt}_{op}__ref                       poolPlanes: any rank, dtype, indices
 *   {dt}_maxpool_2d__js                  the monomorphic JS 2-D max pool (float32, uint8, int8)
 *   f32_{op}_2d__wasmsimd                the generic wasm pool: any window, stride, dilation, pads, ceil_mode
 *   {dt}_{op}_{KH}x{KW}s{SH}x{SW}__wasmsimd  the unrolled SIMD interior + the generic wasm border
 */
export const POOL_VARIANTS: readonly VariantDef<PoolCase>[] = [
  { name: (c) => `${prefixOf(c.dtype)}_${opName(c)}__ref`, applies: () => true, placement: 'any', prepare: prepareReferencePool },
  {
    name: (c) => `${prefixOf(c.dtype)}_maxpool_2d__js`,
    applies: (c) => c.op === 'MaxPool' && c.is2d && !c.wantIndices && (elemOf(c.dtype) !== undefined || c.dtype === 'float16' || c.dtype === 'bfloat16'),
    placement: 'any',
    prepare: prepareJsMaxPool2d,
  },
  {
    name: (c) => `f32_${opName(c)}_2d__wasmsimd`,
    applies: (c, caps) => c.op !== 'LpPool' && c.is2d && !c.wantIndices && c.dtype === 'float32' && caps.wasm?.use(GENERIC_POOL_MODULE) !== undefined,
    placement: 'wasm',
    prepare: (c, ctx) => prepareWasmPool2d(c, ctx.options.wasm!, undefined, `wasm ${POOL_WORD[c.op]} pool ${windowName(c)} (generic)`, prepareReferencePool(c)),
  },
  {
    name: (c) => `${prefixOf(c.dtype)}_${opName(c)}_${windowName(c)}__wasmsimd`,
    applies: (c, caps) => c.op !== 'LpPool' && interiorOf(c, caps) !== undefined && (c.dtype !== 'float32' || caps.wasm?.use(GENERIC_POOL_MODULE) !== undefined),
    placement: 'wasm',
    prepare: (c, ctx) => {
      const caps = { wasm: ctx.options.wasm };
      const fallback = c.op === 'MaxPool' ? prepareJsMaxPool2d(c) : prepareReferencePool(c);
      return prepareWasmPool2d(c, ctx.options.wasm!, interiorOf(c, caps), `wasm ${POOL_WORD[c.op]} pool ${windowName(c)} interior`, fallback);
    },
  },
];

function readCase(ctx: PrepareContext, op: PoolCase['op'], allowed: Set<string>): PoolCase {
  const x = requireInput(ctx, 0);
  const { planes, lead, geo } = readPool(ctx, allowed);
  const pp = poolProblem(planes, geo);
  const includePad = op === 'AveragePool' && attrFlag(ctx, 'count_include_pad', 0);
  const storageOrder = op === 'MaxPool' ? attrInt(ctx.node, 'storage_order', 0) : 0;
  if (storageOrder !== 0 && storageOrder !== 1) throw kernelError(ctx, `storage_order must be 0 or 1, got ${storageOrder}`);
  return {
    op,
    dtype: x.dtype,
    shape: [...lead, ...geo.outSize],
    pp,
    is2d: pp.geo.inSize[0] === 1 && pp.geo.kernel[0] === 1,
    reducer: op === 'MaxPool' ? 'max' : op === 'LpPool' ? 'lp' : includePad ? 'avgIncludePad' : 'avg',
    p: op === 'LpPool' ? readP(ctx) : 0,
    wantIndices: op === 'MaxPool' && ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '',
    columnMajor: storageOrder === 1,
  };
}

/** LpPool's p: an int since opset 2, a float in opset 1. */
export function readP(ctx: PrepareContext): number {
  const a = ctx.node.attributes.get('p');
  const p = a?.type === 'float' ? attrFloat(ctx.node, 'p', 2) : attrInt(ctx.node, 'p', 2);
  if (!(p > 0)) throw kernelError(ctx, `p must be positive, got ${p}`);
  return p;
}

// MaxPool: X [N, C, D1..Dn] -> Y [N, C, O1..On], Indices int64 [N, C, O1..On]?
export const maxPoolKernel: KernelDef = { opType: 'MaxPool', prepare: (ctx) => chooseVariant(POOL_VARIANTS, readCase(ctx, 'MaxPool', MAXPOOL_TYPES), ctx) };
// AveragePool: X [N, C, D1..Dn] -> Y [N, C, O1..On]
export const averagePoolKernel: KernelDef = { opType: 'AveragePool', prepare: (ctx) => chooseVariant(POOL_VARIANTS, readCase(ctx, 'AveragePool', FLOAT_TYPES), ctx) };
// LpPool: X [N, C, D1..Dn] -> Y [N, C, O1..On], Y = (Σ_window |x|^p)^(1/p)
export const lpPoolKernel: KernelDef = { opType: 'LpPool', prepare: (ctx) => chooseVariant(POOL_VARIANTS, readCase(ctx, 'LpPool', FLOAT_TYPES), ctx) };

/**
 * With threads: the planes in ranges, one group per range recorded by `record(pool, x, y, planes)` with x and y
 * moved to the range's first plane (`inPlane`/`outPlane` bytes per plane). False when there is no pool or the
 * step is too small (`work` = multiply-adds or compares per plane).
 */
function planeRangesOnThreads(
  ctx: WasmContext, x: number, y: number, planes: number, inPlane: number, outPlane: number, work: number,
  record: (pool: ThreadPool, x: number, y: number, planes: number) => void,
): boolean {
  const pool = ctx.pool;
  if (pool === undefined || pool.recording) return false;
  const chunks = Math.min(planes, pool.threads * 2, Math.floor((planes * work) / SPLIT_MIN_MACS));
  if (chunks < 2) return false;
  pool.batch(() => {
    for (let i = 0; i < chunks; i++) {
      const p0 = Math.floor((i * planes) / chunks);
      const p1 = Math.floor(((i + 1) * planes) / chunks);
      pool.group();
      record(pool, x + p0 * inPlane, y + p0 * outPlane, p1 - p0);
    }
  });
  return true;
}
