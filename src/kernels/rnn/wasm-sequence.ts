/**
 * The WebAssembly SIMD path of LSTM / GRU / RNN (kernels in src/wasm/rnn-kernels.ts). At prepare: W padded to
 * whole blocks of four hidden units and packed for the wasm GEMM with the summed biases, R arranged as the
 * per-block panels the sequence kernels read, both uploaded once per context and weight tensor. At run: the input
 * projection of every step and direction at once (wasm GEMM; a panel matrix-vector kernel below 4 rows), then
 * one wasm call per (direction, batch entry) that runs all of its time steps (batch entries are independent, so
 * each runs exactly its sequence_lens[b] steps). Used for float32 with constant weights and the default activations (LSTM without
 * input_forget); everything else, and views outside wasm memory, keep the JS path.
 */
import type { Data } from '../../dtype.js';
import { NO_ACTIVATION } from '../gemm/activation.js';
import { packB } from '../gemm/packed.js';
import type { PrepareContext, ScratchSpec } from '../kernel.js';
import type { WasmContext } from '../../wasm/context.js';
import { freePackedWeights, uploadPackedWeights, wasmGemmPackedB, type WasmPackedWeights } from '../../wasm/gemm.js';
import { RECURRENT_KERNELS, type RecurrentCellKind } from '../../wasm/rnn-kernels.js';
import {
  B_IN, INITIAL_H_IN, R_IN, SEQ_LENS_IN, W_IN, X_IN, outputOrUndefined, sequenceLength, stateOffset, xRow, yOffset,
  type RecurrentShape,
} from './common.js';

const INITIAL_C_IN = 6;
/**
 * Rows (steps × batch) from which the input projection runs on the wasm GEMM; below, on the panel
 * matrix-vector kernel (the GEMM's 4-row tiles would mostly multiply padding).
 */
const GEMM_MIN_ROWS = 4;
const P_IN = 7;

/** Which recurrence, with the options that change the kernel or the weight arrangement. */
export type RecurrentCell =
  | { op: 'LSTM'; peepholes: boolean }
  | { op: 'GRU'; linearBeforeReset: boolean }
  | { op: 'RNN' };

const DEFAULT_ACTIVATIONS = { LSTM: ['sigmoid', 'tanh', 'tanh'], GRU: ['sigmoid', 'tanh'], RNN: ['tanh'] } as const;
const GATES = { LSTM: 4, GRU: 3, RNN: 1 } as const;

/** Weights of one node in wasm memory: the input-projection GEMM weights and the per-direction R panels. */
interface RecurrentUpload {
  /** The input projection: GEMM weights, or (few rows) per-direction W panels and the padded bias. */
  readonly gemm: WasmPackedWeights | undefined;
  readonly w: readonly number[];
  readonly bias: number;
  /** Byte offset of the block holding, per direction, the R panels, the R2 panels and the aux vector. */
  readonly block: number;
  readonly r: readonly number[];
  readonly r2: readonly number[];
  readonly aux: readonly number[];
  readonly sources: readonly (object | undefined)[];
}

export interface WasmRecurrence {
  /** The path, for profiles: the cell kernel and how the input projection runs. */
  readonly detail: string;
  /** Runs the node in wasm and returns true, or returns false (doing nothing) when a view is outside wasm memory. */
  run(inputs: readonly (Data | undefined)[], outputs: readonly Data[], buffers: readonly Data[]): boolean;
}

/**
 * The wasm plan of a recurrent node, or undefined when the JS path must run (no wasm context, not float32,
 * weights not constant, non-default activations, input_forget, an empty dimension). `scratch` gets the buffers it
 * needs: the projection goes into `projIndex` (grown if needed), the padded states into a new buffer.
 */
