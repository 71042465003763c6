/**
 * ONNX GRU (opsets 1, 3, 7, 14). Per direction, with gates stacked z, r, h in W/R/B:
 *   z = f(Xt·Wzᵀ + Ht-1·Rzᵀ + Wbz + Rbz)
 *   r = f(Xt·Wrᵀ + Ht-1·Rrᵀ + Wbr + Rbr)
 *   h = g(Xt·Whᵀ + (r⊙Ht-1)·Rhᵀ + Rbh + Wbh)          linear_before_reset = 0
 *   h = g(Xt·Whᵀ + r⊙(Ht-1·Rhᵀ + Rbh) + Wbh)          linear_before_reset ≠ 0
 *   Ht = (1 - z)⊙h + z⊙Ht-1
 * Packed bias per direction: [Wbz+Rbz, Wbr+Rbr, Wbh (+Rbh when it sits outside r), Rbh].
 */
import type { Data } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import { jsFallbacks, ranOnWasm, type KernelDef, type PrepareContext, type PreparedKernel, type ScratchSpec } from '../kernel.js';
import { activateInPlace, clipInPlace, type Activation } from './activations.js';
import {
  INITIAL_H_IN,
  SEQ_LENS_IN,
  X_IN,
  WeightLayout,
  allocFloats,
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
  type BiasPacker,
  type Floats,
  type RecurrentShape,
} from './common.js';
import { planWasmRecurrence } from './wasm-sequence.js';

// X [seq, batch, input] (layout 1: [batch, seq, input]), W [dirs, 3H, input], R [dirs, 3H, H], B [dirs, 6H]
// -> Y [seq, dirs, batch, H] (layout 1: [batch, seq, dirs, H]), Y_h [dirs, batch, H] (layout 1: [batch, dirs, H])
export const gruKernel: KernelDef = {
  opType: 'GRU',
  prepare(ctx: PrepareContext): PreparedKernel {
    const s = parseRecurrent(ctx, { gates: 3, defaultActivations: ['Sigmoid', 'Tanh'], maxOutputs: 2 });
    const linearBeforeReset = attrInt(ctx.node, 'linear_before_reset', 0) !== 0;
    const H = s.hidden;
    const layout = new WeightLayout(s, 4 * H);
    const rows = Math.max(1, s.seqLen * s.batch);
    const scratch: ScratchSpec[] = [
      { dtype: s.storage, length: rows * 3 * H }, // input projection of every step
      { dtype: s.storage, length: s.batch * 3 * H }, // gates of the current step
      { dtype: s.storage, length: s.batch * H }, // H state
      { dtype: s.storage, length: s.batch * H }, // r⊙Ht-1 (linear_before_reset = 0)
    ];
    const weightsFor = planWeights(ctx, layout, gruBiasPacker(linearBeforeReset), scratch);
    const wasmPlan = planWasmRecurrence(ctx, s, { op: 'GRU', linearBeforeReset }, false, scratch, 0);
    const fallbacks = jsFallbacks();
    const empty = allocFloats(s, 0);
    const bufs: GruBuffers = { proj: empty, gates: empty, h: empty, rh: empty, weights: empty };
    const step = linearBeforeReset ? gruStepLinearBeforeReset : gruStepResetBeforeLinear;

    return {
      outputs: s.outputs,
      detail: wasmPlan?.detail ?? 'js gru sequence',
      jsFallbacks: fallbacks,
      scratch,
      run(inputs, outputs, buffers) {
        if (wasmPlan !== undefined && ranOnWasm(fallbacks, wasmPlan.run(inputs, outputs, buffers))) return;
        const weights = weightsFor(inputs, buffers);
        bufs.proj = buffers[0] as Floats;
        bufs.gates = buffers[1] as Floats;
        bufs.h = buffers[2] as Floats;
        bufs.rh = buffers[3] as Floats;
        bufs.weights = weights;
        const Y = outputOrUndefined(s, outputs, 0);
        const lens = inputs[SEQ_LENS_IN];
        for (let d = 0; d < s.numDirections; d++) {
          // proj[seq*batch, 3H] = X[seq*batch, input] · Wᵀ[input, 3H], all steps at once
          matmulTransposedB(s.seqLen * s.batch, 3 * H, s.inputSize, inputs[X_IN] as Floats, 0, s.inputSize, weights, layout.wOffset(d), bufs.proj, 0, 3 * H);
          loadState(s, inputs[INITIAL_H_IN], d, bufs.h);
          for (let k = 0; k < s.seqLen; k++) {
            const t = s.reverse[d] ? s.seqLen - 1 - k : k;
            step(s, layout, bufs, d, t, lens);
            for (let b = 0; b < s.batch; b++) {
              if (t >= sequenceLength(s, lens, b)) zeroOutputRow(s, Y, t, d, b);
              else writeOutputRow(s, Y, t, d, b, bufs.h);
            }
          }
          storeState(s, bufs.h, d, outputOrUndefined(s, outputs, 1), lens);
        }
      },
    };
  },
};

interface GruBuffers {
  proj: Floats;
  gates: Floats;
  h: Floats;
  rh: Floats;
  weights: Floats;
}

