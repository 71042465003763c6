import { sizeOf, type TensorData } from '../src/dtype.js';
import { defaultRegistry } from '../src/kernels/registry.js';
import type { PrepareContext } from '../src/kernels/kernel.js';
import type { WasmContext } from '../src/wasm/context.js';
import { makeNode, type AttrValue } from './harness.js';

/** Runtime tensors of these dtypes are placed in wasm memory (as a session's arena places them). */
const VIEWS: Record<string, Float32ArrayConstructor | Uint8ArrayConstructor | Int8ArrayConstructor | Int32ArrayConstructor> = {
  float32: Float32Array, uint8: Uint8Array, int8: Int8Array, int32: Int32Array,
};

export interface WasmRunOptions {
  /** Indices of inputs that are initializers (passed to prepare, left as plain arrays). */
  constant?: number[];
  domain?: string;
  opset?: number;
  /** Number of node outputs (default 1). */
  outputs?: number;
  /** Receives the canonical name of the variant prepare chose (PreparedKernel.variant, '' when unnamed). */
  onVariant?: (name: string) => void;
}

/**
 * Prepares `opType` with ctx.options.wasm and runs it with runtime float32/uint8/int8/int32 inputs, outputs and scratch
 * as views of the wasm memory, as a session's arena places them (constants and other dtypes stay plain arrays,
 * as initializers do; an undefined input is an omitted optional one). Outputs are pre-filled with NaN so an
 * output the kernel skipped shows; returns them copied out.
 */
export function runKernelInWasm(
  ctx: WasmContext, opType: string, inputs: (TensorData | undefined)[], attrs: Record<string, AttrValue>, opts: WasmRunOptions = {},
): TensorData[] {
  const node = makeNode(opType, attrs, inputs.length, opts.outputs ?? 1, opts.domain ?? '');
  inputs.forEach((t, i) => {
    if (t === undefined) node.inputs[i] = '';
  });
  const constant = opts.constant ?? [];
  const pctx: PrepareContext = {
    node,
    opset: opts.opset ?? 17,
    inputs: inputs.map((t) => (t ? { dtype: t.dtype, shape: [...t.shape] } : undefined)),
    constants: inputs.map((t, i) => (t && constant.includes(i) ? t : undefined)),
    options: { wasm: ctx },
  };
  const prepared = defaultRegistry.get(node).prepare(pctx);
  opts.onVariant?.(prepared.variant ?? '');
  // The executor's placement rule: a 'wasm' variant reads its constants from resident copies in wasm memory.
  // Uploaded before any view is made (an upload may grow the memory and detach earlier views).
  const residentAt = inputs.map((t, i) =>
    t !== undefined && constant.includes(i) && prepared.placement === 'wasm' && !Array.isArray(t.data) ? ctx.resident(t.data as Float32Array) : undefined);
  const resident = (t: TensorData, i: number): TensorData['data'] => {
    const d = t.data as Float32Array;
    const View = d.constructor as Float32ArrayConstructor;
    return new View(ctx.memory.buffer, residentAt[i]!, d.length);
  };
  const runtime = inputs.map((t, i) => (t !== undefined && t.dtype in VIEWS && !constant.includes(i) ? t : undefined));
  const types = [
    ...runtime.map((t) => t?.dtype ?? 'float32'),
    ...prepared.outputs.map((t) => t.dtype),
    ...(prepared.scratch ?? []).map((s) => s.dtype),
  ];
  const lengths = [
    ...runtime.map((t) => (t ? t.data.length : 0)),
    ...prepared.outputs.map((t) => sizeOf(t.shape)),
    ...(prepared.scratch ?? []).map((s) => s.length),
  ];
  // Allocate everything first: an allocation may grow the memory and detach earlier views.
  const offsets = lengths.map((n) => ctx.alloc(Math.max(1, n) * 4));
  try {
    const views = offsets.map((o, i) => {
      const View = VIEWS[types[i]!] ?? Float32Array;
      return new View(ctx.memory.buffer, o, lengths[i]!);
    });
    const inViews = inputs.map((t, i) => {
      if (runtime[i] === undefined) return t !== undefined && residentAt[i] !== undefined ? resident(t!, i) : t?.data;
      views[i]!.set(t!.data as ArrayLike<number>);
      return views[i]!;
    });
    const outViews = views.slice(inputs.length, inputs.length + prepared.outputs.length);
    outViews.forEach((v) => (v instanceof Float32Array ? v.fill(NaN) : v.fill(0x5a)));
    prepared.run(inViews, outViews, views.slice(inputs.length + prepared.outputs.length));
    return prepared.outputs.map((t, i) => ({ dtype: t.dtype, shape: t.shape, data: outViews[i]!.slice() }));
  } finally {
    offsets.forEach((o) => ctx.free(o));
  }
}
