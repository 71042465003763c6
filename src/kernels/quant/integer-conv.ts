import { sizeOf, type Data, type DType, type TensorType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrInt } from '../../graph/attributes.js';
import {
  chooseVariant, kernelError, onWasmOrReference, requireInput, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef,
} from '../kernel.js';
import { convGeometry, im2colIndexMap, isPointwiseGeometry } from './conv-geometry.js';
import { rowSums, type Int8Like } from './igemm.js';
import {
  LANE_SCALE, TILE_COLS, TILE_ROWS, fillPanelStrided, igemmPacked, laneChunk, packRowPanels, packedRowsLength, panelLength, type TileStore,
} from './igemm-packed.js';
import { planWasmQLinearConv, type WasmQLinearConv } from './integer-conv-wasm.js';
import { fusedOutputRange } from './params.js';
import { ROUND_LIMIT, ROUND_MAGIC, integerRange, requantize } from './rounding.js';

const ZERO = new Int32Array(1);
/** Not made yet: the index map and the inside flags of a plan whose JS path has not run. */
const NO_OFFSETS: Int32Array = new Int32Array(0);
const NO_FLAGS: Uint8Array = new Uint8Array(0);

function checkInt8Like(ctx: PrepareContext, name: string, t: TensorType): void {
  if (t.dtype !== 'uint8' && t.dtype !== 'int8') {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${name} must be uint8 or int8, got ${t.dtype}`);
  }
}

/**
 * Where the integer convolution writes: corrected int32 accumulators (ConvInteger), or requantized 8-bit values
 * saturate(round((acc + B[m]) · multiplier[m]) + y_zp) clamped to [lo, hi] (QLinearConv), fused into the store.
 */
export interface ConvOutput {
  y: Int32Array | Int8Like;
  requantize: boolean;
  bias: Int32Array | undefined;
  multipliers: Float32Array;
  yZp: number;
  lo: number;
  hi: number;
}

/**
 * The integer part shared by QLinearConv and ConvInteger: per (batch n, group g) it computes
 * acc[m, p] = Σ_{c,k} (x[n, g·Cg + c, at(p, k)] - x_zp) · (w[g·Mg + m, c, k] - w_zp[m]) and hands each value to
 * the output. GEMM path: weights packed once into 4-row panels, 4 output positions at a time gathered into a
 * lane-pair panel (padding holds x_zp, i.e. real zero; a 1×1 stride-1 convolution reads the image directly),
 * igemmPacked with zero-point corrections from row / column sums:
 *   Σ (w - zw)(x - zx) = Σ w·x - zw·Σx - zx·Σw + K·zx·zw.
 * Depthwise convolutions (one input and output channel per group) use a direct loop instead.
 */
export interface IntegerConvPlan {
  outShape: number[];
  M: number;
  P: number;
  group: number;
  Mg: number;
  /** Per run: weight packs and row sums if the weights were not constant at prepare; zero-point-shifted depthwise filters. */
  prepareWeights(w: Int8Like, wZp: ArrayLike<number>, wZpStride: number): void;
  convolve(n: number, g: number, x: Int8Like, zx: number, wZp: ArrayLike<number>, wZpStride: number, out: ConvOutput): void;
}

export function planIntegerConv(ctx: PrepareContext, xIndex: number, wIndex: number, wZpIndex: number): IntegerConvPlan {
  const x = requireInput(ctx, xIndex);
  const w = requireInput(ctx, wIndex);
  checkInt8Like(ctx, 'x', x);
  checkInt8Like(ctx, 'w', w);
  if (x.shape.length < 3 || w.shape.length !== x.shape.length) {
    throw kernelError(ctx, `x [${x.shape}] and w [${w.shape}] must both be [N, C, spatial...] / [M, C/group, kernel...]`);
  }
  const group = attrInt(ctx.node, 'group', 1);
  const [N, C] = x.shape as [number, number];
  const [M, Cg] = w.shape as [number, number];
  if (group < 1 || C % group !== 0 || M % group !== 0 || Cg * group !== C) {
    throw kernelError(ctx, `group ${group} does not fit x channels ${C} and w [${w.shape}]`);
  }
  const wZp = ctx.inputs[wZpIndex];
  if (wZp !== undefined && sizeOf(wZp.shape) !== 1 && sizeOf(wZp.shape) !== M) {
    throw kernelError(ctx, `w_zero_point must be a scalar or have ${M} elements, got [${wZp.shape}]`);
  }
  const geom = convGeometry(ctx, x.shape.slice(2), w.shape.slice(2));
  // The index map and what is derived from it are for the JS path: made when it first runs (a wasm variant that
  // never falls back never pays for them: P·KS offsets a conv).
  let mapMade: Int32Array | undefined;
  const indexMap = (): Int32Array => (mapMade ??= im2colIndexMap(geom));
  const inPlane = sizeOf(geom.inSize);
  const P = sizeOf(geom.outSize);
  const KS = sizeOf(geom.kernel);
  const Kg = Cg * KS;
  const Mg = M / group;
  const outShape = [N, M, ...geom.outSize];
  const wConst = ctx.constants[wIndex];
  // Depthwise (one input and one output channel per group): a direct loop beats a 1-row GEMM.
  if (Cg === 1 && Mg === 1) return planDepthwise(indexMap, C, M, P, KS, inPlane, outShape);

  // Column sums are decoded from lane pairs, exact while K·255 < 2^25 (K up to 131k: any real convolution).
  if (Kg * 255 >= 2 ** 25) throw new UnsupportedError(`${nodeLabel(ctx.node)}: reduction depth ${Kg} is too large`);
  const groupPack = packedRowsLength(Mg, Kg);
  // Packed when the JS path first runs (constant weights once): a wasm variant that never falls back never packs.
  let packedW: Int8Like = new Uint8Array(0);
  let packedConstant = false;
  const wSums = new Int32Array(M);
  const packWeights = (wData: Int8Like) => {
    if (packedW.length === 0) packedW = w.dtype === 'int8' ? new Int8Array(group * groupPack) : new Uint8Array(group * groupPack);
    rowSums(M, Kg, wData, 0, Kg, wSums, 0);
    for (let g = 0; g < group; g++) packRowPanels(Mg, Kg, wData, g * Mg * Kg, Kg, packedW, g * groupPack);
  };
  const chunk = laneChunk(w.dtype === 'int8', x.dtype === 'int8');
  const panel = new Float64Array(panelLength(Kg));
  const colSums = new Int32Array(TILE_COLS);
  const tile = new Float64Array(TILE_ROWS * TILE_COLS);
  const offs = new Int32Array(TILE_COLS);
  const pointwise = isPointwiseGeometry(geom);

  // State of the current (n, g) step, read by the panel filler and the store (set before each igemmPacked).
  let xCur: Int8Like = new Uint8Array(0);
  let zxCur = 0;
  let base = 0;
  let nCur = 0;
  let gCur = 0;
  let wZpCur: ArrayLike<number> = ZERO;
  let wZpStrideCur = 0;
  let outCur: ConvOutput | undefined;
  const rowConst = new Float64Array(Mg);

  // Output positions whose whole window lies inside the image: their columns need no padding checks.
  let map = NO_OFFSETS;
  let inside = NO_FLAGS;
  const makeMaps = (): void => {
    map = indexMap();
    inside = new Uint8Array(P);
    for (let p = 0; p < P; p++) {
      let all = 1;
      for (let k = 0; k < KS; k++) if (map[p * KS + k]! < 0) all = 0;
      inside[p] = all;
    }
  };
  // Columns p0.. of the im2col matrix (element (c, k) of column p is x[c, at(p, k)], or x_zp in the padding).
  const fillGathered = (p0: number, cols: number, pan: Float64Array, sums: Int32Array) => {
    for (let h = 0; h < 2; h++) {
      const pa = p0 + 2 * h;
      const pb = pa + 1;
      const hasA = 2 * h < cols;
      const hasB = 2 * h + 1 < cols;
      let d = h;
      let total = 0;
      if (hasA && hasB && inside[pa] === 1 && inside[pb] === 1) {
        for (let c = 0; c < Cg; c++) {
          const plane = base + c * inPlane;
          for (let k = 0; k < KS; k++, d += 2) {
            const v = xCur[plane + map[pa * KS + k]!]! + xCur[plane + map[pb * KS + k]!]! * LANE_SCALE;
            pan[d] = v;
            total += v;
          }
        }
      } else {
        for (let c = 0; c < Cg; c++) {
          const plane = base + c * inPlane;
          for (let k = 0; k < KS; k++, d += 2) {
            const atA = hasA ? map[pa * KS + k]! : -2;
            const atB = hasB ? map[pb * KS + k]! : -2;
            const va = atA === -2 ? 0 : atA < 0 ? zxCur : xCur[plane + atA]!;
            const vb = atB === -2 ? 0 : atB < 0 ? zxCur : xCur[plane + atB]!;
            const v = va + vb * LANE_SCALE;
            pan[d] = v;
            total += v;
          }
        }
      }
      // The column sums are the two lanes of the panel's total (each below K·255 < 2^25 in magnitude).
      const high = Math.round(total / LANE_SCALE);
      sums[2 * h] = total - high * LANE_SCALE;
      sums[2 * h + 1] = high;
    }
  };
  // 1×1, stride 1, no padding: column p is x[:, p], read straight from the image.
  const fillPointwise = (p0: number, cols: number, pan: Float64Array, sums: Int32Array) => {
    for (let c = 0; c < TILE_COLS; c++) offs[c] = base + p0 + c;
    fillPanelStrided(Kg, xCur, offs, cols, inPlane, pan, sums);
  };
  const store: TileStore = (t, m0, rows, c0, cols, sums) => {
    const o = outCur!;
    for (let r = 0; r < rows; r++) {
      const m = m0 + r;
      const oc = gCur * Mg + m;
      const zw = wZpCur[oc * wZpStrideCur]!;
      const rc = rowConst[m]!;
      const dst = (nCur * M + oc) * P + c0;
      if (o.requantize) {
        const mult = o.multipliers[oc]!;
        const { y, yZp, lo, hi } = o;
        for (let c = 0; c < cols; c++) {
          // requantize(acc, mult, yZp, lo, hi), written out (see rounding.ts).
          const acc = t[r * TILE_COLS + c]! - zw * sums[c]! + rc;
          const s = Math.fround(Math.fround(acc) * mult);
          const q = s > -ROUND_LIMIT && s < ROUND_LIMIT ? s + ROUND_MAGIC - ROUND_MAGIC + yZp : requantize(acc, mult, yZp, lo, hi);
          y[dst + c] = q < lo ? lo : q > hi ? hi : q;
        }
      } else {
        for (let c = 0; c < cols; c++) o.y[dst + c] = t[r * TILE_COLS + c]! - zw * sums[c]! + rc;
      }
    }
  };
  return {
    outShape,
    M,
    P,
    group,
    Mg,
    prepareWeights(wData) {
      if (wConst === undefined) packWeights(wData);
      else if (!packedConstant) {
        packWeights(wConst.data as Int8Like);
        packedConstant = true;
      }
    },
    convolve(n, g, xData, zx, wZpData, wZpStride, out) {
      if (!pointwise && inside === NO_FLAGS) makeMaps();
      xCur = xData;
      zxCur = zx;
      base = (n * C + g * Cg) * inPlane;
      nCur = n;
      gCur = g;
      wZpCur = wZpData;
      wZpStrideCur = wZpStride;
      outCur = out;
      for (let m = 0; m < Mg; m++) {
        const oc = g * Mg + m;
        const zw = wZpData[oc * wZpStride]!;
        rowConst[m] = (out.bias === undefined ? 0 : out.bias[oc]!) - zx * wSums[oc]! + Kg * zx * zw;
      }
      igemmPacked(Mg, P, Kg, packedW, g * groupPack, chunk, pointwise ? fillPointwise : fillGathered, store, panel, colSums, tile);
    },
  };
}

/**
 * Depthwise: acc[p] = Σ_k (x[at(p,k)] - x_zp)·(w[g,k] - w_zp[g]); padding is real zero, so it is skipped.
 * Output rows whose window lies inside the image use the unpadded offsets at(p, k) = at(p, 0) + tap[k] with no check.
 */
function planDepthwise(indexMap: () => Int32Array, C: number, M: number, P: number, KS: number, inPlane: number, outShape: number[]): IntegerConvPlan {
  const shiftedFilters = new Int32Array(M * KS);
  // Interior positions: all taps inside, so the window is the first tap's offset plus fixed tap offsets. Made when
  // the JS path first runs (see planIntegerConv).
  let map = NO_OFFSETS;
  const interior = new Uint8Array(P);
  const taps = new Int32Array(KS);
  let tapsKnown = false;
  const makeMaps = (): void => {
    map = indexMap();
    for (let p = 0; p < P; p++) {
      let inside = true;
      for (let k = 0; k < KS && inside; k++) if (map[p * KS + k]! < 0) inside = false;
      if (!inside) continue;
      if (!tapsKnown) {
        for (let k = 0; k < KS; k++) taps[k] = map[p * KS + k]! - map[p * KS]!;
        tapsKnown = true;
      }
      let same = true;
      for (let k = 0; k < KS && same; k++) if (map[p * KS + k]! - map[p * KS]! !== taps[k]) same = false;
      interior[p] = same ? 1 : 0;
    }
  };
  const filterSums = new Int32Array(M);
  return {
    outShape,
    M,
    P,
    group: C,
    Mg: 1,
    prepareWeights(wData, wZpData, wZpStride) {
      for (let m = 0; m < M; m++) {
        const zw = wZpData[m * wZpStride]!;
        let s = 0;
        for (let k = 0; k < KS; k++) s += shiftedFilters[m * KS + k] = wData[m * KS + k]! - zw;
        filterSums[m] = s;
      }
    },
    convolve(n, g, xData, zx, _wZp, _stride, out) {
      if (map === NO_OFFSETS) makeMaps();
      const plane = (n * C + g) * inPlane;
      const f0 = g * KS;
      const dst = (n * M + g) * P;
      // Inside the image Σ (x - zx)·f = Σ x·f - zx·Σf.
      const bias = (out.bias === undefined ? 0 : out.bias[g]!) - zx * filterSums[g]!;
      const rawBias = out.bias === undefined ? 0 : out.bias[g]!;
      const mult = out.multipliers[g]!;
      const { y, yZp, lo, hi } = out;
      const requant = out.requantize;
      if (KS === 9 && tapsKnown) {
        const F = shiftedFilters;
        const f0v = F[f0]!, f1 = F[f0 + 1]!, f2 = F[f0 + 2]!, f3 = F[f0 + 3]!, f4 = F[f0 + 4]!, f5 = F[f0 + 5]!, f6 = F[f0 + 6]!, f7 = F[f0 + 7]!, f8 = F[f0 + 8]!; // prettier-ignore
        const t1 = taps[1]!, t2 = taps[2]!, t3 = taps[3]!, t4 = taps[4]!, t5 = taps[5]!, t6 = taps[6]!, t7 = taps[7]!, t8 = taps[8]!; // prettier-ignore
        for (let p = 0; p < P; p++) {
          let acc: number;
          if (interior[p] === 1) {
            const a = plane + map[p * 9]!;
            acc = xData[a]! * f0v + xData[a + t1]! * f1 + xData[a + t2]! * f2 + xData[a + t3]! * f3 + xData[a + t4]! * f4 +
              xData[a + t5]! * f5 + xData[a + t6]! * f6 + xData[a + t7]! * f7 + xData[a + t8]! * f8 + bias;
          } else acc = borderSum(map, p, 9, xData, plane, zx, shiftedFilters, f0) + rawBias;
          if (!requant) y[dst + p] = acc;
          else {
            // requantize(acc, mult, yZp, lo, hi), written out: a call per element costs more than the 9 taps.
            const s = Math.fround(Math.fround(acc) * mult);
            const r = s > -ROUND_LIMIT && s < ROUND_LIMIT ? s + ROUND_MAGIC - ROUND_MAGIC + yZp : requantize(acc, mult, yZp, lo, hi);
            y[dst + p] = r < lo ? lo : r > hi ? hi : r;
          }
        }
        return;
      }
      for (let p = 0; p < P; p++) {
        const acc = borderSum(map, p, KS, xData, plane, zx, shiftedFilters, f0) + rawBias;
        y[dst + p] = out.requantize ? requantize(acc, mult, out.yZp, out.lo, out.hi) : acc;
      }
    },
  };
}

function borderSum(map: Int32Array, p: number, KS: number, x: Int8Like, plane: number, zx: number, filters: Int32Array, f0: number): number {
  let s = 0;
  for (let k = 0; k < KS; k++) {
    const at = map[p * KS + k]!;
    if (at >= 0) s += (x[plane + at]! - zx) * filters[f0 + k]!;
  }
  return s;
}

export function checkScalarZeroPoint(ctx: PrepareContext, i: number, name: string): void {
  const t = ctx.inputs[i];
  if (t !== undefined && sizeOf(t.shape) !== 1) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${name} must be a scalar, got [${t.shape}]`);
  }
}

