import { sizeOf, type Data } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import type { Node } from '../../loader/model.js';
import { blockCopyOk, kernelError, requireInput, type KernelDef } from '../kernel.js';
import { checkIndexType, copyBlock, elems, normalizeAxis, stridesOf, wrapIndex, type Elems } from './common.js';

// Gather: data [A..., d, B...], indices [I...] -> [A..., I..., B...]
const Gather: KernelDef = {
  opType: 'Gather',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const ind = requireInput(ctx, 1);
    checkIndexType(ctx, ind.dtype, 'indices');
    const r = x.shape.length;
    if (r === 0) throw kernelError(ctx, 'data must have rank ≥ 1');
    const axis = normalizeAxis(ctx, attrInt(ctx.node, 'axis', 0), r);
    const outer = sizeOf(x.shape.slice(0, axis));
    const dim = x.shape[axis]!;
    const inner = sizeOf(x.shape.slice(axis + 1));
    const m = sizeOf(ind.shape);
    const node = ctx.node;
    const known = ctx.constants[1];
    if (known !== undefined) {
      // Constant indices (embedding tables, shape subgraphs) are checked once, here.
      for (let j = 0; j < m; j++) {
        const v = Number(known.data[j]);
        if (!(v >= -dim && v < dim)) throw kernelError(ctx, `index ${v} is out of range for axis ${axis} of size ${dim}`);
      }
    }
    return {
      outputs: [{ dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...ind.shape, ...x.shape.slice(axis + 1)] }],
      jsOk: blockCopyOk(inner),
      run(inputs, outputs) {
        const data = inputs[0]!;
        const indices = inputs[1]!;
        const out = outputs[0]!;
        if (inner === 1) {
          const src = elems(data);
          const dst = elems(out);
          for (let o = 0, q = 0; o < outer; o++) {
            for (let j = 0; j < m; j++) dst[q++] = src[o * dim + wrapIndex(node, indices, j, dim)];
          }
          return;
        }
        for (let o = 0, q = 0; o < outer; o++) {
          for (let j = 0; j < m; j++, q += inner) {
            copyBlock(data, (o * dim + wrapIndex(node, indices, j, dim)) * inner, out, q, inner);
          }
        }
      },
    };
  },
};

// GatherElements: data [d...], indices [i...] (same rank) -> [i...]; out[p] = data[p with p[axis] = indices[p]]
const GatherElements: KernelDef = {
  opType: 'GatherElements',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const ind = requireInput(ctx, 1);
    checkIndexType(ctx, ind.dtype, 'indices');
    const r = x.shape.length;
    if (ind.shape.length !== r) throw kernelError(ctx, `indices rank ${ind.shape.length} differs from data rank ${r}`);
    const axis = normalizeAxis(ctx, attrInt(ctx.node, 'axis', 0), r);
    const run = planElementwiseIndexing(x.shape, ind.shape, axis, ctx.node, (src, dst, off, q) => {
      dst[q] = src[off];
    });
    return {
      outputs: [{ dtype: x.dtype, shape: ind.shape.slice() }],
      run(inputs, outputs) {
        run(inputs[0]!, inputs[1]!, outputs[0]!);
      },
    };
  },
};

/**
 * Walks every position p of `indices` (shape idxShape) and calls visit(data, other, dataOffset, p)
 * where dataOffset addresses data[p with p[axis] = indices[p]]: the loop of GatherElements and
 * ScatterElements. `other` is the output (gather) or the updates (scatter).
 */
export function planElementwiseIndexing(
  dataShape: readonly number[],
  idxShape: readonly number[],
  axis: number,
  node: Node,
  visit: (data: Elems, other: Elems, dataOffset: number, p: number) => void,
): (data: Data, indices: Data, other: Data) => void {
  const r = idxShape.length;
  const total = sizeOf(idxShape);
  const dStrides = stridesOf(dataShape);
  const dim = dataShape[axis]!;
  const axisStride = dStrides[axis]!;
  const idx = new Int32Array(r);
  return (data, indices, other) => {
    const d = elems(data);
    const o = elems(other);
    idx.fill(0);
    let base = 0; // Σ_{k≠axis} p_k · stride_k
    for (let p = 0; p < total; p++) {
      visit(d, o, base + wrapIndex(node, indices, p, dim) * axisStride, p);
      for (let k = r - 1; k >= 0; k--) {
        if (k !== axis) base += dStrides[k]!;
        if (++idx[k]! < idxShape[k]!) break;
        if (k !== axis) base -= dStrides[k]! * idxShape[k]!;
        idx[k] = 0;
      }
    }
  };
}

// GatherND: data [B..., D...], indices [B..., M..., k] -> [B..., M..., D[k:]...] (b = batch_dims)
const GatherND: KernelDef = {
  opType: 'GatherND',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const ind = requireInput(ctx, 1);
    checkIndexType(ctx, ind.dtype, 'indices');
    const b = attrInt(ctx.node, 'batch_dims', 0);
    const ir = ind.shape.length;
    if (ir < 1) throw kernelError(ctx, 'indices must have rank ≥ 1');
    const k = ind.shape[ir - 1]!;
    if (b < 0 || b >= Math.min(x.shape.length, ir)) throw kernelError(ctx, `batch_dims ${b} is out of range`);
    if (b + k > x.shape.length) throw kernelError(ctx, `index tuples of length ${k} exceed data rank ${x.shape.length} - batch_dims ${b}`);
    for (let i = 0; i < b; i++) {
      if (x.shape[i] !== ind.shape[i]) throw kernelError(ctx, `batch dim ${i} differs: data ${x.shape[i]}, indices ${ind.shape[i]}`);
    }
    const plan = planNdSlices(x.shape, ind.shape, b);
    const node = ctx.node;
    return {
      outputs: [{ dtype: x.dtype, shape: [...ind.shape.slice(0, ir - 1), ...x.shape.slice(b + k)] }],
      run(inputs, outputs) {
        const data = inputs[0]!;
        const indices = inputs[1]!;
        const out = outputs[0]!;
        for (let t = 0; t < plan.tuples; t++) {
          copyBlock(data, plan.offsetOf(node, indices, t), out, t * plan.sliceSize, plan.sliceSize);
        }
      },
    };
  },
};

/**
 * The GatherND/ScatterND addressing: index tuple t (of `tuples`) selects a slice of `sliceSize`
 * elements of data at offsetOf(t), inside batch t / tuplesPerBatch.
 */
export function planNdSlices(dataShape: readonly number[], idxShape: readonly number[], batchDims: number) {
  const ir = idxShape.length;
  const k = idxShape[ir - 1]!;
  const tuples = sizeOf(idxShape.slice(0, ir - 1));
  const batches = sizeOf(idxShape.slice(0, batchDims));
  const tuplesPerBatch = batches === 0 ? 0 : tuples / batches;
  const dStrides = stridesOf(dataShape);
  const batchStride = sizeOf(dataShape.slice(batchDims));
  const sliceSize = sizeOf(dataShape.slice(batchDims + k));
  const dims = dataShape.slice(batchDims, batchDims + k);
  const strides = dStrides.slice(batchDims, batchDims + k);
  return {
    tuples,
    sliceSize,
    offsetOf(node: Node, indices: Data, t: number): number {
      let off = Math.floor(t / tuplesPerBatch) * batchStride;
      for (let j = 0; j < k; j++) off += wrapIndex(node, indices, t * k + j, dims[j]!) * strides[j]!;
      return off;
    },
  };
}

export const gatherKernels: KernelDef[] = [Gather, GatherElements, GatherND];
