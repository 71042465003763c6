import { attrGraph, attrInt, attrInts } from '../../graph/attributes.js';
import { allocData, sizeOf, type TensorData } from '../../dtype.js';
import { kernelError, requireConstant, type KernelDef, type PrepareContext } from '../kernel.js';
import { bodyWithOuterValues, copyRange, sliceAlong, stack } from './subgraph.js';

/**
 * Scan: the body runs once per slice of the scan inputs, carrying states; outputs are the final states then the
 * stacked scan outputs. Opset 9+ (ONNX §Scan): inputs (initial states..., scan inputs...), per-input scan axes.
 * Opset 8 (Changelog §Scan-8): batched; see scan8.
 */
export const scanKernel: KernelDef = {
  opType: 'Scan',
  prepare(ctx) {
    const outputs = ctx.opset < 9 ? scan8(ctx) : scan9(ctx);
    return { outputs: outputs.map((t) => ({ dtype: t.dtype, shape: t.shape })), constantOutputs: outputs, run() {} };
  },
};

function scan9(ctx: PrepareContext): TensorData[] {
  const declared = ctx.node.inputs.length - (ctx.node.implicitInputs ?? 0);
  const values = Array.from({ length: declared }, (_, i) => requireConstant(ctx, i));
  const { runner, outer } = bodyWithOuterValues(ctx, attrGraph(ctx.node, 'body'), 'body');
  const nScanIn = scanInputCount(ctx, declared);
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
  return [...states, ...scanResults];
}

/**
 * Scan-8: inputs (sequence_lens?, initial states [B, ...]..., scan inputs [B, T, ...]...). Axis 0 is the batch,
 * axis 1 of a scan input the sequence. Each batch row b runs the body sequence_lens[b] times (T when the input is
 * absent) on its own states; scan input k is read backwards over its first sequence_lens[b] steps when
 * directions[k] = 1. Outputs: final states [B, ...], then scan outputs [B, T, ...], zero past sequence_lens[b].
 */
function scan8(ctx: PrepareContext): TensorData[] {
  const declared = ctx.node.inputs.length - (ctx.node.implicitInputs ?? 0);
  const values = Array.from({ length: declared - 1 }, (_, i) => requireConstant(ctx, i + 1));
  const { runner, outer } = bodyWithOuterValues(ctx, attrGraph(ctx.node, 'body'), 'body');
  const nScanIn = scanInputCount(ctx, values.length, 1);
  const nState = values.length - nScanIn;
  const states = values.slice(0, nState);
  const scanInputs = values.slice(nState);
  const directions = attrInts(ctx.node, 'directions', new Array<number>(nScanIn).fill(0));
  const { batch, maxLength } = batchAndLength(ctx, states, scanInputs);
  const lengths = sequenceLengths(ctx, batch, maxLength);

  const finalStates: TensorData[][] = [];
  const scanSteps: TensorData[][][] = [];
  for (let b = 0; b < batch; b++) {
    const length = lengths[b]!;
    let rowStates = states.map((t) => sliceAlong(t, 0, b));
    const rowInputs = scanInputs.map((t) => sliceAlong(t, 0, b));
    const steps: TensorData[][] = [];
    for (let step = 0; step < length; step++) {
      const slices = rowInputs.map((t, k) => sliceAlong(t, 0, directions[k] === 1 ? length - 1 - step : step));
      const outs = runner.run([...rowStates, ...slices], outer);
      rowStates = outs.slice(0, nState);
      outs.slice(nState).forEach((t, k) => (steps[k] ??= []).push(t));
    }
    finalStates.push(rowStates);
    scanSteps.push(steps);
  }
  const nScanOut = ctx.node.outputs.length - nState;
  const stateResults = states.map((initial, k) => {
    const rows = finalStates.map((row) => row[k]!);
    const shape = [batch, ...(rows[0]?.shape ?? initial.shape.slice(1))];
    if (rows.some((t) => t.data.length * batch !== sizeOf(shape))) throw kernelError(ctx, `state ${k} differs in shape between batch rows`);
    return batchOf(rows, shape, rows[0]?.dtype ?? initial.dtype);
  });
  const scanResults = Array.from({ length: nScanOut }, (_, k) => {
    const { dtype, shape } = scanElementType(ctx, scanSteps, nState, k);
    // Steps past a row's sequence length stay zero: batchOf writes only the elements that exist.
    const perRow = maxLength * sizeOf(shape);
    const out: TensorData = { dtype, shape: [batch, maxLength, ...shape], data: allocData(dtype, batch * perRow) };
    scanSteps.forEach((row, b) => {
      (row[k] ?? []).forEach((t, i) => {
        if (t.data.length !== perRow / Math.max(maxLength, 1)) throw kernelError(ctx, `scan output ${k} changes shape between steps`);
        copyRange(t.data, 0, out.data, b * perRow + i * t.data.length, t.data.length);
      });
    });
    return out;
  });
  return [...stateResults, ...scanResults];
}