interface ConvIntegerProblem {
  ctx: PrepareContext;
  plan: IntegerConvPlan;
  wZpStride: number;
  /** The wasm GEMM plan, made on first ask (it uploads the packed weights). */
  wasm(): WasmQLinearConv | undefined;
}

// ConvInteger (Operators.md): y = conv(x - x_zero_point, w - w_zero_point) in int32.
// x [N, C, ...], w [M, C/group, ...k], x_zero_point [], w_zero_point [] | [M] -> y int32 [N, M, ...out]
function prepareConvIntegerReference(p: ConvIntegerProblem): PreparedKernel {
  const { plan, wZpStride } = p;
  const batch = plan.outShape[0]!;
  const out: ConvOutput = { y: new Int32Array(0), requantize: false, bias: undefined, multipliers: new Float32Array(plan.M), yZp: 0, lo: 0, hi: 0 };
  return {
    outputs: [{ dtype: 'int32', shape: plan.outShape }],
    run(inputs, outputs) {
      const x = inputs[0] as Int8Like;
      const w = inputs[1] as Int8Like;
      const zx = ((inputs[2] as Int8Like | undefined) ?? ZERO)[0]!;
      const wZp = (inputs[3] as Int8Like | undefined) ?? ZERO;
      out.y = outputs[0] as Int32Array;
      plan.prepareWeights(w, wZp, wZpStride);
      for (let n = 0; n < batch; n++) for (let g = 0; g < plan.group; g++) plan.convolve(n, g, x, zx, wZp, wZpStride, out);
    },
  };
}

