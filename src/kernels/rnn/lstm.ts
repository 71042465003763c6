/**
 * ONNX LSTM (opsets 1, 7, 14). Per direction, with gates stacked i, o, f, c in W/R/B and peepholes i, o, f in P:
 *   i = f(Xt·Wiᵀ + Ht-1·Riᵀ + Pi⊙Ct-1 + Wbi + Rbi)
 *   f = f(Xt·Wfᵀ + Ht-1·Rfᵀ + Pf⊙Ct-1 + Wbf + Rbf)      (f = 1 - i when input_forget)
 *   c = g(Xt·Wcᵀ + Ht-1·Rcᵀ + Wbc + Rbc)
 *   Ct = f⊙Ct-1 + i⊙c
 *   o = f(Xt·Woᵀ + Ht-1·Roᵀ + Po⊙Ct + Wbo + Rbo)
 *   Ht = o⊙h(Ct)
 * Wb and Rb are only ever added together, so they are packed as one bias. clip bounds every activation input.
 */
import { attrInt } from '../../graph/attributes.js';
import { jsFallbacks, ranOnWasm, type KernelDef, type PrepareContext, type PreparedKernel, type ScratchSpec } from '../kernel.js';
import { activateInPlace, clipInPlace, type Activation } from './activations.js';
import {
  INITIAL_H_IN,
  SEQ_LENS_IN,
  X_IN,
  WeightLayout,
  allocFloats,
  expectShape,
  matmulTransposedB,
  loadState,
  outputOrUndefined,
  parseRecurrent,
  planWeights,
  sequenceLength,
  storeState,
  writeOutputRow,
  xRow,
  zeroOutputRow,
  type Floats,
  type RecurrentShape,
} from './common.js';
import { planWasmRecurrence } from './wasm-sequence.js';

const INITIAL_C_IN = 6;
const P_IN = 7;

// X [seq, batch, input] (layout 1: [batch, seq, input]), W [dirs, 4H, input], R [dirs, 4H, H], B [dirs, 8H],
// P [dirs, 3H] -> Y [seq, dirs, batch, H] (layout 1: [batch, seq, dirs, H]), Y_h, Y_c [dirs, batch, H]
export const lstmKernel: KernelDef = {
  opType: 'LSTM',
  prepare(ctx: PrepareContext): PreparedKernel {
    const s = parseRecurrent(ctx, { gates: 4, defaultActivations: ['Sigmoid', 'Tanh', 'Tanh'], maxOutputs: 3 });
    const stateShape = s.layout === 0 ? [s.numDirections, s.batch, s.hidden] : [s.batch, s.numDirections, s.hidden];
    const initC = ctx.inputs[INITIAL_C_IN];
    if (initC) expectShape(ctx, 'initial_c', initC.shape, stateShape);
    const p = ctx.inputs[P_IN];
    if (p) expectShape(ctx, 'P', p.shape, [s.numDirections, 3 * s.hidden]);
    const inputForget = attrInt(ctx.node, 'input_forget', 0) !== 0;

    const H = s.hidden;
    const layout = new WeightLayout(s, 4 * H);
    const rows = Math.max(1, s.seqLen * s.batch);
    const scratch: ScratchSpec[] = [
      { dtype: s.storage, length: rows * 4 * H }, // input projection of every step
      { dtype: s.storage, length: s.batch * 4 * H }, // gates of the current step
      { dtype: s.storage, length: s.batch * H }, // H state
      { dtype: s.storage, length: s.batch * H }, // C state
    ];
    const weightsFor = planWeights(ctx, layout, packLstmBias, scratch);
    const wasmPlan = planWasmRecurrence(ctx, s, { op: 'LSTM', peepholes: p !== undefined }, inputForget, scratch, 0);
    const fallbacks = jsFallbacks();
    const empty = allocFloats(s, 0);
    const bufs: LstmBuffers = { proj: empty, gates: empty, h: empty, c: empty, weights: empty, peepholes: undefined };

    return {
      outputs: s.outputs,
      detail: wasmPlan?.detail ?? 'js lstm sequence',
      jsFallbacks: fallbacks,
      scratch,
      run(inputs, outputs, buffers) {
        if (wasmPlan !== undefined && ranOnWasm(fallbacks, wasmPlan.run(inputs, outputs, buffers))) return;
        const weights = weightsFor(inputs, buffers);
        bufs.proj = buffers[0] as Floats;
        bufs.gates = buffers[1] as Floats;
        bufs.h = buffers[2] as Floats;
        bufs.c = buffers[3] as Floats;
        bufs.weights = weights;
        bufs.peepholes = inputs[P_IN] as Floats | undefined;
        const Y = outputOrUndefined(s, outputs, 0);
        for (let d = 0; d < s.numDirections; d++) {
          // proj[seq*batch, 4H] = X[seq*batch, input] · Wᵀ[input, 4H], all steps at once
          matmulTransposedB(s.seqLen * s.batch, 4 * H, s.inputSize, inputs[X_IN] as Floats, 0, s.inputSize, weights, layout.wOffset(d), bufs.proj, 0, 4 * H);
          loadState(s, inputs[INITIAL_H_IN], d, bufs.h);
          loadState(s, inputs[INITIAL_C_IN], d, bufs.c);
          for (let step = 0; step < s.seqLen; step++) {
            const t = s.reverse[d] ? s.seqLen - 1 - step : step;
            // gates[batch, 4H] = Ht-1[batch, H] · Rᵀ[H, 4H]
            matmulTransposedB(s.batch, 4 * H, H, bufs.h, 0, H, weights, layout.rOffset(d), bufs.gates, 0, 4 * H);
            for (let b = 0; b < s.batch; b++) {
              if (t >= sequenceLength(s, inputs[SEQ_LENS_IN], b)) {
                zeroOutputRow(s, Y, t, d, b);
                continue;
              }
              lstmCell(s, layout, bufs, d, b, xRow(s, t, b), inputForget);
              writeOutputRow(s, Y, t, d, b, bufs.h);
            }
          }
          storeState(s, bufs.h, d, outputOrUndefined(s, outputs, 1), inputs[SEQ_LENS_IN]);
          storeState(s, bufs.c, d, outputOrUndefined(s, outputs, 2), inputs[SEQ_LENS_IN]);
        }
      },
    };
  },
};

