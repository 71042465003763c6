import { allocData, sizeOf, type Data, type TensorData } from '../../dtype.js';
import type { Graph } from '../../loader/model.js';
import { kernelError, requireConstant, type PrepareContext, type SubgraphRunner } from '../kernel.js';

/** Compiles a body attribute and returns it with the values of the outer-scope names it reads. */
export function bodyWithOuterValues(ctx: PrepareContext, graph: Graph | undefined, attr: string): { runner: SubgraphRunner; outer: TensorData[] } {
  if (!graph) throw kernelError(ctx, `attribute '${attr}' (a graph) is required`);
  if (!ctx.compileSubgraph) throw kernelError(ctx, 'subgraphs cannot be run in this context');
  const runner = ctx.compileSubgraph(graph);
  const outer = runner.outerNames.map((name) => {
    const i = ctx.node.inputs.indexOf(name);
    if (i < 0) throw kernelError(ctx, `body reads '${name}', which is not wired as an implicit input`);
    return requireConstant(ctx, i);
  });
  return { runner, outer };
}

/** Stacks equally shaped tensors along a new axis at `axis` (Loop/Scan outputs). */
export function stack(parts: TensorData[], axis: number, reverse: boolean): TensorData {
  const first = parts[0]!;
  const inner = first.shape.slice(axis);
  const outer = first.shape.slice(0, axis);
  const shape = [...outer, parts.length, ...inner];
  const data = allocData(first.dtype, sizeOf(shape));
  const block = sizeOf(inner);
  const nOuter = sizeOf(outer);
  parts.forEach((p, k) => {
    const pos = reverse ? parts.length - 1 - k : k;
    for (let o = 0; o < nOuter; o++) {
      copyRange(p.data, o * block, data, (o * parts.length + pos) * block, block);
    }
  });
  return { dtype: first.dtype, shape, data };
}

/** The `index`-th slice of `t` along `axis` (the axis is removed). */
export function sliceAlong(t: TensorData, axis: number, index: number): TensorData {
  const outer = sizeOf(t.shape.slice(0, axis));
  const n = t.shape[axis]!;
  const inner = sizeOf(t.shape.slice(axis + 1));
  const shape = [...t.shape.slice(0, axis), ...t.shape.slice(axis + 1)];
  const data = allocData(t.dtype, sizeOf(shape));
  for (let o = 0; o < outer; o++) copyRange(t.data, (o * n + index) * inner, data, o * inner, inner);
  return { dtype: t.dtype, shape, data };
}

/** dst[to, to + n) = src[from, from + n) for typed arrays and plain arrays (strings) alike. */
export function copyRange(src: Data, from: number, dst: Data, to: number, n: number): void {
  if (Array.isArray(src) || Array.isArray(dst)) {
    for (let i = 0; i < n; i++) (dst as unknown[])[to + i] = (src as unknown[])[from + i];
  } else {
    (dst as Float32Array).set((src as Float32Array).subarray(from, from + n), to);
  }
}

export function scalarBool(t: TensorData | undefined, fallback: boolean): boolean {
  if (!t) return fallback;
  return Number(t.data[0]) !== 0;
}