const NO_CHANNEL_PARAMS = new Float32Array(0);

function prepareConvIntegerWasm(p: ConvIntegerProblem): PreparedKernel {
  const reference = prepareConvIntegerReference(p);
  const conv = p.wasm()!;
  return onWasmOrReference(reference, conv.detail, (inputs, outputs) => {
    const zx = ((inputs[2] as Int8Like | undefined) ?? ZERO)[0]!;
    return conv.run(inputs[0] as Int8Like, zx, outputs[0] as Int32Array, 0, undefined, NO_CHANNEL_PARAMS);
  });
}

/** 'u8' or 'i8' for input i. */
function int8Name(ctx: PrepareContext, i: number): string {
  return ctx.inputs[i]?.dtype === 'int8' ? 'i8' : 'u8';
}

/**
 * An integer convolution family's table: the reference, the int8 GEMM, and the int8 GEMV for fewer than 8 output
 * positions (squeeze-excitation 1×1 convolutions after a global pool). Names carry the input and weight types.
 */
function integerConvVariants<P extends { ctx: PrepareContext; wasm(): { narrow: boolean } | undefined }>(
  op: string, weightInput: number, reference: VariantDef<P>['prepare'], wasm: VariantDef<P>['prepare'],
): readonly VariantDef<P>[] {
  const types = (p: P): string => `${int8Name(p.ctx, 0)}${int8Name(p.ctx, weightInput)}`;
  return [
    { name: (p) => `${types(p)}_${op}__ref`, applies: () => true, placement: 'any', prepare: reference },
    { name: (p) => `${types(p)}_${op}__wasmsimd`, applies: (p, caps) => caps.wasm !== undefined && p.wasm()?.narrow === false, placement: 'wasm', prepare: wasm },
    { name: (p) => `${types(p)}_${op}_gemv__wasmsimd`, applies: (p, caps) => caps.wasm !== undefined && p.wasm()?.narrow === true, placement: 'wasm', prepare: wasm },
  ];
}