export function planWasmRecurrence(
  ctx: PrepareContext, s: RecurrentShape, cell: RecurrentCell, inputForget: boolean, scratch: ScratchSpec[], projIndex: number,
): WasmRecurrence | undefined {
  const wasm = ctx.options.wasm;
  if (wasm === undefined || s.dtype !== 'float32' || inputForget || s.seqLen === 0 || s.batch === 0 || s.inputSize === 0) return undefined;
  const wanted = DEFAULT_ACTIVATIONS[cell.op];
  if (!s.activations.every((list) => list.every((a, i) => a.kind === wanted[i]))) return undefined;
  const c = ctx.constants;
  const constant = (i: number) => ctx.inputs[i] === undefined || c[i] !== undefined;
  if (!constant(W_IN) || !constant(R_IN) || !constant(B_IN) || (cell.op === 'LSTM' && !constant(P_IN))) return undefined;
  const kind: RecurrentCellKind =
    cell.op === 'LSTM' ? (cell.peepholes ? 'lstmPeephole' : 'lstm')
      : cell.op === 'GRU' ? (cell.linearBeforeReset ? 'gruLinearBeforeReset' : 'gru')
        : 'rnn';
  const kernels = wasm.use(RECURRENT_KERNELS[kind]);
  if (kernels === undefined) return undefined;
  const sequence = kernels.sequence;
  const rows = s.seqLen * s.batch;
  const byGemm = rows >= GEMM_MIN_ROWS;
  const upload = uploadRecurrentWeights(wasm, s, cell, byGemm, c.map((t) => t?.data as Float32Array | undefined));
  const project = kernels.projection;
  const G = GATES[cell.op];
  const H = s.hidden;
  const Hp = paddedHidden(H);
  const N = s.numDirections * G * Hp;
  const proj = scratch[projIndex]!;
  proj.length = Math.max(proj.length, rows * N);
  const stateIndex = scratch.length;
  scratch.push({ dtype: 'float32', length: (4 + G) * Hp });
  const hasC = cell.op === 'LSTM';

  return {
    detail: `wasm ${kind} sequence, input projection by ${upload.gemm !== undefined ? `gemm ${upload.gemm.kernels.name}` : 'panel matrix-vector'}`,
    run(inputs, outputs, buffers) {
      const x = inputs[X_IN] as Float32Array;
      const pv = buffers[projIndex] as Float32Array;
      const st = buffers[stateIndex] as Float32Array;
      const Y = outputOrUndefined(s, outputs, 0) as Float32Array | undefined;
      const mem = wasm.memory.buffer;
      if (x.buffer !== mem || pv.buffer !== mem || st.buffer !== mem || (Y !== undefined && Y.buffer !== mem)) return false;
      // proj[rows, dirs·G·Hp] = X[rows, input] · Wpᵀ + bias: every step of both directions at once
      if (upload.gemm !== undefined) wasmGemmPackedB(wasm, rows, x, 0, s.inputSize, false, upload.gemm, pv, 0, N, NO_ACTIVATION);
      else {
        for (let d = 0; d < s.numDirections; d++) {
          project(rows, x.byteOffset, s.inputSize, upload.w[d]!, upload.bias + 4 * d * G * Hp, pv.byteOffset + 4 * d * G * Hp, 4 * N, Hp);
        }
      }
      const lens = inputs[SEQ_LENS_IN];
      const Yh = outputOrUndefined(s, outputs, 1) as Float32Array | undefined;
      const Yc = hasC ? (outputOrUndefined(s, outputs, 2) as Float32Array | undefined) : undefined;
      const hA = st.byteOffset;
      const work = hA + 8 * Hp;
      // GRU with reset before linear keeps r⊙Ht-1 in the last state slot; the others read uploaded aux vectors.
      const rhScratch = hA + 12 * Hp;
      for (let d = 0; d < s.numDirections; d++) {
        for (let b = 0; b < s.batch; b++) {
          const len = sequenceLength(s, lens, b);
          loadPaddedState(s, inputs[INITIAL_H_IN] as Float32Array | undefined, d, b, st, 0, Hp);
          if (hasC) loadPaddedState(s, inputs[INITIAL_C_IN] as Float32Array | undefined, d, b, st, 2 * Hp, Hp);
          let last = hA;
          if (len > 0) {
            const step = s.reverse[d] ? -1 : 1;
            const t0 = step > 0 ? 0 : len - 1;
            const xp = pv.byteOffset + 4 * (xRow(s, t0, b) * N + d * G * Hp);
            const xpStride = 4 * step * (s.layout === 0 ? s.batch : 1) * N;
            const y = Y === undefined ? 0 : Y.byteOffset + 4 * yOffset(s, t0, d, b);
            const yStride = 4 * step * (s.layout === 0 ? s.numDirections * s.batch : s.numDirections) * H;
            last = sequence(len, H, Hp, xp, xpStride, y, yStride, hA, hA + 4 * Hp, work, upload.r[d]!, upload.r2[d]!, upload.aux[d]! || rhScratch, s.clip, hA + 16 * Hp);
          }
          if (Y !== undefined) for (let t = len; t < s.seqLen; t++) Y.fill(0, yOffset(s, t, d, b), yOffset(s, t, d, b) + H);
          storePaddedState(s, st, (last - hA) / 4, len, d, b, Yh);
          if (hasC) storePaddedState(s, st, 2 * Hp, len, d, b, Yc);
        }
      }
      return true;
    },
  };
}

