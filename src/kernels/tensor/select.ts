import { allocData, sizeOf, type Data, type TensorData } from '../../dtype.js';
import { InputError, nodeLabel } from '../../errors.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireConstant, requireInput, type KernelDef } from '../kernel.js';
import { copyBlock, elems, normalizeAxis, stridesOf } from './common.js';

/**
 * Operators whose output shape depends on input values (NonZero, Compress, Unique). prepare needs
 * those values (requireConstant), so the runtime evaluates them eagerly with the values known.
 */

function isNonZero(v: unknown): boolean {
  return typeof v === 'string' ? v !== '' : v !== 0 && v !== 0n;
}

// NonZero: x [d...] -> int64 [rank, nnz]: the coordinates of every non-zero element, row-major order
const NonZero: KernelDef = {
  opType: 'NonZero',
  prepare(ctx) {
    const x = requireConstant(ctx, 0);
    const r = x.shape.length;
    const values = elems(x.data);
    let nnz = 0;
    for (let i = 0; i < values.length; i++) if (isNonZero(values[i])) nnz++;
    const strides = stridesOf(x.shape);
    return {
      outputs: [{ dtype: 'int64', shape: [r, nnz] }],
      run(inputs, outputs) {
        const src = elems(inputs[0]!);
        const out = outputs[0] as BigInt64Array;
        let q = 0;
        for (let i = 0; i < src.length && q < nnz; i++) {
          if (!isNonZero(src[i])) continue;
          let rem = i;
          for (let k = 0; k < r; k++) {
            out[k * nnz + q] = BigInt(Math.floor(rem / strides[k]!));
            rem %= strides[k]!;
          }
          q++;
        }
      },
    };
  },
};

// Compress: x [A..., d, B...], condition bool [c] -> [A..., nnz(condition[:d]), B...] (flattened x when axis is absent)
const Compress: KernelDef = {
  opType: 'Compress',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const cond = requireConstant(ctx, 1);
    if (cond.shape.length !== 1) throw kernelError(ctx, `condition must be 1-D, got [${cond.shape}]`);
    const axisAttr = attrInt(ctx.node, 'axis');
    const shape = axisAttr === undefined ? [sizeOf(x.shape)] : x.shape.slice();
    const axis = axisAttr === undefined ? 0 : normalizeAxis(ctx, axisAttr, x.shape.length);
    const dim = shape[axis]!;
    if (cond.data.length > dim) throw kernelError(ctx, `condition has ${cond.data.length} entries for an axis of size ${dim}`);
    const picked: number[] = [];
    for (let j = 0; j < cond.data.length; j++) if (Number(cond.data[j]) !== 0) picked.push(j);
    const outer = sizeOf(shape.slice(0, axis));
    const inner = sizeOf(shape.slice(axis + 1));
    const outShape = shape.slice();
    outShape[axis] = picked.length;
    return {
      outputs: [{ dtype: x.dtype, shape: outShape }],
      run(inputs, outputs) {
        const src = inputs[0]!;
        const out = outputs[0]!;
        let q = 0;
        for (let o = 0; o < outer; o++) {
          for (const j of picked) {
            copyBlock(src, (o * dim + j) * inner, out, q, inner);
            q += inner;
          }
        }
      },
    };
  },
};