function gruBiasPacker(linearBeforeReset: boolean): BiasPacker {
  return (H, B, d, dst, off) => {
    if (B === undefined) {
      dst.fill(0, off, off + 4 * H);
      return;
    }
    const base = d * 6 * H;
    for (let j = 0; j < 3 * H; j++) dst[off + j] = B[base + j]! + (j < 2 * H || !linearBeforeReset ? B[base + 3 * H + j]! : 0);
    for (let j = 0; j < H; j++) dst[off + 3 * H + j] = B[base + 5 * H + j]!;
  };
}

/** z and r of batch entry b: gates[b, 0:2H] += projection + bias, then clip and f. */
function updateAndResetGates(s: RecurrentShape, bufs: GruBuffers, act: Activation, g: number, p: number, bias: number): void {
  const { gates, proj, weights } = bufs;
  const n = 2 * s.hidden;
  for (let j = 0; j < n; j++) gates[g + j] += proj[p + j]! + weights[bias + j]!;
  if (s.clip !== Infinity) clipInPlace(s.clip, gates, g, n);
  activateInPlace(act, gates, g, n);
}

/** Ht = (1 - z)⊙h + z⊙Ht-1 once gates[b, 2H:3H] holds the activation input of h. */
function blendHidden(s: RecurrentShape, bufs: GruBuffers, act: Activation, g: number, b: number): void {
  const H = s.hidden;
  const { gates, h } = bufs;
  const hOff = g + 2 * H;
  if (s.clip !== Infinity) clipInPlace(s.clip, gates, hOff, H);
  activateInPlace(act, gates, hOff, H);
  const st = b * H;
  for (let j = 0; j < H; j++) {
    const z = gates[g + j]!;
    h[st + j] = (1 - z) * gates[hOff + j]! + z * h[st + j]!;
  }
}

/** linear_before_reset = 0: the h gate needs (r⊙Ht-1)·Rhᵀ, a second GEMM after r is known. */
function gruStepResetBeforeLinear(s: RecurrentShape, layout: WeightLayout, bufs: GruBuffers, d: number, t: number, lens: Data | undefined): void {
  const H = s.hidden;
  const { gates, proj, weights, h, rh } = bufs;
  const [f, gAct] = s.activations[d] as [Activation, Activation];
  const bias = layout.biasOffset(d);
  // gates[batch, 0:2H] = Ht-1[batch, H] · [Rz; Rr]ᵀ[H, 2H]
  matmulTransposedB(s.batch, 2 * H, H, h, 0, H, weights, layout.rOffset(d), gates, 0, 3 * H);
  for (let b = 0; b < s.batch; b++) {
    const st = b * H;
    if (t >= sequenceLength(s, lens, b)) {
      rh.fill(0, st, st + H);
      continue;
    }
    const g = b * 3 * H;
    updateAndResetGates(s, bufs, f, g, xRow(s, t, b) * 3 * H, bias);
    for (let j = 0; j < H; j++) rh[st + j] = gates[g + H + j]! * h[st + j]!;
  }
  // gates[batch, 2H:3H] = (r⊙Ht-1)[batch, H] · Rhᵀ[H, H]
  matmulTransposedB(s.batch, H, H, rh, 0, H, weights, layout.rOffset(d) + 2 * H * H, gates, 2 * H, 3 * H);
  for (let b = 0; b < s.batch; b++) {
    if (t >= sequenceLength(s, lens, b)) continue;
    const g = b * 3 * H;
    const p = xRow(s, t, b) * 3 * H + 2 * H;
    for (let j = 0; j < H; j++) gates[g + 2 * H + j] += proj[p + j]! + weights[bias + 2 * H + j]!;
    blendHidden(s, bufs, gAct, g, b);
  }
}

/** linear_before_reset ≠ 0: one GEMM gives Ht-1·Rᵀ for all three gates; r scales Ht-1·Rhᵀ + Rbh. */
function gruStepLinearBeforeReset(s: RecurrentShape, layout: WeightLayout, bufs: GruBuffers, d: number, t: number, lens: Data | undefined): void {
  const H = s.hidden;
  const { gates, proj, weights, h } = bufs;
  const [f, gAct] = s.activations[d] as [Activation, Activation];
  const bias = layout.biasOffset(d);
  // gates[batch, 3H] = Ht-1[batch, H] · Rᵀ[H, 3H]
  matmulTransposedB(s.batch, 3 * H, H, h, 0, H, weights, layout.rOffset(d), gates, 0, 3 * H);
  for (let b = 0; b < s.batch; b++) {
    if (t >= sequenceLength(s, lens, b)) continue;
    const g = b * 3 * H;
    const p = xRow(s, t, b) * 3 * H;
    updateAndResetGates(s, bufs, f, g, p, bias);
    for (let j = 0; j < H; j++) {
      const r = gates[g + H + j]!;
      const hh = g + 2 * H + j;
      gates[hh] = proj[p + 2 * H + j]! + weights[bias + 2 * H + j]! + r * (gates[hh]! + weights[bias + 3 * H + j]!);
    }
    blendHidden(s, bufs, gAct, g, b);
  }
}
