/**
 * Bias correction for weight quantization (Nagel et al. 2019, "Data-Free Quantization Through Weight
 * Equalization and Bias Correction", §4.2): rounding W to Wq shifts each output's mean by
 * E[(Wq - W) x] = Σ (Wq - W)[c, i, ...] · E[x_i], which does not average out over a layer. Subtracting it from
 * the bias, with E[x_i] the per-channel mean of the layer's input seen during calibration, removes that shift.
 * Padding and borders are ignored (the mean is taken over all positions).
 */
import type { TensorData } from '../dtype.js';
import { attrInt } from '../graph/attributes.js';
import type { Node } from '../loader/model.js';
import type { QuantizedWeight } from './params.js';

/** Expected output shift per output channel of a Conv or Gemm whose weight was quantized as `qw`. */
export function quantizationShift(node: Node, w: TensorData, qw: QuantizedWeight, inputMean: Float64Array): Float64Array | undefined {
  const wf = w.data as Float32Array;
  const wq = qw.q.data as Int8Array;
  const scaleOf = (outChannel: number) => qw.scales[qw.scales.length > 1 ? outChannel : 0]!;
  if (node.opType === 'Conv') {
    const [m, cPerGroup] = w.shape as [number, number];
    const k = wf.length / (m * cPerGroup);
    const group = attrInt(node, 'group', 1);
    if (inputMean.length !== cPerGroup * group) return undefined;
    const shift = new Float64Array(m);
    for (let oc = 0; oc < m; oc++) {
      const g = Math.floor(oc / (m / group));
      const s = scaleOf(oc);
      let sum = 0;
      for (let ic = 0; ic < cPerGroup; ic++) {
        const mean = inputMean[g * cPerGroup + ic]!;
        for (let j = 0, at = (oc * cPerGroup + ic) * k; j < k; j++, at++) sum += (wq[at]! * s - wf[at]!) * mean;
      }
      shift[oc] = sum;
    }
    return shift;
  }
  if (node.opType === 'Gemm' && attrInt(node, 'transA', 0) === 0) {
    const transB = attrInt(node, 'transB', 0) !== 0;
    const [rows, cols] = w.shape as [number, number];
    const [kDim, n] = transB ? [cols, rows] : [rows, cols];
    if (inputMean.length !== kDim) return undefined;
    const shift = new Float64Array(n);
    for (let o = 0; o < n; o++) {
      const s = scaleOf(o);
      let sum = 0;
      for (let i = 0; i < kDim; i++) {
        const at = transB ? o * kDim + i : i * n + o;
        sum += (wq[at]! * s - wf[at]!) * inputMean[i]!;
      }
      shift[o] = sum;
    }
    return shift;
  }
  return undefined;
}

/** The bias minus the shift, as a new float tensor. */
export function correctedBias(bias: TensorData, shift: Float64Array): TensorData {
  const b = bias.data as Float32Array;
  return { dtype: 'float32', shape: [...bias.shape], data: Float32Array.from(b, (v, i) => v - shift[i]!) };
}

/** Per-channel (axis 1) sums of x, for accumulating E[x_c] over calibration runs. */
export function addChannelSums(sums: Float64Array, x: ArrayLike<number>, shape: readonly number[]): number {
  const channels = shape[1] ?? 1;
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const outer = (shape[0] ?? 1);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      let s = 0;
      for (let i = 0, at = (o * channels + c) * inner; i < inner; i++, at++) s += x[at]!;
      sums[c]! += s;
    }
  }
  return outer * inner;
}
