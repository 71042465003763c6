import { attrGraph } from '../../graph/attributes.js';
import type { Data, TensorType } from '../../dtype.js';
import { TinferError } from '../../errors.js';
import { NeedsValuesError, kernelError, type KernelDef, type PrepareContext, type PreparedKernel, type PreparedSubgraph } from '../kernel.js';
import { bodyWithOuterValues, scalarBool } from './subgraph.js';

/**
 * If (ONNX §If): runs then_branch or else_branch.
 * - Condition and outer values known at prepare: the chosen branch is evaluated once; its outputs are constants.
 * - Condition known, outer values not: the chosen branch is planned on its own arena and runs each time.
 * - Otherwise both branches are planned on their own arenas; when they agree on output types (as Silero VAD's
 *   sample-rate branches do) the node runs statically, picking a branch per run with no allocation.
 * - Else the node needs the condition's value and the graph runs eagerly.
 */
export const ifKernel: KernelDef = {
  opType: 'If',
  prepare(ctx) {
    const cond = ctx.constants[0];
    if (cond === undefined) return staticIf(ctx);
    const known = scalarBool(cond, false);
    const outerKnown = ctx.constants.every((c, i) => i === 0 || c !== undefined || ctx.inputs[i] === undefined);
    return outerKnown ? foldedIf(ctx, known) : chosenBranch(ctx, known ? 'then_branch' : 'else_branch');
  },
};

/** Condition known, outer values not: only the chosen branch is planned, and it runs every time. */
function chosenBranch(ctx: PrepareContext, name: string): PreparedKernel {
  const branch = prepareBranch(ctx, name);
  const feeds: Data[] = new Array(branch.inputIndex.length);
  return {
    outputs: branch.prepared.outputs.map((t) => ({ dtype: t.dtype, shape: [...t.shape] })),
    run(inputs, outputs) {
      for (let i = 0; i < feeds.length; i++) feeds[i] = inputs[branch.inputIndex[i]!]!;
      branch.prepared.run(feeds, outputs);
    },
  };
}

function foldedIf(ctx: PrepareContext, cond: boolean): PreparedKernel {
  const name = cond ? 'then_branch' : 'else_branch';
  const { runner, outer } = bodyWithOuterValues(ctx, attrGraph(ctx.node, name), name);
  const outputs = runner.run([], outer);
  return { outputs: outputs.map((t) => ({ dtype: t.dtype, shape: t.shape })), constantOutputs: outputs, run() {} };
}

function staticIf(ctx: PrepareContext): PreparedKernel {
  const thenBranch = tryPrepareBranch(ctx, 'then_branch');
  const elseBranch = tryPrepareBranch(ctx, 'else_branch');
  // A branch that cannot be planned for these shapes (e.g. Silero's 8 kHz branch fed a 16 kHz chunk) only fails
  // if the condition ever selects it; the other branch defines the output types.
  if (thenBranch instanceof Error && elseBranch instanceof Error) throw thenBranch;
  const defining = thenBranch instanceof Error ? (elseBranch as Branch) : thenBranch;
  if (!(thenBranch instanceof Error) && !(elseBranch instanceof Error)) {
    if (!sameTypes(thenBranch.prepared.outputs, elseBranch.prepared.outputs)) throw new NeedsValuesError(ctx.node, 0);
  }
  const thenFeeds: Data[] = thenBranch instanceof Error ? [] : new Array(thenBranch.inputIndex.length);
  const elseFeeds: Data[] = elseBranch instanceof Error ? [] : new Array(elseBranch.inputIndex.length);
  return {
    outputs: defining.prepared.outputs.map((t) => ({ dtype: t.dtype, shape: [...t.shape] })),
    run(inputs, outputs) {
      const useThen = (inputs[0] as Uint8Array)[0] !== 0;
      const branch = useThen ? thenBranch : elseBranch;
      if (branch instanceof Error) throw branch;
      const feeds = useThen ? thenFeeds : elseFeeds;
      for (let i = 0; i < feeds.length; i++) feeds[i] = inputs[branch.inputIndex[i]!]!;
      branch.prepared.run(feeds, outputs);
    },
  };
}

interface Branch {
  prepared: PreparedSubgraph;
  inputIndex: number[];
}

function tryPrepareBranch(ctx: PrepareContext, name: string): Branch | TinferError {
  try {
    return prepareBranch(ctx, name);
  } catch (e) {
    if (e instanceof TinferError) return e;
    throw e;
  }
}

function prepareBranch(ctx: PrepareContext, name: string): Branch {
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
  const prepared = runner.prepare([], outerTypes, inputIndex.map((i) => ctx.constants[i]));
  if (!prepared) throw new NeedsValuesError(ctx.node, 0);
  return { prepared, inputIndex };
}

function sameTypes(a: readonly TensorType[], b: readonly TensorType[]): boolean {
  return a.length === b.length && a.every((t, i) => t.dtype === b[i]!.dtype && t.shape.join(',') === b[i]!.shape.join(','));
}
