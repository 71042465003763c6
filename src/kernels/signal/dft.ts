import type { NumericArray } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext } from '../kernel.js';
import { product, requireFloat } from '../reduce/common.js';
import { planFft, splitRealPair, type FftPlan } from './fft.js';
import { intInput } from './common.js';

/**
 * One transform along `axis` of a [..., 1|2] real-or-complex tensor, split as (outer, len, inner, channels):
 * element (o, j, i) lives at ((o·len + j)·inner + i)·channels. The signal is zero-padded or truncated to the
 * plan's length n; the first outLen bins are written as (re, im) pairs, or as reals for the IRFFT.
 * IRFFT (onesided inverse): the input holds bins 0..⌊n/2⌋ of a Hermitian spectrum; the rest are the
 * conjugates X[n-k]*, and the (real) signal is the inverse transform's real part.
 */
export interface AxisTransform {
  outer: number;
  len: number;
  inner: number;
  channels: number;
  outLen: number;
  inverse: boolean;
  irfft: boolean;
  fft: FftPlan;
  re: Float64Array;
  im: Float64Array;
  /** One bin of two split real transforms: [Ar, Ai, Br, Bi]. */
  pair: Float64Array;
}

export function planAxisTransform(
  shape: readonly number[],
  axis: number,
  n: number,
  inverse: boolean,
  onesided: boolean,
): AxisTransform {
  const signal = shape.slice(0, -1);
  const irfft = inverse && onesided;
  return {
    outer: product(signal, 0, axis),
    len: signal[axis]!,
    inner: product(signal, axis + 1),
    channels: shape[shape.length - 1]!,
    outLen: onesided && !inverse ? (n >> 1) + 1 : n,
    inverse,
    irfft,
    fft: planFft(n),
    re: new Float64Array(n),
    im: new Float64Array(n),
    pair: new Float64Array(4),
  };
}

export function runAxisTransform(p: AxisTransform, x: NumericArray, y: NumericArray): void {
  const { outer, len, inner, channels, outLen, re, im, irfft, pair } = p;
  const n = p.fft.n;
  const take = Math.min(len, irfft ? (n >> 1) + 1 : n);
  const outChannels = irfft ? 1 : 2;
  const lines = outer * inner;
  // Line L = (o, i): input element j at (inBase(L) + j·inner)·channels, output bin k at (outBase(L) + k·inner)·outChannels.
  const inBase = (L: number): number => Math.floor(L / inner) * len * inner + (L % inner);
  const outBase = (L: number): number => Math.floor(L / inner) * outLen * inner + (L % inner);
  let L = 0;
  if (channels === 1 && !irfft) {
    // Real lines in pairs: one as the real part, one as the imaginary part of a single complex transform.
    for (; L + 1 < lines; L += 2) {
      const a = inBase(L);
      const b = inBase(L + 1);
      re.fill(0);
      im.fill(0);
      for (let j = 0; j < take; j++) {
        re[j] = x[a + j * inner]!;
        im[j] = x[b + j * inner]!;
      }
      p.fft.transform(re, im, p.inverse);
      const oa = outBase(L);
      const ob = outBase(L + 1);
      for (let k = 0; k < outLen; k++) {
        splitRealPair(re, im, k, pair);
        y[(oa + k * inner) * 2] = pair[0]!;
        y[(oa + k * inner) * 2 + 1] = pair[1]!;
        y[(ob + k * inner) * 2] = pair[2]!;
        y[(ob + k * inner) * 2 + 1] = pair[3]!;
      }
    }
  }
  for (; L < lines; L++) {
    const base = inBase(L);
    re.fill(0);
    im.fill(0);
    for (let j = 0; j < take; j++) {
      re[j] = x[(base + j * inner) * channels]!;
      if (channels === 2) im[j] = x[(base + j * inner) * channels + 1]!;
    }
    if (irfft) {
      for (let k = (n >> 1) + 1; k < n; k++) {
        re[k] = re[n - k]!;
        im[k] = -im[n - k]!;
      }
    }
    p.fft.transform(re, im, p.inverse);
    const out = outBase(L);
    for (let k = 0; k < outLen; k++) {
      const at = (out + k * inner) * outChannels;
      y[at] = re[k]!;
      if (!irfft) y[at + 1] = im[k]!;
    }
  }
}

/** The DFT axis: attribute (opset 17, default 1) or scalar input 2 (opset 20+, default -2); [-r, -2] ∪ [0, r-2]. */
function dftAxis(ctx: PrepareContext, rank: number): number {
  const hasAxisInput = ctx.opset >= 20 && ctx.inputs[2] !== undefined;
  const axis = hasAxisInput ? intInput(ctx, 2, 'axis', -rank) : ctx.opset >= 20 ? -2 : attrInt(ctx.node, 'axis', 1);
  const normalized = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || normalized < 0 || normalized > rank - 2) {
    throw kernelError(ctx, `axis ${axis} is out of range for rank ${rank} (the last dim holds real/imaginary parts)`);
  }
  return normalized;
}

/**
 * DFT (ONNX 17, 20): input (..., L, ..., 1|2) real or complex, dft_length? () -> (..., n or ⌊n/2⌋+1, ..., 1|2).
 * Forward X[k] = Σ_j x[j]·e^(-2πi·jk/n); inverse scales by 1/n. onesided forward (RFFT) keeps bins 0..⌊n/2⌋,
 * the rest being conjugates for real input; onesided inverse (IRFFT) takes those bins of a complex input and
 * returns the real signal (..., n, ..., 1) with n = dft_length or 2·(L - 1).
 */
export const dftKernel: KernelDef = {
  opType: 'DFT',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    requireFloat(ctx, x.dtype);
    const rank = x.shape.length;
    const channels = x.shape[rank - 1];
    if (rank < 2 || (channels !== 1 && channels !== 2)) {
      throw kernelError(ctx, `input must be (..., 1) real or (..., 2) complex, got shape [${x.shape}]`);
    }
    const axis = dftAxis(ctx, rank);
    const inverse = attrInt(ctx.node, 'inverse', 0) !== 0;
    const onesided = attrInt(ctx.node, 'onesided', 0) !== 0;
    const irfft = inverse && onesided;
    if (irfft && channels !== 2) throw kernelError(ctx, 'a onesided inverse DFT (IRFFT) needs complex input (last dim 2)');
    const len = x.shape[axis]!;
    const n = ctx.inputs[1] !== undefined ? intInput(ctx, 1, 'dft_length', 1) : irfft ? 2 * (len - 1) : len;
    if (n < 1) throw kernelError(ctx, `cannot transform an empty axis (shape [${x.shape}])`);
    const p = planAxisTransform(x.shape, axis, n, inverse, onesided);
    const outShape = [...x.shape];
    outShape[axis] = p.outLen;
    outShape[rank - 1] = irfft ? 1 : 2;
    return {
      outputs: [{ dtype: x.dtype, shape: outShape }],
      run(inputs, outputs) {
        runAxisTransform(p, inputs[0] as NumericArray, outputs[0] as NumericArray);
      },
    };
  },
};
