import { sizeOf, type Data, type DType, type TensorType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel, type ScratchSpec } from '../kernel.js';
import { convGeometry, im2colIndexMap } from './conv-geometry.js';
import { applyZeroPointCorrections, igemmABt, rowSums, type Int8Like } from './igemm.js';
import { fusedOutputRange } from './params.js';
import { integerRange, requantize } from './rounding.js';

const ZERO = new Int32Array(1);

function checkInt8Like(ctx: PrepareContext, name: string, t: TensorType): void {
  if (t.dtype !== 'uint8' && t.dtype !== 'int8') {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${name} must be uint8 or int8, got ${t.dtype}`);
  }
}

/**
 * The integer part shared by QLinearConv and ConvInteger: per (batch n, group g) it computes
 * acc[m, p] = Σ_{c,k} (x[n, g·Cg + c, at(p, k)] - x_zp) · (w[g·Mg + m, c, k] - w_zp[m]) into an Int32 block
 * [Mg, P] via im2col (padding holds x_zp, i.e. real zero) and igemmABt with zero-point corrections, or by a
 * direct loop for depthwise convolutions.
 */
interface IntegerConvPlan {
  outShape: number[];
  M: number;
  P: number;
  group: number;
  Mg: number;
  scratch: ScratchSpec[];
  /** Per run: weight row sums if the weights were not constant at prepare; zero-point-shifted depthwise filters. */
  prepareWeights(w: Int8Like, wZp: ArrayLike<number>, wZpStride: number): void;
  accumulate(
    n: number,
    g: number,
    x: Int8Like,
    w: Int8Like,
    xZp: ArrayLike<number>,
    wZp: ArrayLike<number>,
    wZpStride: number,
    acc: Int32Array,
    accOff: number,
    col: Int8Like,
    colSums: Int32Array,
  ): void;
}

function planIntegerConv(ctx: PrepareContext, xIndex: number, wIndex: number, wZpIndex: number): IntegerConvPlan {
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
  const map = im2colIndexMap(geom);
  const inPlane = sizeOf(geom.inSize);
  const P = sizeOf(geom.outSize);
  const KS = sizeOf(geom.kernel);
  const Kg = Cg * KS;
  const Mg = M / group;
  const wSums = new Int32Array(M);
  const wConst = ctx.constants[wIndex];
  if (wConst !== undefined) rowSums(M, Kg, wConst.data as Int8Like, 0, Kg, wSums, 0);
  // Depthwise (one input and one output channel per group): a direct loop beats im2col + a 1-row GEMM.
  const depthwise = Cg === 1 && Mg === 1;
  const shiftedFilters = new Int32Array(depthwise ? M * KS : 0);
  return {
    outShape: [N, M, ...geom.outSize],
    M,
    P,
    group,
    Mg,
    scratch: depthwise
      ? [
          { dtype: x.dtype, length: 1 },
          { dtype: 'int32', length: 1 },
        ]
      : [
          { dtype: x.dtype, length: P * Kg },
          { dtype: 'int32', length: P },
        ],
    prepareWeights(wData, wZpData, wZpStride) {
      if (depthwise) {
        for (let m = 0; m < M; m++) {
          const zw = wZpData[m * wZpStride]!;
          for (let k = 0; k < KS; k++) shiftedFilters[m * KS + k] = wData[m * KS + k]! - zw;
        }
      } else if (wConst === undefined) rowSums(M, Kg, wData, 0, Kg, wSums, 0);
    },
    accumulate(n, g, xData, wData, xZp, wZpData, wZpStride, acc, accOff, col, colSums) {
      const zx = xZp[0]!;
      if (depthwise) {
        // acc[p] = Σ_k (x[at(p,k)] - x_zp)·(w[g,k] - w_zp[g]); padding is real zero, so it is skipped.
        const plane = (n * C + g) * inPlane;
        const f0 = g * KS;
        for (let p = 0; p < P; p++) {
          const m0 = p * KS;
          let s = 0;
          for (let k = 0; k < KS; k++) {
            const at = map[m0 + k]!;
            if (at >= 0) s += (xData[plane + at]! - zx) * shiftedFilters[f0 + k]!;
          }
          acc[accOff + p] = s;
        }
        return;
      }
      for (let p = 0; p < P; p++) {
        let s = 0;
        const row = p * Kg;
        const m0 = p * KS;
        for (let c = 0; c < Cg; c++) {
          const plane = (n * C + g * Cg + c) * inPlane;
          const dst = row + c * KS;
          for (let k = 0; k < KS; k++) {
            const at = map[m0 + k]!;
            const v = at < 0 ? zx : xData[plane + at]!;
            col[dst + k] = v;
            s += v;
          }
        }
        colSums[p] = s;
      }
      igemmABt(Mg, P, Kg, wData, g * Mg * Kg, Kg, col, 0, Kg, acc, accOff, P);
      applyZeroPointCorrections(Mg, P, Kg, acc, accOff, P, wZpData, g * Mg * wZpStride, wZpStride, wSums, g * Mg, xZp, 0, 0, colSums, 0);
    },
  };
}

function checkScalarZeroPoint(ctx: PrepareContext, i: number, name: string): void {
  const t = ctx.inputs[i];
  if (t !== undefined && sizeOf(t.shape) !== 1) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${name} must be a scalar, got [${t.shape}]`);
  }
}

