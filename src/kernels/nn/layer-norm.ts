import { ONNX_DTYPE_CODES, sizeOf, type DType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat, attrInt } from '../../graph/attributes.js';
import { kernelError, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { optionalFloat, requireFloat } from './float-input.js';

type Vec = Float32Array | Float64Array;

/**
 * For a parameter of shape `param` broadcast (numpy, right-aligned) to `target`, the parameter's flat index
 * for every flat index of `target`; undefined when they are the same size (identity).
 */
export function broadcastIndexMap(ctx: PrepareContext, target: number[], param: number[]): Int32Array | undefined {
  const p = [...param];
  while (p.length > target.length && p[0] === 1) p.shift();
  if (p.length > target.length) throw kernelError(ctx, `[${param}] does not broadcast to [${target}]`);
  const padded = [...new Array<number>(target.length - p.length).fill(1), ...p];
  padded.forEach((d, i) => {
    if (d !== 1 && d !== target[i]) throw kernelError(ctx, `[${param}] does not broadcast to [${target}]`);
  });
  const total = sizeOf(target);
  if (sizeOf(padded) === total) return undefined;
  const map = new Int32Array(total);
  const idx = new Array<number>(target.length).fill(0);
  for (let t = 0; t < total; t++) {
    let o = 0;
    for (let d = 0; d < target.length; d++) o = o * padded[d]! + (padded[d] === 1 ? 0 : idx[d]!);
    map[t] = o;
    for (let d = target.length - 1; d >= 0; d--) {
      if (++idx[d]! < target[d]!) break;
      idx[d] = 0;
    }
  }
  return map;
}

// LayerNormalization (opset 17): X [A.., B..] (B.. from axis on), Scale, B broadcastable to [B..]
//   -> Y [A.., B..], Mean [A.., 1..]?, InvStdDev [A.., 1..]?
// Y = (X − mean) · InvStdDev · Scale + B with InvStdDev = 1 / sqrt(var + ε) over the normalised dims.
function prepareLayerNorm(ctx: PrepareContext): PreparedKernel {
  const x = requireFloat(ctx, 0);
  const scale = requireFloat(ctx, 1);
  const bias = optionalFloat(ctx, 2);
  const rank = x.shape.length;
  const rawAxis = attrInt(ctx.node, 'axis', -1);
  const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
  if (axis < 0 || axis >= rank) throw kernelError(ctx, `axis ${rawAxis} is out of range for rank ${rank}`);
  const eps = attrFloat(ctx.node, 'epsilon', 1e-5);
  const stashCode = attrInt(ctx.node, 'stash_type', 1);
  const stash: DType | undefined = ONNX_DTYPE_CODES[stashCode];
  if (stash === undefined || !['float32', 'float64', 'float16', 'bfloat16'].includes(stash)) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: stash_type ${stashCode} is not supported`);
  }
  const normShape = x.shape.slice(axis);
  const size = sizeOf(normShape);
  const outer = sizeOf(x.shape.slice(0, axis));
  const scaleMap = broadcastIndexMap(ctx, normShape, scale.shape);
  const biasMap = bias === undefined ? undefined : broadcastIndexMap(ctx, normShape, bias.shape);
  const statShape = [...x.shape.slice(0, axis), ...normShape.map(() => 1)];
  return {
    outputs: [
      { dtype: x.dtype, shape: [...x.shape] },
      { dtype: stash, shape: statShape },
      { dtype: stash, shape: statShape },
    ],
    run(inputs, outs) {
      const xv = inputs[0] as Vec;
      const s = inputs[1] as Vec;
      const b = inputs[2] as Vec | undefined;
      const y = outs[0] as Vec;
      const meanOut = outs[1] as Vec | undefined;
      const invOut = outs[2] as Vec | undefined;
      for (let r = 0; r < outer; r++) {
        const base = r * size;
        let sum = 0;
        for (let i = 0; i < size; i++) sum += xv[base + i]!;
        const mean = sum / size;
        let sq = 0;
        for (let i = 0; i < size; i++) sq += (xv[base + i]! - mean) ** 2;
        const inv = 1 / Math.sqrt(sq / size + eps);
        for (let i = 0; i < size; i++) {
          const sc = s[scaleMap === undefined ? i : scaleMap[i]!]!;
          const bi = b === undefined ? 0 : b[biasMap === undefined ? i : biasMap[i]!]!;
          y[base + i] = (xv[base + i]! - mean) * inv * sc + bi;
        }
        if (meanOut !== undefined && meanOut.length > r) meanOut[r] = mean;
        if (invOut !== undefined && invOut.length > r) invOut[r] = inv;
      }
    },
  };
}

export const layerNormKernel: KernelDef = { opType: 'LayerNormalization', prepare: prepareLayerNorm };
