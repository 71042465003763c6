import { attrGraph } from '../../graph/attributes.js';
import { allocData, isContainer, type TensorData } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import type { ValueType } from '../../loader/model.js';
import { kernelError, requireConstant, type KernelDef } from '../kernel.js';
import { bodyWithOuterValues, scalarBool, stack } from './subgraph.js';

/** Guards against hostile models whose loops never end. */
const MAX_ITERATIONS = 1 << 24;

/**
 * Loop (ONNX §Loop): inputs (M?, cond?, v_initial...); body (iter_num, cond, v...) -> (cond, v..., scan...).
 * Outputs: final loop-carried values, then scan outputs stacked along a new first axis.
 * Evaluated when every input value is known (eagerly at run time otherwise).
 */
export const loopKernel: KernelDef = {
  opType: 'Loop',
  prepare(ctx) {
    const declared = ctx.node.inputs.length - (ctx.node.implicitInputs ?? 0);
    const values = Array.from({ length: declared }, (_, i) => (ctx.inputs[i] ? requireConstant(ctx, i) : undefined));
    const { runner, outer } = bodyWithOuterValues(ctx, attrGraph(ctx.node, 'body'), 'body');
    const maxTrips = values[0] ? Number(values[0].data[0]) : Infinity;
    let cond = scalarBool(values[1], true);
    let carried = values.slice(2) as TensorData[];
    if (carried.some((c) => c === undefined)) throw kernelError(ctx, 'loop-carried initial values must all be given');
    const nCarried = carried.length;
    const scans: TensorData[][] = [];
    let iter = 0;
    while (iter < maxTrips && cond) {
      if (iter >= MAX_ITERATIONS) throw kernelError(ctx, `more than ${MAX_ITERATIONS} iterations; refusing to go on`);
      const iterT: TensorData = { dtype: 'int64', shape: [], data: new BigInt64Array([BigInt(iter)]) };
      const condT: TensorData = { dtype: 'bool', shape: [], data: new Uint8Array([cond ? 1 : 0]) };
      const outs = runner.run([iterT, condT, ...carried], outer);
      cond = scalarBool(outs[0], true);
      carried = outs.slice(1, 1 + nCarried);
      const scanOuts = outs.slice(1 + nCarried);
      scanOuts.forEach((t, k) => (scans[k] ??= []).push(t));
      iter++;
    }
    const nScan = ctx.node.outputs.length - nCarried;
    const body = attrGraph(ctx.node, 'body')!;
    const scanResults = Array.from({ length: Math.max(0, nScan) }, (_, k) => {
      const parts = scans[k];
      const declared = body.outputs[1 + nCarried + k]?.type;
      if (parts?.some((p) => isContainer(p.dtype)) || declared?.kind === 'sequence' || declared?.kind === 'optional') {
        throw new UnsupportedError(`${nodeLabel(ctx.node)}: scan output ${k} is not a tensor; only tensors can be stacked`);
      }
      return parts && parts.length > 0 ? stack(parts, 0, false) : emptyScan(declared);
    });
    const outputs = [...carried, ...scanResults];
    return { outputs: outputs.map((t) => ({ dtype: t.dtype, shape: t.shape })), constantOutputs: outputs, run() {} };
  },
};

/** A scan output of zero iterations: shape [0, ...element dims] in the body's declared dtype (float32 if unknown). */
function emptyScan(declared: ValueType | undefined): TensorData {
  const dtype = declared?.kind === 'tensor' ? declared.dtype : 'float32';
  const dims = declared?.kind === 'tensor' && declared.shape?.every((d) => typeof d === 'number') ? (declared.shape as number[]) : [];
  const shape = [0, ...dims];
  return { dtype, shape, data: allocData(dtype, 0) };
}