// ConvInteger (Operators.md): y = conv(x - x_zero_point, w - w_zero_point) in int32.
// x [N, C, ...], w [M, C/group, ...k], x_zero_point [], w_zero_point [] | [M] -> y int32 [N, M, ...out]
function prepareConvInteger(ctx: PrepareContext): PreparedKernel {
  checkScalarZeroPoint(ctx, 2, 'x_zero_point');
  const plan = planIntegerConv(ctx, 0, 1, 3);
  const wZpStride = ctx.inputs[3] !== undefined && sizeOf(ctx.inputs[3].shape) > 1 ? 1 : 0;
  const batch = plan.outShape[0]!;
  return {
    outputs: [{ dtype: 'int32', shape: plan.outShape }],
    scratch: plan.scratch,
    run(inputs, outputs, scratch) {
      const x = inputs[0] as Int8Like;
      const w = inputs[1] as Int8Like;
      const xZp = (inputs[2] as Int8Like | undefined) ?? ZERO;
      const wZp = (inputs[3] as Int8Like | undefined) ?? ZERO;
      const y = outputs[0] as Int32Array;
      plan.prepareWeights(w, wZp, wZpStride);
      for (let n = 0; n < batch; n++) {
        for (let g = 0; g < plan.group; g++) {
          const off = (n * plan.M + g * plan.Mg) * plan.P;
          plan.accumulate(n, g, x, w, xZp, wZp, wZpStride, y, off, scratch[0] as Int8Like, scratch[1] as Int32Array);
        }
      }
    },
  };
}

// QLinearConv (Operators.md): y = saturate(round(conv_int32(x - x_zp, w - w_zp) + B) · (x_scale·w_scale / y_scale)) + y_zp).
// x [N, C, ...] u8/i8, w [M, C/group, ...k] u8/i8, w_scale/w_zero_point [] | [M], B int32 [M] -> y [N, M, ...out]
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
  const multipliers = new Float32Array(plan.M);
  const { M, Mg, P, group } = plan;
  const batch = plan.outShape[0]!;
  return {
    outputs: [{ dtype: outType, shape: plan.outShape }],
    scratch: [...plan.scratch, { dtype: 'int32', length: Mg * P }],
    run(inputs, outputs, scratch) {
      const x = inputs[0] as Int8Like;
      const w = inputs[3] as Int8Like;
      const xZp = (inputs[2] as Int8Like | undefined) ?? ZERO;
      const wZp = (inputs[5] as Int8Like | undefined) ?? ZERO;
      const b = inputs[8] as Int32Array | undefined;
      const yZp = inputs[7] === undefined ? 0 : (inputs[7] as Int8Like)[0]!;
      const y = outputs[0] as Int8Like;
      const acc = scratch[2] as Int32Array;
      outputMultipliers(inputs, multipliers);
      plan.prepareWeights(w, wZp, wZpStride);
      for (let n = 0; n < batch; n++) {
        for (let g = 0; g < group; g++) {
          plan.accumulate(n, g, x, w, xZp, wZp, wZpStride, acc, 0, scratch[0] as Int8Like, scratch[1] as Int32Array);
          for (let m = 0; m < Mg; m++) {
            const oc = g * Mg + m;
            const mult = multipliers[oc]!;
            const bm = b === undefined ? 0 : b[oc]!;
            const src = m * P;
            const dst = (n * M + oc) * P;
            for (let p = 0; p < P; p++) y[dst + p] = requantize(acc[src + p]! + bm, mult, yZp, lo, hi);
          }
        }
      }
    },
  };
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
