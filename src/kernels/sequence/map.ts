/** SequenceMap (ONNX §SequenceMap, opset 17): applies the `body` graph to each element of the input sequences. */
import { attrGraph } from '../../graph/attributes.js';
import type { TensorData } from '../../dtype.js';
import { bodyWithOuterValues } from '../control/subgraph.js';
import { kernelError, requireConstant, type KernelDef } from '../kernel.js';
import { constantResult, dtypeOfValueType, elementsOf, makeSequence, requireSequence } from './common.js';

// SequenceMap: (input_sequence of n, additional_inputs...) -> K sequences of n, where output k holds body output k
// of iteration i. An additional input that is a sequence (of n) gives its i-th element; a tensor is passed as is.
const SequenceMap: KernelDef = {
  opType: 'SequenceMap',
  prepare(ctx) {
    const declared = ctx.node.inputs.length - (ctx.node.implicitInputs ?? 0);
    const first = requireSequence(ctx, 0);
    const inputs = Array.from({ length: declared }, (_, i) => requireConstant(ctx, i));
    const n = first.shape[0]!;
    inputs.forEach((t, i) => {
      if (t.dtype === 'sequence' && t.shape[0] !== n) throw kernelError(ctx, `input ${i} has ${t.shape[0]} values, input 0 has ${n}`);
    });
    const body = attrGraph(ctx.node, 'body');
    const { runner, outer } = bodyWithOuterValues(ctx, body, 'body');
    if (body!.inputs.length !== declared) throw kernelError(ctx, `body takes ${body!.inputs.length} inputs, the node gives ${declared}`);
    const nOut = ctx.node.outputs.length;
    if (body!.outputs.length !== nOut) throw kernelError(ctx, `body gives ${body!.outputs.length} outputs, the node has ${nOut}`);
    const results: TensorData[][] = Array.from({ length: nOut }, () => []);
    for (let i = 0; i < n; i++) {
      const args = inputs.map((t) => (t.dtype === 'sequence' ? elementsOf(t)[i]! : t));
      const outs = runner.run(args, outer);
      outs.forEach((o, k) => results[k]!.push(o));
    }
    return constantResult(results.map((elems, k) => makeSequence(elems, elems[0]?.dtype ?? dtypeOfValueType(body!.outputs[k]!.type))));
  },
};

export const sequenceMapKernels: KernelDef[] = [SequenceMap];
