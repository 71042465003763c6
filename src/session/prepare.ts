import { allocData, sizeOf, type TensorData, type TensorType } from '../dtype.js';
import { TinferError, nodeLabel } from '../errors.js';
import type { Graph, Node } from '../loader/model.js';
import { NeedsValuesError, type KernelOptions, type PreparedKernel, type SubgraphRunner } from '../kernels/kernel.js';
import type { KernelRegistry } from '../kernels/registry.js';

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