const CONV_INTEGER_VARIANTS = integerConvVariants<ConvIntegerProblem>('convinteger', 1, prepareConvIntegerReference, prepareConvIntegerWasm);

function prepareConvInteger(ctx: PrepareContext): PreparedKernel {
  checkScalarZeroPoint(ctx, 2, 'x_zero_point');
  const plan = planIntegerConv(ctx, 0, 1, 3);
  const wZpStride = ctx.inputs[3] !== undefined && sizeOf(ctx.inputs[3].shape) > 1 ? 1 : 0;
  let wasm: WasmQLinearConv | undefined | null = null;
  const problem: ConvIntegerProblem = {
    ctx, plan, wZpStride,
    wasm: () => (wasm === null ? (wasm = planWasmQLinearConv(ctx, 1, 3, 0, 0, 'i32')) : wasm),
  };
  return chooseVariant(CONV_INTEGER_VARIANTS, problem, ctx);
}

interface QLinearConvProblem {
  ctx: PrepareContext;
  plan: IntegerConvPlan;
  outType: DType;
  lo: number;
  hi: number;
  wZpStride: number;
  /** The wasm GEMM / GEMV / depthwise plan, made on first ask (it uploads the packed weights). */
  wasm(): WasmQLinearConv | undefined;
}

// QLinearConv (Operators.md): y = saturate(round(conv_int32(x - x_zp, w - w_zp) + B) · (x_scale·w_scale / y_scale)) + y_zp).
// x [N, C, ...] u8/i8, w [M, C/group, ...k] u8/i8, w_scale/w_zero_point [] | [M], B int32 [M] -> y [N, M, ...out]
function prepareQLinearConvReference(p: QLinearConvProblem): PreparedKernel {
  const { plan, outType, lo, hi, wZpStride } = p;
  const multipliers = new Float32Array(plan.M);
  const batch = plan.outShape[0]!;
  const out: ConvOutput = { y: new Uint8Array(0), requantize: true, bias: undefined, multipliers, yZp: 0, lo, hi };
  return {
    outputs: [{ dtype: outType, shape: plan.outShape }],
    detail: plan.Mg === 1 && plan.group === plan.M ? 'js int8 depthwise' : 'js int8 packed gemm',
    run(inputs, outputs) {
      const x = inputs[0] as Int8Like;
      const w = inputs[3] as Int8Like;
      const zx = ((inputs[2] as Int8Like | undefined) ?? ZERO)[0]!;
      const wZp = (inputs[5] as Int8Like | undefined) ?? ZERO;
      out.bias = inputs[8] as Int32Array | undefined;
      out.yZp = inputs[7] === undefined ? 0 : (inputs[7] as Int8Like)[0]!;
      out.y = outputs[0] as Int8Like;
      outputMultipliers(inputs, multipliers);
      plan.prepareWeights(w, wZp, wZpStride);
      for (let n = 0; n < batch; n++) for (let g = 0; g < plan.group; g++) plan.convolve(n, g, x, zx, wZp, wZpStride, out);
    },
  };
}

