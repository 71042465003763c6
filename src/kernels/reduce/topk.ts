import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireConstant, requireInput, type KernelDef } from '../kernel.js';
import { normalizeAxis, requireNumeric, splitAt } from './common.js';

/**
 * TopK (ONNX 1, 10, 11): the k largest (or smallest) elements along `axis` and their int64 indices.
 * Equal values keep the lower index first (the spec's tie rule); NaN counts as larger than every number.
 */
export const topKKernel: KernelDef = {
  opType: 'TopK',
  prepare(ctx) {
    // X (..., n, ...), K int64 [1] -> Values (..., k, ...), Indices int64 (..., k, ...)
    const x = requireInput(ctx, 0);
    requireNumeric(ctx, x.dtype);
    const rank = x.shape.length;
    const axis = normalizeAxis(ctx, attrInt(ctx.node, 'axis', -1), rank);
    let k: number;
    if (ctx.opset < 10) {
      const kAttr = attrInt(ctx.node, 'k');
      if (kAttr === undefined) throw kernelError(ctx, "attribute 'k' is required before opset 10");
      k = kAttr;
    } else {
      requireInput(ctx, 1);
      const kt = requireConstant(ctx, 1);
      if (kt.data.length !== 1) throw kernelError(ctx, `K must hold one value, got ${kt.data.length}`);
      k = Number(kt.data[0]);
    }
    const largest = attrInt(ctx.node, 'largest', 1) !== 0;
    const { outer, n, inner } = splitAt(x.shape, axis);
    if (!Number.isInteger(k) || k < 0 || k > n) throw kernelError(ctx, `k = ${k} must be in [0, ${n}] (axis ${axis})`);
    const outShape = x.shape.map((d, i) => (i === axis ? k : d));
    // Per-slice order buffer: owned by this prepared kernel, reused by every run.
    const order = new Int32Array(n);
    return {
      outputs: [
        { dtype: x.dtype, shape: outShape },
        { dtype: 'int64', shape: [...outShape] },
      ],
      run(inputs, outputs) {
        const xd = inputs[0]! as ArrayLike<number | bigint>;
        const vals = outputs[0]! as unknown as (number | bigint)[];
        const idxs = outputs[1] as BigInt64Array | undefined;
        let b = 0;
        const before = largest
          ? (a: number, c: number): number => compareDesc(xd[b + a * inner]!, xd[b + c * inner]!) || a - c
          : (a: number, c: number): number => compareDesc(xd[b + c * inner]!, xd[b + a * inner]!) || a - c;
        for (let o = 0; o < outer; o++) {
          for (let j = 0; j < inner; j++) {
            b = o * n * inner + j;
            if (k * 4 <= n) selectTopK(n, k, order, before);
            else {
              for (let i = 0; i < n; i++) order[i] = i;
              order.sort(before);
            }
            const ob = o * k * inner + j;
            for (let t = 0; t < k; t++) {
              vals[ob + t * inner] = xd[b + order[t]! * inner]!;
              if (idxs) idxs[ob + t * inner] = BigInt(order[t]!);
            }
          }
        }
      },
    };
  },
};

/**
 * Leaves the best k of 0..n-1 under `before` in order[0..k), sorted: a size-k heap whose root is the
 * worst kept index, so each of the n candidates costs O(log k) at most, then an in-place heapsort of the survivors.
 */
function selectTopK(n: number, k: number, order: Int32Array, before: (a: number, c: number) => number): void {
  if (k === 0) return;
  for (let i = 0; i < k; i++) heapPush(order, i, i, before);
  for (let i = k; i < n; i++) {
    if (before(i, order[0]!) >= 0) continue;
    order[0] = i;
    siftDown(order, k, before);
  }
  // Heapsort: move the current worst to the end of the shrinking heap.
  for (let size = k - 1; size > 0; size--) {
    swap(order, 0, size);
    siftDown(order, size, before);
  }
}

function swap(h: Int32Array, i: number, j: number): void {
  const t = h[i]!;
  h[i] = h[j]!;
  h[j] = t;
}

/** Max-heap on "comes later": a parent is never before its children. */
function heapPush(h: Int32Array, size: number, v: number, before: (a: number, c: number) => number): void {
  let p = size;
  h[p] = v;
  while (p > 0) {
    const parent = (p - 1) >> 1;
    if (before(h[parent]!, h[p]!) >= 0) break;
    swap(h, parent, p);
    p = parent;
  }
}

function siftDown(h: Int32Array, size: number, before: (a: number, c: number) => number): void {
  let p = 0;
  for (;;) {
    const l = 2 * p + 1;
    if (l >= size) return;
    const r = l + 1;
    const worse = r < size && before(h[r]!, h[l]!) > 0 ? r : l;
    if (before(h[p]!, h[worse]!) >= 0) return;
    swap(h, p, worse);
    p = worse;
  }
}

/** Negative when a should come before c in descending order; NaN sorts first (largest). */
function compareDesc(a: number | bigint, c: number | bigint): number {
  if (a === c) return 0;
  if (typeof a === 'number' && Number.isNaN(a)) return typeof c === 'number' && Number.isNaN(c) ? 0 : -1;
  if (typeof c === 'number' && Number.isNaN(c)) return 1;
  return a > c ? -1 : 1;
}
