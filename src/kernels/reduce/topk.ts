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
            if (k <= SMALL_K) selectTopK(n, k, order, before);
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

/** Up to this k, an insertion-based selection (O(n·k) worst, ~O(n) typical) beats sorting the whole axis. */
const SMALL_K = 16;

/** Leaves the best k of 0..n-1 under `before` in order[0..k), in order (a stable partial insertion sort). */
function selectTopK(n: number, k: number, order: Int32Array, before: (a: number, c: number) => number): void {
  if (k === 0) return;
  let filled = 0;
  for (let i = 0; i < n; i++) {
    if (filled === k && before(i, order[k - 1]!) >= 0) continue;
    let p = filled < k ? filled++ : k - 1;
    while (p > 0 && before(i, order[p - 1]!) < 0) {
      order[p] = order[p - 1]!;
      p--;
    }
    order[p] = i;
  }
}

/** Negative when a should come before c in descending order; NaN sorts first (largest). */
function compareDesc(a: number | bigint, c: number | bigint): number {
  if (a === c) return 0;
  if (typeof a === 'number' && Number.isNaN(a)) return typeof c === 'number' && Number.isNaN(c) ? 0 : -1;
  if (typeof c === 'number' && Number.isNaN(c)) return 1;
  return a > c ? -1 : 1;
}