/** Hidden size rounded up to whole f32x4 blocks. */
export function paddedHidden(H: number): number {
  return Math.ceil(H / 4) * 4;
}

/** st[at .. at + Hp) = initial[d, b, :] padded with zeros (zeros when the input is omitted). */
function loadPaddedState(s: RecurrentShape, initial: Float32Array | undefined, d: number, b: number, st: Float32Array, at: number, Hp: number): void {
  st.fill(0, at, at + Hp);
  if (initial === undefined) return;
  const from = stateOffset(s, d, b);
  for (let j = 0; j < s.hidden; j++) st[at + j] = initial[from + j]!;
}

/** out[d, b, :] = st[at .. at + H), or zeros for an entry of length 0 (as the JS path and onnxruntime). */
function storePaddedState(s: RecurrentShape, st: Float32Array, at: number, len: number, d: number, b: number, out: Float32Array | undefined): void {
  if (out === undefined) return;
  const to = stateOffset(s, d, b);
  for (let j = 0; j < s.hidden; j++) out[to + j] = len === 0 ? 0 : st[at + j]!;
}

const release: FinalizationRegistry<{ wasm: WasmContext; upload: RecurrentUpload }> | undefined =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry(({ wasm, upload }) => {
        if (upload.gemm !== undefined) freePackedWeights(wasm, upload.gemm);
        wasm.free(upload.block);
      })
    : undefined;

/**
 * The node's weights in wasm memory, uploaded once per context and R tensor (re-preparing for a new sequence
 * length reuses them); freed when the R data is collected. Call at prepare only: it may grow the memory.
 */
function uploadRecurrentWeights(
  wasm: WasmContext, s: RecurrentShape, cell: RecurrentCell, byGemm: boolean, c: readonly (Float32Array | undefined)[],
): RecurrentUpload {
  const R = c[R_IN]!;
  const sources = [c[W_IN], c[B_IN], c[P_IN]];
  const key = `${JSON.stringify(cell)}:${s.numDirections}:${s.hidden}:${s.inputSize}:${byGemm}`;
  let perR = wasm.uploads.get(R) as Map<string, RecurrentUpload> | undefined;
  if (perR === undefined) {
    perR = new Map();
    wasm.uploads.set(R, perR);
  }
  const hit = perR.get(key);
  if (hit !== undefined && hit.sources.every((src, i) => src === sources[i])) return hit;
  const upload = buildUpload(wasm, s, cell, byGemm, c);
  perR.set(key, upload);
  release?.register(R, { wasm, upload });
  return upload;
}

