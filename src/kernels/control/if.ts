import { attrGraph } from '../../graph/attributes.js';
import type { Data, TensorType } from '../../dtype.js';
import { NeedsValuesError, kernelError, type KernelDef, type PrepareContext, type PreparedKernel, type PreparedSubgraph } from '../kernel.js';
import { bodyWithOuterValues, scalarBool } from './subgraph.js';

/**
 * If (ONNX §If): runs then_branch or else_branch.
 * - Condition known at prepare: the chosen branch is evaluated once and its outputs become constants.
 * - Otherwise both branches are planned on their own arenas; when they agree on output types (as Silero VAD's
 *   sample-rate branches do) the node runs statically, picking a branch per run with no allocation.
 * - Else the node needs the condition's value and the graph runs eagerly.
 */
export const ifKernel: KernelDef = {
  opType: 'If',
  prepare(ctx) {
    const cond = ctx.constants[0];
    if (cond !== undefined) return foldedIf(ctx, scalarBool(cond, false));
    return staticIf(ctx);
  },
};

function foldedIf(ctx: PrepareContext, cond: boolean): PreparedKernel {
  const name = cond ? 'then_branch' : 'else_branch';
  const { runner, outer } = bodyWithOuterValues(ctx, attrGraph(ctx.node, name), name);
  const outputs = runner.run([], outer);
  return { outputs: outputs.map((t) => ({ dtype: t.dtype, shape: t.shape })), constantOutputs: outputs, run() {} };
}

function staticIf(ctx: PrepareContext): PreparedKernel {
  const thenBranch = prepareBranch(ctx, 'then_branch');
  const elseBranch = prepareBranch(ctx, 'else_branch');
  if (!sameTypes(thenBranch.prepared.outputs, elseBranch.prepared.outputs)) throw new NeedsValuesError(ctx.node, 0);
  const thenFeeds: Data[] = new Array(thenBranch.inputIndex.length);
  const elseFeeds: Data[] = new Array(elseBranch.inputIndex.length);
  return {
    outputs: thenBranch.prepared.outputs.map((t) => ({ dtype: t.dtype, shape: [...t.shape] })),
    run(inputs, outputs) {
      const useThen = (inputs[0] as Uint8Array)[0] !== 0;
      const branch = useThen ? thenBranch : elseBranch;
      const feeds = useThen ? thenFeeds : elseFeeds;
      for (let i = 0; i < feeds.length; i++) feeds[i] = inputs[branch.inputIndex[i]!]!;
      branch.prepared.run(feeds, outputs);
    },
  };
}

function prepareBranch(ctx: PrepareContext, name: string): { prepared: PreparedSubgraph; inputIndex: number[] } {
  const graph = attrGraph(ctx.node, name);
  if (!graph) throw kernelError(ctx, `attribute '${name}' (a graph) is required`);
  if (!ctx.compileSubgraph) throw kernelError(ctx, 'subgraphs cannot be run in this context');
  const runner = ctx.compileSubgraph(graph);
  const inputIndex = runner.outerNames.map((n) => ctx.node.inputs.indexOf(n));
  const outerTypes = inputIndex.map((i) => {
    const t = i < 0 ? undefined : ctx.inputs[i];
    if (t === undefined) throw kernelError(ctx, `${name} reads an outer value that is not available`);
    return t;
  });
  const prepared = runner.prepare([], outerTypes);
  if (!prepared) throw new NeedsValuesError(ctx.node, 0);
  return { prepared, inputIndex };
}

function sameTypes(a: readonly TensorType[], b: readonly TensorType[]): boolean {
  return a.length === b.length && a.every((t, i) => t.dtype === b[i]!.dtype && t.shape.join(',') === b[i]!.shape.join(','));
}