/** LSTM bias: Wb[iofc] + Rb[iofc], since the equations only ever add them together. */
function packLstmBias(H: number, B: Floats | undefined, d: number, dst: Floats, off: number): void {
  if (B === undefined) {
    dst.fill(0, off, off + 4 * H);
    return;
  }
  const base = d * 8 * H;
  for (let j = 0; j < 4 * H; j++) dst[off + j] = B[base + j]! + B[base + 4 * H + j]!;
}

interface LstmBuffers {
  proj: Floats;
  gates: Floats;
  h: Floats;
  c: Floats;
  weights: Floats;
  peepholes: Floats | undefined;
}

/** One time step of batch entry b in direction d: updates h[b] and c[b] from gates[b] (holding Ht-1·Rᵀ). */
function lstmCell(s: RecurrentShape, layout: WeightLayout, bufs: LstmBuffers, d: number, b: number, row: number, inputForget: boolean): void {
  const H = s.hidden;
  const { gates, proj, weights, h, c, peepholes } = bufs;
  const acts = s.activations[d] as [Activation, Activation, Activation];
  const g = b * 4 * H;
  const p = row * 4 * H;
  const bias = layout.biasOffset(d);
  const iOff = g;
  const oOff = g + H;
  const fOff = g + 2 * H;
  const cOff = g + 3 * H;
  const st = b * H;
  for (let j = 0; j < 4 * H; j++) gates[g + j] += proj[p + j]! + weights[bias + j]!;
  if (peepholes) {
    const pb = d * 3 * H;
    for (let j = 0; j < H; j++) {
      gates[iOff + j] += peepholes[pb + j]! * c[st + j]!;
      gates[fOff + j] += peepholes[pb + 2 * H + j]! * c[st + j]!;
    }
  }
  if (s.clip !== Infinity) {
    clipInPlace(s.clip, gates, iOff, H);
    clipInPlace(s.clip, gates, fOff, 2 * H);
  }
  activateInPlace(acts[0], gates, iOff, H);
  if (inputForget) for (let j = 0; j < H; j++) gates[fOff + j] = 1 - gates[iOff + j]!;
  else activateInPlace(acts[0], gates, fOff, H);
  activateInPlace(acts[1], gates, cOff, H);
  for (let j = 0; j < H; j++) c[st + j] = gates[fOff + j]! * c[st + j]! + gates[iOff + j]! * gates[cOff + j]!;
  if (peepholes) {
    const pb = d * 3 * H + H;
    for (let j = 0; j < H; j++) gates[oOff + j] += peepholes[pb + j]! * c[st + j]!;
  }
  if (s.clip !== Infinity) clipInPlace(s.clip, gates, oOff, H);
  activateInPlace(acts[0], gates, oOff, H);
  // h(Ct) is computed in the cell-gate slot, which is no longer needed.
  for (let j = 0; j < H; j++) gates[cOff + j] = c[st + j]!;
  activateInPlace(acts[2], gates, cOff, H);
  for (let j = 0; j < H; j++) h[st + j] = gates[oOff + j]! * gates[cOff + j]!;
}