/** Stacks one equally shaped tensor per batch row into `shape` ([B, ...]). */
function batchOf(rows: TensorData[], shape: number[], dtype: TensorData['dtype']): TensorData {
  const out: TensorData = { dtype, shape, data: allocData(dtype, sizeOf(shape)) };
  rows.forEach((t, b) => copyRange(t.data, 0, out.data, b * t.data.length, t.data.length));
  return out;
}

/** dtype and shape of scan output k's elements: from a step that ran, else from the body's declared output. */
function scanElementType(ctx: PrepareContext, steps: TensorData[][][], nState: number, k: number): { dtype: TensorData['dtype']; shape: number[] } {
  const element = steps.find((row) => row[k] !== undefined)?.[k]![0];
  if (element !== undefined) return { dtype: element.dtype, shape: element.shape };
  const declared = attrGraph(ctx.node, 'body')?.outputs[nState + k]?.type;
  if (declared?.kind === 'tensor' && declared.shape?.every((d) => typeof d === 'number')) {
    return { dtype: declared.dtype, shape: declared.shape as number[] };
  }
  throw kernelError(ctx, `scan output ${k}: no step ran and the body does not declare its static shape`);
}

/** num_scan_inputs, within [least, inputs]: Scan-8 needs a scan input for its batch and sequence axes. */
function scanInputCount(ctx: PrepareContext, inputs: number, least = 0): number {
  const n = attrInt(ctx.node, 'num_scan_inputs');
  if (n === undefined || n < least || n > inputs) throw kernelError(ctx, `num_scan_inputs is required and must be in [${least}, ${inputs}]`);
  return n;
}

/** Scan-8's batch size (axis 0 of every input) and sequence length (axis 1 of every scan input). */
function batchAndLength(ctx: PrepareContext, states: TensorData[], scanInputs: TensorData[]): { batch: number; maxLength: number } {
  const batch = scanInputs[0]!.shape[0];
  const maxLength = scanInputs[0]!.shape[1];
  if (batch === undefined || maxLength === undefined) throw kernelError(ctx, 'scan inputs need a batch and a sequence axis (rank >= 2)');
  for (const t of states) {
    if (t.shape[0] !== batch) throw kernelError(ctx, `state of shape [${t.shape}] does not have batch size ${batch}`);
  }
  for (const t of scanInputs) {
    if (t.shape[0] !== batch || t.shape[1] !== maxLength) {
      throw kernelError(ctx, `scan input of shape [${t.shape}] does not match batch ${batch} and sequence length ${maxLength}`);
    }
  }
  return { batch, maxLength };
}

/** sequence_lens (input 0, optional): one length per batch row, each within [0, maxLength]. */
function sequenceLengths(ctx: PrepareContext, batch: number, maxLength: number): number[] {
  if (ctx.inputs[0] === undefined) return new Array<number>(batch).fill(maxLength);
  const t = requireConstant(ctx, 0);
  if (t.data.length !== batch) throw kernelError(ctx, `sequence_lens has ${t.data.length} values, expected the batch size ${batch}`);
  return Array.from({ length: batch }, (_, b) => {
    const n = Number(t.data[b]);
    if (!Number.isInteger(n) || n < 0 || n > maxLength) throw kernelError(ctx, `sequence_lens[${b}] = ${n} is outside [0, ${maxLength}]`);
    return n;
  });
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
