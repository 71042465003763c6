import { sizeOf, type Data, type DType } from '../../dtype.js';
import { attrInt, attrInts } from '../../graph/attributes.js';
import {
  kernelError,
  requireConstant,
  requireInput,
  type KernelDef,
  type PrepareContext,
  type PreparedKernel,
} from '../kernel.js';
import { copyBlock, intValues, normalizeAxis } from './common.js';

/**
 * Reshape, Flatten, Squeeze, Unsqueeze and Identity only reinterpret the shape: output 0 aliases
 * input 0 (the planner shares the buffer). run() still copies, for planners that choose not to alias.
 */
function aliasOf(dtype: DType, shape: number[]): PreparedKernel {
  return {
    outputs: [{ dtype, shape }],
    alias: 0,
    run(inputs: readonly (Data | undefined)[], outputs: readonly Data[]): void {
      const src = inputs[0]!;
      const dst = outputs[0]!;
      if (src !== dst) copyBlock(src, 0, dst, 0, dst.length);
    },
  };
}

/** ONNX Reshape: 0 copies the input dim (unless allowzero=1), one -1 is inferred. */
export function reshapeShape(ctx: PrepareContext, inShape: readonly number[], target: readonly number[], allowZero: boolean): number[] {
  const total = sizeOf(inShape);
  const out = target.slice();
  let inferAt = -1;
  for (let i = 0; i < out.length; i++) {
    const d = out[i]!;
    if (d === -1) {
      if (inferAt >= 0) throw kernelError(ctx, `shape ${JSON.stringify(target)} has more than one -1`);
      inferAt = i;
    } else if (d === 0 && !allowZero) {
      if (i >= inShape.length) throw kernelError(ctx, `shape dim ${i} is 0 but the input has rank ${inShape.length}`);
      out[i] = inShape[i]!;
    } else if (d < 0 || !Number.isInteger(d)) {
      throw kernelError(ctx, `invalid shape dim ${d}`);
    }
  }
  if (inferAt >= 0) {
    let known = 1;
    for (let i = 0; i < out.length; i++) if (i !== inferAt) known *= out[i]!;
    if (known === 0 || total % known !== 0) {
      throw kernelError(ctx, `cannot reshape [${inShape}] (${total} elements) to ${JSON.stringify(target)}`);
    }
    out[inferAt] = total / known;
  }
  if (sizeOf(out) !== total) {
    throw kernelError(ctx, `cannot reshape [${inShape}] (${total} elements) to [${out}]`);
  }
  return out;
}

// Reshape: data [...], shape (int64 [k]) -> [k dims]
const Reshape: KernelDef = {
  opType: 'Reshape',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const target = ctx.opset < 5 ? attrInts(ctx.node, 'shape', []) : intValues(requireConstant(ctx, 1));
    const allowZero = attrInt(ctx.node, 'allowzero', 0) === 1;
    return aliasOf(x.dtype, reshapeShape(ctx, x.shape, target, allowZero));
  },
};

// Flatten: [d0..dr-1] -> [d0*..*d(axis-1), d(axis)*..*d(r-1)]
const Flatten: KernelDef = {
  opType: 'Flatten',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const r = x.shape.length;
    let axis = attrInt(ctx.node, 'axis', 1);
    if (axis < -r || axis > r) throw kernelError(ctx, `axis ${axis} is out of range for rank ${r}`);
    if (axis < 0) axis += r;
    return aliasOf(x.dtype, [sizeOf(x.shape.slice(0, axis)), sizeOf(x.shape.slice(axis))]);
  },
};

/** Axes given as an attribute before opset 13 and as an (optional) int64 input from 13 on. */
function axesOf(ctx: PrepareContext): number[] | undefined {
  if (ctx.opset < 13) return attrInts(ctx.node, 'axes');
  if (ctx.inputs[1] === undefined) return undefined;
  return intValues(requireConstant(ctx, 1));
}

// Squeeze: removes the listed size-1 axes (all size-1 axes when none are listed)
const Squeeze: KernelDef = {
  opType: 'Squeeze',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const r = x.shape.length;
    const axes = axesOf(ctx);
    let drop: Set<number>;
    if (axes === undefined) {
      drop = new Set(x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
    } else {
      drop = new Set(axes.map((a) => normalizeAxis(ctx, a, r)));
      for (const a of drop) {
        if (x.shape[a] !== 1) throw kernelError(ctx, `cannot squeeze axis ${a} of size ${x.shape[a]} (input [${x.shape}])`);
      }
    }
    return aliasOf(x.dtype, x.shape.filter((_, i) => !drop.has(i)));
  },
};

// Unsqueeze: inserts size-1 axes at the listed positions of the output
const Unsqueeze: KernelDef = {
  opType: 'Unsqueeze',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const axes = axesOf(ctx);
    if (axes === undefined) throw kernelError(ctx, 'axes are required');
    const outRank = x.shape.length + axes.length;
    const ones = new Set(axes.map((a) => normalizeAxis(ctx, a, outRank)));
    if (ones.size !== axes.length) throw kernelError(ctx, `axes ${JSON.stringify(axes)} contain duplicates`);
    const shape: number[] = [];
    let k = 0;
    for (let i = 0; i < outRank; i++) shape.push(ones.has(i) ? 1 : x.shape[k++]!);
    return aliasOf(x.dtype, shape);
  },
};

// Identity: x -> x
const Identity: KernelDef = {
  opType: 'Identity',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    return aliasOf(x.dtype, x.shape.slice());
  },
};

export const reshapeKernels: KernelDef[] = [Reshape, Flatten, Squeeze, Unsqueeze, Identity];
