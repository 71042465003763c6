import { attrGraph } from '../../graph/attributes.js';
import { requireConstant, type KernelDef } from '../kernel.js';
import { bodyWithOuterValues, scalarBool } from './subgraph.js';

/**
 * If (ONNX §If): runs then_branch or else_branch. The branch is chosen by the condition's value, so the node is
 * evaluated when that value is known (constant-folded, or eagerly at run time); its outputs become constants.
 */
export const ifKernel: KernelDef = {
  opType: 'If',
  prepare(ctx) {
    const cond = scalarBool(requireConstant(ctx, 0), false);
    const name = cond ? 'then_branch' : 'else_branch';
    const { runner, outer } = bodyWithOuterValues(ctx, attrGraph(ctx.node, name), name);
    const outputs = runner.run([], outer);
    return {
      outputs: outputs.map((t) => ({ dtype: t.dtype, shape: t.shape })),
      constantOutputs: outputs,
      run() {},
    };
  },
};