function prepareQLinearConvWasm(p: QLinearConvProblem): PreparedKernel {
  const reference = prepareQLinearConvReference(p);
  const conv = p.wasm()!;
  const multipliers = new Float32Array(p.plan.M);
  return onWasmOrReference(reference, conv.detail, (inputs, outputs) => {
    const zx = ((inputs[2] as Int8Like | undefined) ?? ZERO)[0]!;
    const yZp = inputs[7] === undefined ? 0 : (inputs[7] as Int8Like)[0]!;
    outputMultipliers(inputs, multipliers);
    return conv.run(inputs[0] as Int8Like, zx, outputs[0] as Int8Like, yZp, inputs[8] as Int32Array | undefined, multipliers);
  });
}

const QLINEAR_CONV_VARIANTS = integerConvVariants<QLinearConvProblem>('qlinearconv', 3, prepareQLinearConvReference, prepareQLinearConvWasm);

function prepareQLinearConv(ctx: PrepareContext): PreparedKernel {
  checkScalarZeroPoint(ctx, 2, 'x_zero_point');
  checkScalarZeroPoint(ctx, 1, 'x_scale');
  checkScalarZeroPoint(ctx, 6, 'y_scale');
  checkScalarZeroPoint(ctx, 7, 'y_zero_point');
  const plan = planIntegerConv(ctx, 0, 3, 5);
  const wScale = requireInput(ctx, 4);
  const wScaleCount = sizeOf(wScale.shape);
  if (wScaleCount !== 1 && wScaleCount !== plan.M) {
    throw kernelError(ctx, `w_scale must be a scalar or have ${plan.M} elements, got [${wScale.shape}]`);
  }
  const bias = ctx.inputs[8];
  if (bias !== undefined && (bias.dtype !== 'int32' || sizeOf(bias.shape) !== plan.M)) {
    throw kernelError(ctx, `B must be int32 with ${plan.M} elements, got ${bias.dtype} [${bias.shape}]`);
  }
  const outType: DType = ctx.inputs[7]?.dtype ?? requireInput(ctx, 0).dtype;
  const range = integerRange(outType);
  if (range === undefined || (outType !== 'uint8' && outType !== 'int8')) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: y must be uint8 or int8, got ${outType}`);
  }
  const [lo, hi] = fusedOutputRange(ctx, range[0], range[1]);
  const wZpStride = ctx.inputs[5] !== undefined && sizeOf(ctx.inputs[5].shape) > 1 ? 1 : 0;
  let wasm: WasmQLinearConv | undefined | null = null;
  const problem: QLinearConvProblem = {
    ctx, plan, outType, lo, hi, wZpStride,
    wasm: () => (wasm === null ? (wasm = planWasmQLinearConv(ctx, 3, 5, lo, hi)) : wasm),
  };
  return chooseVariant(QLINEAR_CONV_VARIANTS, problem, ctx);
}

/** multipliers[m] = x_scale · w_scale[m] / y_scale, each step rounded to float32 as onnxruntime computes it. */
function outputMultipliers(inputs: readonly (Data | undefined)[], out: Float32Array): void {
  const xScale = (inputs[1] as Float32Array)[0]!;
  const wScale = inputs[4] as Float32Array;
  const yScale = (inputs[6] as Float32Array)[0]!;
  for (let m = 0; m < out.length; m++) {
    out[m] = Math.fround(Math.fround(xScale * wScale[wScale.length === 1 ? 0 : m]!) / yScale);
  }
}

export const integerConvKernels: KernelDef[] = [
  { opType: 'QLinearConv', prepare: prepareQLinearConv },
  { opType: 'ConvInteger', prepare: prepareConvInteger },
  // QLinearConv followed by a clamp of the quantized output (output_min / output_max): made by the QDQ fusion.
  { opType: 'QLinearConv', domain: 'tinfer', prepare: prepareQLinearConv },
];