function buildUpload(
  wasm: WasmContext, s: RecurrentShape, cell: RecurrentCell, byGemm: boolean, c: readonly (Float32Array | undefined)[],
): RecurrentUpload {
  const G = GATES[cell.op];
  const H = s.hidden;
  const Hp = paddedHidden(H);
  const dirs = s.numDirections;
  const W = c[W_IN]!;
  const R = c[R_IN]!;
  const B = c[B_IN];
  const P = c[P_IN];
  const resetBeforeLinear = cell.op === 'GRU' && !cell.linearBeforeReset;
  const I = s.inputSize;
  const { weights, bias } = paddedInputWeights(s, G, W, B, cell);
  const gemm = byGemm ? uploadPackedWeights(wasm, packB(weights, 0, I, true, I, dirs * G * Hp, 1, { data: bias })) : undefined;

  // Per direction: R panels (all gates, or [z, r] for GRU with reset before linear), R2 panels (Rh then),
  // aux (LSTM peepholes [i, o, f] × Hp, GRU linear-before-reset Rbh).
  const rGates = resetBeforeLinear ? [0, 1] : Array.from({ length: G }, (_, g) => g);
  const panelFloats = Hp * Hp * rGates.length;
  const r2Floats = resetBeforeLinear ? Hp * Hp : 0;
  const auxFloats = cell.op === 'LSTM' && cell.peepholes ? 3 * Hp : cell.op === 'GRU' && cell.linearBeforeReset ? Hp : 0;
  const wFloats = byGemm ? 0 : Hp * I * G;
  const perDir = panelFloats + r2Floats + auxFloats + wFloats;
  const biasAt = dirs * perDir;
  const host = new Float32Array(Math.max(1, biasAt + (byGemm ? 0 : bias.length)));
  if (!byGemm) host.set(bias, biasAt);
  for (let d = 0; d < dirs; d++) {
    const base = d * perDir;
    const rOff = d * G * H * H;
    blockPanels(R, rOff, H, H, Hp, rGates, host, base);
    if (resetBeforeLinear) blockPanels(R, rOff, H, H, Hp, [2], host, base + panelFloats);
    if (!byGemm) blockPanels(W, d * G * H * I, I, H, I, Array.from({ length: G }, (_, g) => g), host, base + panelFloats + r2Floats + auxFloats);
    const aux = base + panelFloats + r2Floats;
    if (cell.op === 'LSTM' && cell.peepholes && P !== undefined) {
      for (let g = 0; g < 3; g++) for (let j = 0; j < H; j++) host[aux + g * Hp + j] = P[d * 3 * H + g * H + j]!;
    }
    if (cell.op === 'GRU' && cell.linearBeforeReset && B !== undefined) {
      for (let j = 0; j < H; j++) host[aux + j] = B[d * 6 * H + 5 * H + j]!;
    }
  }
  const block = wasm.allocFloats(host);
  const at = (d: number, off: number, present: boolean) => (present ? block + 4 * (d * perDir + off) : 0);
  const ds = Array.from({ length: dirs }, (_, d) => d);
  return {
    gemm,
    w: ds.map((d) => at(d, panelFloats + r2Floats + auxFloats, !byGemm)),
    bias: byGemm ? 0 : block + 4 * biasAt,
    block,
    r: ds.map((d) => at(d, 0, true)),
    r2: ds.map((d) => at(d, panelFloats, r2Floats > 0)),
    aux: ds.map((d) => at(d, panelFloats + r2Floats, auxFloats > 0)),
    sources: [W, B, P],
  };
}

/**
 * W rearranged as [dirs·G·Hp, input] (row (d·G + g)·Hp + j = W[d, g·H + j, :], zero rows past H) and the bias
 * the projection carries per row: Wb + Rb, except GRU's h gate with linear_before_reset, whose Rbh sits inside
 * r⊙(…) and goes to the kernel apart.
 */
function paddedInputWeights(s: RecurrentShape, G: number, W: Float32Array, B: Float32Array | undefined, cell: RecurrentCell): { weights: Float32Array; bias: Float32Array } {
  const H = s.hidden;
  const Hp = paddedHidden(H);
  const I = s.inputSize;
  const weights = new Float32Array(Math.max(1, s.numDirections * G * Hp * I));
  const bias = new Float32Array(s.numDirections * G * Hp);
  for (let d = 0; d < s.numDirections; d++) {
    for (let g = 0; g < G; g++) {
      const rbInside = cell.op === 'GRU' && cell.linearBeforeReset && g === 2;
      for (let j = 0; j < H; j++) {
        const row = (d * G + g) * Hp + j;
        const src = d * G * H + g * H + j;
        weights.set(W.subarray(src * I, (src + 1) * I), row * I);
        if (B !== undefined) bias[row] = B[d * 2 * G * H + g * H + j]! + (rbInside ? 0 : B[d * 2 * G * H + G * H + g * H + j]!);
      }
    }
  }
  return { weights, bias };
}

/**
 * dst[base + ((u·rows + k)·gates.length + q)·4 + l] = M[off + (gates[q]·H + 4u + l)·K + k] for k < K (zero past K
 * and past H): for each block u of four hidden units, `rows` rows k of Mᵀ restricted to the block's columns of
 * each gate — the panels the wasm products read (R with K = H, rows = Hp; W with K = rows = input size).
 */
function blockPanels(M: Float32Array, off: number, K: number, H: number, rows: number, gates: readonly number[], dst: Float32Array, base: number): void {
  const Q = gates.length;
  for (let u = 0; u < paddedHidden(H) / 4; u++) {
    for (let k = 0; k < K; k++) {
      for (let q = 0; q < Q; q++) {
        const at = base + ((u * rows + k) * Q + q) * 4;
        for (let l = 0; l < 4 && 4 * u + l < H; l++) dst[at + l] = M[off + (gates[q]! * H + 4 * u + l) * K + k]!;
      }
    }
  }
}