// ReverseSequence: x [T, B, ...] or [B, T, ...], sequence_lens int64 [B] -> same shape;
// for batch b the first sequence_lens[b] time steps are reversed, the rest copied.
const ReverseSequence: KernelDef = {
  opType: 'ReverseSequence',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const r = x.shape.length;
    if (r < 2) throw kernelError(ctx, `input must have rank ≥ 2, got [${x.shape}]`);
    const batchAxis = normalizeAxis(ctx, attrInt(ctx.node, 'batch_axis', 1), 2, 'batch_axis');
    const timeAxis = normalizeAxis(ctx, attrInt(ctx.node, 'time_axis', 0), 2, 'time_axis');
    if (batchAxis === timeAxis) throw kernelError(ctx, 'batch_axis and time_axis must differ');
    const strides = stridesOf(x.shape);
    const batches = x.shape[batchAxis]!;
    const steps = x.shape[timeAxis]!;
    const bStride = strides[batchAxis]!;
    const tStride = strides[timeAxis]!;
    const inner = sizeOf(x.shape.slice(2));
    const node = ctx.node;
    return {
      outputs: [{ dtype: x.dtype, shape: x.shape.slice() }],
      run(inputs, outputs) {
        const src = inputs[0]!;
        const lens = inputs[1]!;
        const out = outputs[0]!;
        for (let b = 0; b < batches; b++) {
          const len = Number(lens[b]);
          if (!(len >= 0 && len <= steps)) {
            throw new InputError(`${nodeLabel(node)}: sequence_lens[${b}] = ${len} is outside [0, ${steps}]`);
          }
          for (let t = 0; t < steps; t++) {
            const from = t < len ? len - 1 - t : t;
            copyBlock(src, b * bStride + from * tStride, out, b * bStride + t * tStride, inner);
          }
        }
      },
    };
  },
};

/** Lexicographic order on slices of number | bigint | string elements. */
function compareSlices(a: unknown[], b: unknown[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

// Unique: x [d...] -> Y (unique elements, or unique slices along axis), indices (first occurrence),
// inverse_indices (for every x element/slice, its position in Y), counts; the last three int64.
const Unique: KernelDef = {
  opType: 'Unique',
  prepare(ctx) {
    const x = requireConstant(ctx, 0);
    const sorted = attrInt(ctx.node, 'sorted', 1) !== 0;
    const axisAttr = attrInt(ctx.node, 'axis');
    const shape = axisAttr === undefined ? [x.data.length] : x.shape;
    const axis = axisAttr === undefined ? 0 : normalizeAxis(ctx, axisAttr, x.shape.length);
    const outer = sizeOf(shape.slice(0, axis));
    const dim = shape[axis]!;
    const inner = sizeOf(shape.slice(axis + 1));
    const src = elems(x.data);
    const slices: unknown[][] = [];
    for (let j = 0; j < dim; j++) {
      const s: unknown[] = [];
      for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) s.push(src[(o * dim + j) * inner + i]);
      slices.push(s);
    }
    // Group equal slices by first occurrence; the key is the slice's elements as text.
    const firstOf = new Map<string, number>();
    const groupOf: number[] = [];
    const groups: { first: number; count: number }[] = [];
    for (let j = 0; j < dim; j++) {
      const key = slices[j]!.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(',');
      let g = firstOf.get(key);
      if (g === undefined) {
        g = groups.length;
        firstOf.set(key, g);
        groups.push({ first: j, count: 0 });
      }
      groups[g]!.count++;
      groupOf.push(g);
    }
    const order = groups.map((_, g) => g);
    if (sorted) order.sort((a, b) => compareSlices(slices[groups[a]!.first]!, slices[groups[b]!.first]!));
    const rank = new Array<number>(groups.length);
    order.forEach((g, pos) => (rank[g] = pos));
    const u = order.length;
    const yShape = shape.slice();
    yShape[axis] = u;
    const y = allocData(x.dtype, sizeOf(yShape));
    const ye = elems(y);
    order.forEach((g, pos) => {
      const s = slices[groups[g]!.first]!;
      for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) ye[(o * u + pos) * inner + i] = s[o * inner + i];
    });
    const i64 = (values: number[]): TensorData => ({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values, (v) => BigInt(v)) });
    const results: TensorData[] = [
      { dtype: x.dtype, shape: yShape, data: y },
      i64(order.map((g) => groups[g]!.first)),
      i64(groupOf.map((g) => rank[g]!)),
      i64(order.map((g) => groups[g]!.count)),
    ];
    return {
      outputs: results.map((t) => ({ dtype: t.dtype, shape: t.shape })),
      run(_inputs, outputs: readonly Data[]) {
        results.forEach((t, k) => {
          if (outputs[k] !== undefined) copyBlock(t.data, 0, outputs[k]!, 0, t.data.length);
        });
      },
    };
  },
};

export const selectKernels: KernelDef[] = [NonZero, Compress, ReverseSequence, Unique];
