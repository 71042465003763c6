import { attrGraph, attrInt, attrInts } from '../../graph/attributes.js';
import type { TensorData } from '../../dtype.js';
import { UnsupportedError } from '../../errors.js';
import { kernelError, requireConstant, type KernelDef } from '../kernel.js';
import { bodyWithOuterValues, sliceAlong, stack } from './subgraph.js';

/**
 * Scan (ONNX §Scan, opset 9+): inputs (initial states..., scan inputs...); the body runs once per slice of the
 * scan inputs along their scan axes, carrying states; outputs are final states then stacked scan outputs.
 */
export const scanKernel: KernelDef = {
  opType: 'Scan',
  prepare(ctx) {
    if (ctx.opset < 9) throw new UnsupportedError(`Scan opset ${ctx.opset} (batched form) is not supported`);
    const declared = ctx.node.inputs.length - (ctx.node.implicitInputs ?? 0);
    const values = Array.from({ length: declared }, (_, i) => requireConstant(ctx, i));
    const { runner, outer } = bodyWithOuterValues(ctx, attrGraph(ctx.node, 'body'), 'body');
    const nScanIn = attrInt(ctx.node, 'num_scan_inputs');
    if (nScanIn === undefined || nScanIn > declared) throw kernelError(ctx, 'num_scan_inputs is required and must not exceed the inputs');
    const nState = declared - nScanIn;
    const inAxes = attrInts(ctx.node, 'scan_input_axes', new Array<number>(nScanIn).fill(0));
    const inDirs = attrInts(ctx.node, 'scan_input_directions', new Array<number>(nScanIn).fill(0));
    const scanInputs = values.slice(nState);
    const axes = scanInputs.map((t, k) => normAxis(inAxes[k] ?? 0, t.shape.length));
    const length = scanInputs.length > 0 ? scanInputs[0]!.shape[axes[0]!]! : 0;
    scanInputs.forEach((t, k) => {
      if (t.shape[axes[k]!] !== length) throw kernelError(ctx, 'scan inputs have different sequence lengths');
    });
    let states = values.slice(0, nState);
    const scans: TensorData[][] = [];
    for (let step = 0; step < length; step++) {
      const slices = scanInputs.map((t, k) => sliceAlong(t, axes[k]!, inDirs[k] === 1 ? length - 1 - step : step));
      const outs = runner.run([...states, ...slices], outer);
      states = outs.slice(0, nState);
      outs.slice(nState).forEach((t, k) => (scans[k] ??= []).push(t));
    }
    const nScanOut = ctx.node.outputs.length - nState;
    const outAxes = attrInts(ctx.node, 'scan_output_axes', new Array<number>(nScanOut).fill(0));
    const outDirs = attrInts(ctx.node, 'scan_output_directions', new Array<number>(nScanOut).fill(0));
    const scanResults = Array.from({ length: nScanOut }, (_, k) => {
      const parts = scans[k] ?? [];
      if (parts.length === 0) return { dtype: 'float32', shape: [0], data: new Float32Array(0) } as TensorData;
      const axis = normAxis(outAxes[k] ?? 0, parts[0]!.shape.length + 1);
      return stack(parts, axis, outDirs[k] === 1);
    });
    const outputs = [...states, ...scanResults];
    return { outputs: outputs.map((t) => ({ dtype: t.dtype, shape: t.shape })), constantOutputs: outputs, run() {} };
  },
};

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
