import { allocData, isElementArray, sizeOf, storageBytes, viewData, type Data, type DType, type TensorData, type TensorType } from '../dtype.js';
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
 * variant with placement 'wasm' (or an older kernel whose detail starts with 'wasm') needs its values in wasm
 * memory: its typed-array runtime inputs, outputs and scratch get one wasm block for the call, copied in and out,
 * and its constants are read from their resident copies (uploaded once). A detection model's backbone then runs on wasm although NonMaxSuppression
 * makes its shapes data-dependent. Other kernels run as runPrepared.
 */
export function runPreparedOnWasm(
  kernel: PreparedKernel, inputs: (TensorData | undefined)[], constant: readonly boolean[], node: Node, wasm: WasmContext,
): TensorData[] {
  const placed = kernel.placement === 'wasm';
  if (kernel.constantOutputs || kernel.alias !== undefined || !(placed || kernel.detail?.startsWith('wasm'))) return runPrepared(kernel, inputs, node);
  // A 'wasm' variant reads its constants from their resident copies (uploaded once); older kernels packed theirs.
  const resident = inputs.map((t, i) => {
    if (!placed || !constant[i] || kernel.unreadInputs?.includes(i) || t === undefined || Array.isArray(t.data) || t.data.buffer === wasm.memory.buffer) return undefined;
    return wasm.resident(t.data);
  });
  // Every typed-array value the step touches gets a piece of one block (strings, sequences and optionals stay).
  const typed = (dtype: DType): boolean => !isElementArray(dtype);
  const staged = inputs.map((t, i) => t !== undefined && typed(t.dtype) && !constant[i] && !Array.isArray(t.data) && t.data.buffer !== wasm.memory.buffer);
  const pieces: { dtype: DType; length: number }[] = [
    ...inputs.map((t, i) => ({ dtype: t?.dtype ?? 'float32', length: staged[i] ? t!.data.length : 0 })),
    ...kernel.outputs.map((t) => ({ dtype: t.dtype, length: typed(t.dtype) ? sizeOf(t.shape) : 0 })),
    ...(kernel.scratch ?? []).map((sc) => ({ dtype: sc.dtype, length: typed(sc.dtype) ? sc.length : 0 })),
  ];
  const starts: number[] = [];
  let total = 0;
  for (const p of pieces) {
    starts.push(total);
    total += Math.ceil((p.length * storageBytes(p.dtype)) / 64) * 64; // 64-byte aligned pieces
  }
  // One allocation before any view is made: growing the memory detaches earlier views.
  const block = wasm.alloc(Math.max(64, total));
  try {
    const view = (k: number): Data => viewData(pieces[k]!.dtype, wasm.memory.buffer, block + starts[k]!, pieces[k]!.length);
    const ins = inputs.map((t, i) => {
      if (placed && constant[i] && kernel.unreadInputs?.includes(i)) return t?.data;
      if (resident[i] !== undefined) return viewData(t!.dtype, wasm.memory.buffer, resident[i]!, t!.data.length);
      if (!staged[i]) return t?.data;
      const v = view(i);
      (v as Float32Array).set(t!.data as Float32Array);
      return v;
    });
    const outs = kernel.outputs.map((t, j) => (typed(t.dtype) ? view(inputs.length + j) : allocData(t.dtype, sizeOf(t.shape))));
    const scratch = (kernel.scratch ?? []).map((sc, j) => (typed(sc.dtype) ? view(inputs.length + kernel.outputs.length + j) : allocData(sc.dtype, sc.length)));
    try {
      kernel.run(ins, outs, scratch);
    } catch (e) {
      throw wrapKernelError(e, node, 'run');
    }
    // Copied out: the block is reused by the next node.
    return kernel.outputs.map((t, j) => ({ dtype: t.dtype, shape: t.shape, data: typed(t.dtype) ? (outs[j] as Float32Array).slice() : outs[j]! }));
  } finally {
    wasm.free(block);
  }
}
