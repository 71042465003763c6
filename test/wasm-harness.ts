import { sizeOf, type TensorData } from '../src/dtype.js';
import { defaultRegistry } from '../src/kernels/registry.js';
import type { PrepareContext } from '../src/kernels/kernel.js';
import type { WasmContext } from '../src/wasm/context.js';
import { makeNode, type AttrValue } from './harness.js';

export interface WasmRunOptions {
  /** Indices of inputs that are initializers (passed to prepare, left as plain arrays). */
  constant?: number[];
  domain?: string;
  opset?: number;
}

/**
 * Prepares a float32 `opType` with ctx.options.wasm and runs it with runtime inputs, outputs and scratch as
 * views of the wasm memory, as a session's arena places them (constants stay plain arrays, as initializers
 * do). Outputs are pre-filled with NaN so an output the kernel skipped shows; returns them copied out.
 */
export function runKernelInWasm(
  ctx: WasmContext, opType: string, inputs: TensorData[], attrs: Record<string, AttrValue>, opts: WasmRunOptions = {},
): TensorData[] {
  const node = makeNode(opType, attrs, inputs.length, 1, opts.domain ?? '');
  const constant = opts.constant ?? [];
  const pctx: PrepareContext = {
    node,
    opset: opts.opset ?? 17,
    inputs: inputs.map((t) => ({ dtype: t.dtype, shape: [...t.shape] })),
    constants: inputs.map((t, i) => (constant.includes(i) ? t : undefined)),
    options: { wasm: ctx },
  };
  const prepared = defaultRegistry.get(node).prepare(pctx);
  const lengths = [
    ...inputs.map((t) => t.data.length),
    ...prepared.outputs.map((t) => sizeOf(t.shape)),
    ...(prepared.scratch ?? []).map((s) => s.length),
  ];
  // Allocate everything first: an allocation may grow the memory and detach earlier views.
  const offsets = lengths.map((n) => ctx.alloc(Math.max(1, n) * 4));
  try {
    const views = offsets.map((o, i) => ctx.f32(o, lengths[i]!));
    const inViews = inputs.map((t, i) => {
      if (constant.includes(i)) return t.data;
      views[i]!.set(t.data as Float32Array);
      return views[i]!;
    });
    const outViews = views.slice(inputs.length, inputs.length + prepared.outputs.length);
    outViews.forEach((v) => v.fill(NaN));
    prepared.run(inViews, outViews, views.slice(inputs.length + prepared.outputs.length));
    return prepared.outputs.map((t, i) => ({ dtype: t.dtype, shape: t.shape, data: Float32Array.from(outViews[i]!) }));
  } finally {
    offsets.forEach((o) => ctx.free(o));
  }
}
