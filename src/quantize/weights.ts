/** Which inputs of a weighted op are weights and bias, and the output-channel axis of each weight. */
import type { TensorData } from '../dtype.js';
import { attrFloat, attrInt } from '../graph/attributes.js';
import type { Node } from '../loader/model.js';

export interface WeightSlots {
  /** Input index of the constant weight. */
  weight: number;
  /** Output-channel axis of the weight (the axis per-channel scales run along). */
  axis: number | undefined;
  /** Input index of a constant bias that can be stored as int32, if any. */
  bias: number | undefined;
}

const isFloat32Constant = (t: TensorData | undefined): t is TensorData => t !== undefined && t.dtype === 'float32';

/**
 * Conv W [M, C/g, k...] -> axis 0 and bias B [M]. MatMul B [K, N] -> axis 1 (per column; a batched B is per
 * tensor). Gemm B [K, N] -> axis 1, or [N, K] with transB=1 -> axis 0; C is a bias only when it is 1-D [N] and
 * alpha = beta = 1, so that its int32 scale x_scale * w_scale is the accumulator's.
 */
export function weightSlots(n: Node, constants: Map<string, TensorData>): WeightSlots | undefined {
  const w = constants.get(n.inputs[1] ?? '');
  if (!isFloat32Constant(w)) return undefined;
  const b = n.inputs[2] ? constants.get(n.inputs[2]) : undefined;
  switch (n.opType) {
    case 'Conv':
      return { weight: 1, axis: 0, bias: isFloat32Constant(b) && b.shape.length === 1 ? 2 : undefined };
    case 'MatMul':
      return { weight: 1, axis: w.shape.length === 2 ? 1 : undefined, bias: undefined };
    case 'Gemm': {
      if (w.shape.length !== 2) return undefined;
      const axis = attrInt(n, 'transB', 0) !== 0 ? 0 : 1;
      const unscaled = attrFloat(n, 'alpha', 1) === 1 && attrFloat(n, 'beta', 1) === 1;
      const biasOk = isFloat32Constant(b) && unscaled && b.shape.length === 1 && b.shape[0] === w.shape[axis];
      return { weight: 1, axis, bias: biasOk ? 2 : undefined };
    }
    default:
      return undefined;
  }
}
