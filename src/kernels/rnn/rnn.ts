/**
 * ONNX RNN (opsets 1, 7, 14), per direction:  Ht = f(Xt·Wᵀ + Ht-1·Rᵀ + Wb + Rb)  (default f = Tanh).
 * Wb and Rb are packed as one bias.
 */
import { jsFallbacks, ranOnWasm, type KernelDef, type PrepareContext, type PreparedKernel, type ScratchSpec } from '../kernel.js';
import { activateInPlace, clipInPlace, type Activation } from './activations.js';
import {
  INITIAL_H_IN,
  SEQ_LENS_IN,
  X_IN,
  WeightLayout,
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
} from './common.js';
import { planWasmRecurrence } from './wasm-sequence.js';

// X [seq, batch, input] (layout 1: [batch, seq, input]), W [dirs, H, input], R [dirs, H, H], B [dirs, 2H]
// -> Y [seq, dirs, batch, H] (layout 1: [batch, seq, dirs, H]), Y_h [dirs, batch, H] (layout 1: [batch, dirs, H])
export const rnnKernel: KernelDef = {
  opType: 'RNN',
  prepare(ctx: PrepareContext): PreparedKernel {
    const s = parseRecurrent(ctx, { gates: 1, defaultActivations: ['Tanh'], maxOutputs: 2 });
    const H = s.hidden;
    const layout = new WeightLayout(s, H);
    const rows = Math.max(1, s.seqLen * s.batch);
    const scratch: ScratchSpec[] = [
      { dtype: s.storage, length: rows * H }, // input projection of every step
      { dtype: s.storage, length: s.batch * H }, // pre-activation of the current step
      { dtype: s.storage, length: s.batch * H }, // H state
    ];
    const weightsFor = planWeights(ctx, layout, packRnnBias, scratch);
    const wasmPlan = planWasmRecurrence(ctx, s, { op: 'RNN' }, false, scratch, 0);
    const fallbacks = jsFallbacks();

    return {
      outputs: s.outputs,
      detail: wasmPlan?.detail ?? 'js rnn sequence',
      jsFallbacks: fallbacks,
      scratch,
      run(inputs, outputs, buffers) {
        if (wasmPlan !== undefined && ranOnWasm(fallbacks, wasmPlan.run(inputs, outputs, buffers))) return;
        const weights = weightsFor(inputs, buffers);
        const proj = buffers[0] as Floats;
        const pre = buffers[1] as Floats;
        const h = buffers[2] as Floats;
        const Y = outputOrUndefined(s, outputs, 0);
        const lens = inputs[SEQ_LENS_IN];
        for (let d = 0; d < s.numDirections; d++) {
          const act = s.activations[d]![0] as Activation;
          const bias = layout.biasOffset(d);
          // proj[seq*batch, H] = X[seq*batch, input] · Wᵀ[input, H], all steps at once
          matmulTransposedB(s.seqLen * s.batch, H, s.inputSize, inputs[X_IN] as Floats, 0, s.inputSize, weights, layout.wOffset(d), proj, 0, H);
          loadState(s, inputs[INITIAL_H_IN], d, h);
          for (let k = 0; k < s.seqLen; k++) {
            const t = s.reverse[d] ? s.seqLen - 1 - k : k;
            // pre[batch, H] = Ht-1[batch, H] · Rᵀ[H, H]
            matmulTransposedB(s.batch, H, H, h, 0, H, weights, layout.rOffset(d), pre, 0, H);
            for (let b = 0; b < s.batch; b++) {
              if (t >= sequenceLength(s, lens, b)) {
                zeroOutputRow(s, Y, t, d, b);
                continue;
              }
              const st = b * H;
              const p = xRow(s, t, b) * H;
              for (let j = 0; j < H; j++) pre[st + j] += proj[p + j]! + weights[bias + j]!;
              if (s.clip !== Infinity) clipInPlace(s.clip, pre, st, H);
              activateInPlace(act, pre, st, H);
              for (let j = 0; j < H; j++) h[st + j] = pre[st + j]!;
              writeOutputRow(s, Y, t, d, b, h);
            }
          }
          storeState(s, h, d, outputOrUndefined(s, outputs, 1), lens);
        }
      },
    };
  },
};

function packRnnBias(H: number, B: Floats | undefined, d: number, dst: Floats, off: number): void {
  if (B === undefined) {
    dst.fill(0, off, off + H);
    return;
  }
  const base = d * 2 * H;
  for (let j = 0; j < H; j++) dst[off + j] = B[base + j]! + B[base + H + j]!;
}
