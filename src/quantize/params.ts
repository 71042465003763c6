/**
 * Scales and zero points (ONNX QuantizeLinear: q = saturate(round(x / scale) + zero_point), ties to even).
 *   activations: uint8 asymmetric over [min(rmin, 0), max(rmax, 0)] (0 must be exact, for padding and ReLU),
 *                or int8 symmetric over ±max|r|;
 *   weights:     int8 symmetric per tensor or per output channel, zero point 0, levels ±127;
 *   bias:        int32 with scale = x_scale * w_scale[c] and zero point 0, so the integer accumulator
 *                Σ q_x q_w + q_b needs no rescaling before the output requantisation.
 */
import type { TensorData } from '../dtype.js';
import type { MinMax } from './ranges.js';

export type ActivationType = 'uint8' | 'int8';

export interface QuantParams {
  scale: number;
  zeroPoint: number;
  dtype: ActivationType;
}

/** Round half to even, as QuantizeLinear rounds. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function activationParams(range: MinMax, dtype: ActivationType): QuantParams {
  const lo = Math.min(Number.isFinite(range.min) ? range.min : 0, 0);
  const hi = Math.max(Number.isFinite(range.max) ? range.max : 0, 0);
  if (dtype === 'int8') {
    const absMax = Math.max(-lo, hi);
    return { scale: absMax > 0 ? Math.fround(absMax / 127) : 1, zeroPoint: 0, dtype };
  }
  if (hi - lo <= 0) return { scale: 1, zeroPoint: 0, dtype };
  const scale = Math.fround((hi - lo) / 255);
  const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(-lo / scale)));
  return { scale, zeroPoint, dtype };
}

export interface QuantizedWeight {
  /** int8 values, same shape as the float weight. */
  q: TensorData;
  /** float32 scales: [] per tensor, [C] per channel. */
  scale: TensorData;
  /** int8 zeros, shaped like scale. */
  zeroPoint: TensorData;
  /** The channel axis, or undefined per tensor. */
  axis: number | undefined;
  /** The scales as numbers (one per channel, or one). */
  scales: Float32Array;
}

/** int8 symmetric quantisation of a float weight, per tensor (axis undefined) or per slice along `axis`. */
export function quantizeWeight(w: TensorData, axis: number | undefined): QuantizedWeight {
  const data = w.data as Float32Array | Float64Array;
  const channels = axis === undefined ? 1 : w.shape[axis]!;
  const inner = axis === undefined ? data.length : w.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const absMax = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const a = Math.abs(data[i]!);
    if (a > absMax[c]!) absMax[c] = a;
  }
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = absMax[c]! > 0 ? absMax[c]! / 127 : 1;
  const q = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / inner) % channels;
    q[i] = Math.max(-127, Math.min(127, roundHalfEven(Math.fround(data[i]! / scales[c]!))));
  }
  const shape = axis === undefined ? [] : [channels];
  return {
    q: { dtype: 'int8', shape: [...w.shape], data: q },
    scale: { dtype: 'float32', shape, data: scales },
    zeroPoint: { dtype: 'int8', shape, data: new Int8Array(channels) },
    axis,
    scales,
  };
}

export interface QuantizedBias {
  q: TensorData;
  scale: TensorData;
}

/** int32 bias with scale x_scale * w_scale[c] (one scale per element when the weight is per channel). */
export function quantizeBias(bias: TensorData, xScale: number, wScales: Float32Array): QuantizedBias {
  const data = bias.data as Float32Array | Float64Array;
  const n = data.length;
  const perChannel = wScales.length > 1;
  const scales = new Float32Array(perChannel ? n : 1);
  for (let c = 0; c < scales.length; c++) scales[c] = Math.fround(xScale * wScales[c]!);
  const q = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const s = scales[perChannel ? i : 0]!;
    q[i] = Math.max(-2147483647, Math.min(2147483647, roundHalfEven(data[i]! / s)));
  }
  return {
    q: { dtype: 'int32', shape: [...bias.shape], data: q },
    scale: { dtype: 'float32', shape: perChannel ? [n] : [], data: scales },
  };
}

export function scalarTensor(dtype: 'float32' | 'uint8' | 'int8' | 'int32', value: number): TensorData {
  const data =
    dtype === 'float32' ? new Float32Array([value]) : dtype === 'uint8' ? new Uint8Array([value]) : dtype === 'int8' ? new Int8Array([value]) : new Int32Array([value]);
  return { dtype, shape: [], data };
}
