import { allocData, sizeOf, viewData, type TensorData, type TensorType } from '../dtype.js';
import { TinferError, nodeLabel } from '../errors.js';
import type { Graph, Node } from '../loader/model.js';
import { NeedsValuesError, type KernelOptions, type PreparedKernel, type SubgraphRunner } from '../kernels/kernel.js';
import type { KernelRegistry } from '../kernels/registry.js';
import type { WasmContext } from '../wasm/context.js';

/** What preparing a node needs besides its inputs: the kernels, the model's opsets, options, subgraph compiler. */
export interface NodeEnv {
  registry: KernelRegistry;
  opsets: ReadonlyMap<string, number>;
  options: KernelOptions;
  compileSubgraph(graph: Graph): SubgraphRunner;
}

/** An internal failure inside a kernel (a bug, not bad input), reported with the node that hit it. */
export class KernelFailure extends TinferError {}

function opsetOf(env: NodeEnv, node: Node): number {
  return env.opsets.get(node.domain) ?? (node.domain === '' ? 21 : 1);
}

export function prepareNode(
  env: NodeEnv,
  node: Node,
  inputs: (TensorType | undefined)[],
  constants: (TensorData | undefined)[],
): PreparedKernel {
  const kernel = env.registry.get(node);
  try {
    return kernel.prepare({
      node,
      opset: opsetOf(env, node),
      inputs,
      constants,
      options: env.options,
      compileSubgraph: (g) => env.compileSubgraph(g),
    });
  } catch (e) {
    throw wrapKernelError(e, node, 'prepare');
  }
}

/** Keeps typed errors and the eager-fallback signal; turns anything else into a typed error naming the node. */
export function wrapKernelError(e: unknown, node: Node, phase: string): unknown {
  if (e instanceof TinferError || e instanceof NeedsValuesError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new KernelFailure(`${nodeLabel(node)}: ${phase} failed: ${msg}`);
}

/** Runs a prepared kernel on fresh output buffers (constant folding and eager execution). */
export function runPrepared(kernel: PreparedKernel, inputs: (TensorData | undefined)[], node?: Node): TensorData[] {
  if (kernel.constantOutputs) return kernel.constantOutputs;
  if (kernel.alias !== undefined) {
    const src = inputs[kernel.alias]!;
    const t = kernel.outputs[0]!;
    return [{ dtype: t.dtype, shape: t.shape, data: src.data }];
  }
  const outs = kernel.outputs.map((t) => ({ dtype: t.dtype, shape: t.shape, data: allocData(t.dtype, sizeOf(t.shape)) }));
  const scratch = (kernel.scratch ?? []).map((s) => allocData(s.dtype, s.length));
  try {
    kernel.run(
      inputs.map((t) => t?.data),
      outs.map((o) => o.data),
      scratch,
    );
  } catch (e) {
    if (node) throw wrapKernelError(e, node, 'run');
    throw e;
  }
  return outs;
}

/**
 * runPrepared for node-by-node (eager) runs on the wasm backend. Eager values live in plain arrays, where a
 * kernel prepared with wasm kernels (its detail starts with 'wasm') would take its JS fallback: its float32
 * runtime inputs (not the constants, which it packed at prepare), outputs and scratch get one wasm block for
 * the call instead, copied in and out. A detection model's backbone then runs on wasm although NonMaxSuppression
 * makes its shapes data-dependent. Other kernels run as runPrepared.
 */
export function runPreparedOnWasm(
  kernel: PreparedKernel, inputs: (TensorData | undefined)[], constant: readonly boolean[], node: Node, wasm: WasmContext,
): TensorData[] {
  const placed = kernel.placement === 'wasm';
  if (kernel.constantOutputs || kernel.alias !== undefined || !(placed || kernel.detail?.startsWith('wasm'))) return runPrepared(kernel, inputs, node);
  // A 'wasm' variant reads its constants from their resident copies (uploaded once); older kernels packed theirs.
  const resident = inputs.map((t, i) => {
    if (!placed || !constant[i] || t === undefined || Array.isArray(t.data) || t.data.buffer === wasm.memory.buffer) return undefined;
    return wasm.resident(t.data);
  });
  const staged = inputs.map((t, i) => t !== undefined && t.dtype === 'float32' && !constant[i] && (t.data as Float32Array).buffer !== wasm.memory.buffer);
  const lengths = [
    ...inputs.map((t, i) => (staged[i] ? t!.data.length : 0)),
    ...kernel.outputs.map((t) => (t.dtype === 'float32' ? sizeOf(t.shape) : 0)),
    ...(kernel.scratch ?? []).map((s) => (s.dtype === 'float32' ? s.length : 0)),
  ];
  const starts: number[] = [];
  let total = 0;
  for (const n of lengths) {
    starts.push(total);
    total += Math.ceil(n / 16) * 16; // 64-byte aligned pieces
  }
  // One allocation before any view is made: growing the memory detaches earlier views.
  const block = wasm.alloc(Math.max(64, total * 4));
  try {
    const view = (k: number) => new Float32Array(wasm.memory.buffer, block + 4 * starts[k]!, lengths[k]!);
    const ins = inputs.map((t, i) => {
      if (resident[i] !== undefined) return viewData(t!.dtype, wasm.memory.buffer, resident[i]!, t!.data.length);
      if (!staged[i]) return t?.data;
      const v = view(i);
      v.set(t!.data as Float32Array);
      return v;
    });
    const outs = kernel.outputs.map((t, j) => (t.dtype === 'float32' ? view(inputs.length + j) : allocData(t.dtype, sizeOf(t.shape))));
    const scratch = (kernel.scratch ?? []).map((s, j) => (s.dtype === 'float32' ? view(inputs.length + kernel.outputs.length + j) : allocData(s.dtype, s.length)));
    try {
      kernel.run(ins, outs, scratch);
    } catch (e) {
      throw wrapKernelError(e, node, 'run');
    }
    // Copied out: the block is reused by the next node.
    return kernel.outputs.map((t, j) => ({ dtype: t.dtype, shape: t.shape, data: t.dtype === 'float32' ? (outs[j] as Float32Array).slice() : outs[j]! }));
  } finally {
    wasm.free(block);
  }
}
