/**
 * What LSTM, GRU and RNN share: attribute and shape validation, the layout-0/1 index maps, weight packing
 * and the GEMM they all call. Inputs: X, W, R, B, sequence_lens, initial_h (LSTM adds initial_c, P).
 */
import type { Data, DType, TensorType } from '../../dtype.js';
import { GraphError, UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat, attrFloats, attrInt, attrString, attrStrings } from '../../graph/attributes.js';
import { kernelError, requireInput, type PrepareContext, type ScratchSpec } from '../kernel.js';
import { parseActivations, type Activation } from './activations.js';

export type Floats = Float32Array | Float64Array;

export const X_IN = 0;
export const W_IN = 1;
export const R_IN = 2;
export const B_IN = 3;
export const SEQ_LENS_IN = 4;
export const INITIAL_H_IN = 5;

export interface OpSpec {
  /** Gate blocks stacked in W and R: LSTM 4 (iofc), GRU 3 (zrh), RNN 1. */
  gates: number;
  /** Default activation names for one direction. */
  defaultActivations: readonly string[];
  /** Outputs the op can declare: LSTM 3 (Y, Y_h, Y_c), GRU and RNN 2. */
  maxOutputs: number;
}

/** Everything shape-dependent, fixed at prepare. */
export interface RecurrentShape {
  label: string;
  dtype: DType;
  /** Storage type of every float buffer (inputs, outputs, scratch). */
  storage: 'float32' | 'float64';
  seqLen: number;
  batch: number;
  inputSize: number;
  hidden: number;
  gates: number;
  numDirections: number;
  /** Per direction: true when it walks time backwards. */
  reverse: boolean[];
  layout: number;
  /** Bound applied to every activation input; Infinity when the node has no clip. */
  clip: number;
  activations: Activation[][];
  /** Declared outputs in order (Y, Y_h[, Y_c]); '' names mean the output is omitted. */
  outputs: TensorType[];
  wantOutput: boolean[];
}

const FLOAT_TYPES: readonly DType[] = ['float32', 'float16', 'bfloat16', 'float64'];

export function parseRecurrent(ctx: PrepareContext, spec: OpSpec): RecurrentShape {
  const { node } = ctx;
  const label = nodeLabel(node);
  const x = requireInput(ctx, X_IN);
  const w = requireInput(ctx, W_IN);
  const r = requireInput(ctx, R_IN);
  if (!FLOAT_TYPES.includes(x.dtype)) throw new UnsupportedError(`${label}: X has unsupported type ${x.dtype}`);
  for (const [name, t] of [['W', w], ['R', r]] as const) {
    if (t.dtype !== x.dtype) throw kernelError(ctx, `${name} has type ${t.dtype}, X has ${x.dtype}`);
  }
  if (x.shape.length !== 3) throw kernelError(ctx, `X must be rank 3, got [${x.shape}]`);
  if (w.shape.length !== 3 || r.shape.length !== 3) throw kernelError(ctx, `W and R must be rank 3, got [${w.shape}] and [${r.shape}]`);

  const direction = attrString(node, 'direction', 'forward');
  const reverse = directionList(ctx, direction);
  const numDirections = reverse.length;
  const layout = ctx.opset >= 14 ? attrInt(node, 'layout', 0) : 0;
  if (layout !== 0 && layout !== 1) throw kernelError(ctx, `layout must be 0 or 1, got ${layout}`);
  const [seqLen, batch, inputSize] = layout === 0 ? x.shape : [x.shape[1]!, x.shape[0]!, x.shape[2]!];
  const hidden = attrInt(node, 'hidden_size') ?? r.shape[2]!;
  const G = spec.gates;

  expectShape(ctx, 'W', w.shape, [numDirections, G * hidden, inputSize!]);
  expectShape(ctx, 'R', r.shape, [numDirections, G * hidden, hidden]);
  const b = ctx.inputs[B_IN];
  if (b) expectShape(ctx, 'B', b.shape, [numDirections, 2 * G * hidden]);
  const lens = ctx.inputs[SEQ_LENS_IN];
  if (lens) {
    if (lens.dtype !== 'int32' && lens.dtype !== 'int64') throw kernelError(ctx, `sequence_lens must be int32, got ${lens.dtype}`);
    expectShape(ctx, 'sequence_lens', lens.shape, [batch!]);
  }
  const stateShape = layout === 0 ? [numDirections, batch!, hidden] : [batch!, numDirections, hidden];
  const initH = ctx.inputs[INITIAL_H_IN];
  if (initH) expectShape(ctx, 'initial_h', initH.shape, stateShape);

  const clipAttr = attrFloat(node, 'clip');
  if (clipAttr !== undefined && !(clipAttr > 0)) throw kernelError(ctx, `clip must be positive, got ${clipAttr}`);
  const activations = parseActivations(
    ctx,
    attrStrings(node, 'activations'),
    spec.defaultActivations,
    attrFloats(node, 'activation_alpha', []),
    attrFloats(node, 'activation_beta', []),
    numDirections,
  );

  if (node.outputs.length > spec.maxOutputs) throw kernelError(ctx, `at most ${spec.maxOutputs} outputs, got ${node.outputs.length}`);
  const yShape = layout === 0 ? [seqLen!, numDirections, batch!, hidden] : [batch!, seqLen!, numDirections, hidden];
  const outputs: TensorType[] = node.outputs.map((_, i) => ({ dtype: x.dtype, shape: i === 0 ? yShape : [...stateShape] }));
  const wantOutput = node.outputs.map((name) => name !== '');
  return {
    label,
    dtype: x.dtype,
    storage: x.dtype === 'float64' ? 'float64' : 'float32',
    seqLen: seqLen!,
    batch: batch!,
    inputSize: inputSize!,
    hidden,
    gates: G,
    numDirections,
    reverse,
    layout,
    clip: clipAttr ?? Infinity,
    activations,
    outputs,
    wantOutput,
  };
}

/** Checks an optional per-direction input (initial_c, P) the op adds to the common ones. */
export function expectShape(ctx: PrepareContext, name: string, got: readonly number[], want: readonly number[]): void {
  if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
    throw kernelError(ctx, `${name} must have shape [${want}], got [${got}]`);
  }
}

function directionList(ctx: PrepareContext, direction: string): boolean[] {
  switch (direction) {
    case 'forward':
    case 'foward': // the default spelled in the opset-1 schema
      return [false];
    case 'reverse':
      return [true];
    case 'bidirectional':
      return [false, true];
    default:
      throw kernelError(ctx, `direction must be forward, reverse or bidirectional, got '${direction}'`);
  }
}

/** Row of X (and of the input projection) holding time step t of batch entry b. */
export function xRow(s: RecurrentShape, t: number, b: number): number {
  return s.layout === 0 ? t * s.batch + b : b * s.seqLen + t;
}

/** Offset of Y[t, d, b, :] (layout 0) or Y[b, t, d, :] (layout 1). */
export function yOffset(s: RecurrentShape, t: number, d: number, b: number): number {
  return (s.layout === 0 ? (t * s.numDirections + d) * s.batch + b : (b * s.seqLen + t) * s.numDirections + d) * s.hidden;
}

/** Offset of state[d, b, :] (layout 0) or state[b, d, :] (layout 1): initial_h/c, Y_h, Y_c. */
export function stateOffset(s: RecurrentShape, d: number, b: number): number {
  return (s.layout === 0 ? d * s.batch + b : b * s.numDirections + d) * s.hidden;
}

/** state[batch, hidden] = the direction-d slice of initial (or zeros when the input is omitted). */
export function loadState(s: RecurrentShape, initial: Data | undefined, d: number, state: Floats): void {
  const H = s.hidden;
  if (initial === undefined) {
    state.fill(0, 0, s.batch * H);
    return;
  }
  const src = initial as Floats;
  for (let b = 0; b < s.batch; b++) {
    const from = stateOffset(s, d, b);
    for (let j = 0; j < H; j++) state[b * H + j] = src[from + j]!;
  }
}

/**
 * Writes state[batch, hidden] into the direction-d slice of Y_h / Y_c. An entry whose sequence length is 0
 * gets zeros, as onnxruntime gives (it never ran a step, so it has no last state).
 */
export function storeState(s: RecurrentShape, state: Floats, d: number, out: Data | undefined, lens: Data | undefined): void {
  if (out === undefined) return;
  const dst = out as Floats;
  const H = s.hidden;
  for (let b = 0; b < s.batch; b++) {
    const to = stateOffset(s, d, b);
    if (sequenceLength(s, lens, b) === 0) dst.fill(0, to, to + H);
    else for (let j = 0; j < H; j++) dst[to + j] = state[b * H + j]!;
  }
}

/** Effective length of batch entry b: sequence_lens[b], or the whole sequence when omitted. */
export function sequenceLength(s: RecurrentShape, lens: Data | undefined, b: number): number {
  if (lens === undefined) return s.seqLen;
  const n = Number(lens[b]);
  if (!(n >= 0 && n <= s.seqLen)) throw new GraphError(`${s.label}: sequence_lens[${b}] = ${n} is outside [0, ${s.seqLen}]`);
  return n;
}

/**
 * Packed weights, one buffer: for each direction W [gates*hidden, input], then for each direction
 * R [gates*hidden, hidden] (both in the ONNX row order, so every gate output is a dot product of two
 * contiguous rows), then for each direction the op's bias vector (biasLength values).
 */
export class WeightLayout {
  readonly gh: number;
  readonly rBase: number;
  readonly biasBase: number;
  readonly length: number;

  constructor(
    readonly s: RecurrentShape,
    readonly biasLength: number,
  ) {
    this.gh = s.gates * s.hidden;
    this.rBase = s.numDirections * s.inputSize * this.gh;
    this.biasBase = this.rBase + s.numDirections * s.hidden * this.gh;
    this.length = this.biasBase + s.numDirections * biasLength;
  }

  wOffset(d: number): number {
    return d * this.s.inputSize * this.gh;
  }

  rOffset(d: number): number {
    return this.rBase + d * this.s.hidden * this.gh;
  }

  biasOffset(d: number): number {
    return this.biasBase + d * this.biasLength;
  }
}

/** Writes direction d's packed bias (from B [dirs, 2·gates·hidden], or zeros when omitted) at dst[off..]. */
export type BiasPacker = (hidden: number, B: Floats | undefined, d: number, dst: Floats, off: number) => void;

/** Fills `dst` in the WeightLayout from W, R and B. */
export function packWeights(layout: WeightLayout, W: Data, R: Data, B: Data | undefined, packBias: BiasPacker, dst: Floats): void {
  const { s } = layout;
  dst.set(W as Floats, 0);
  dst.set(R as Floats, layout.rBase);
  for (let d = 0; d < s.numDirections; d++) packBias(s.hidden, B as Floats | undefined, d, dst, layout.biasOffset(d));
}

/**
 * Prepares the packed weights: once here when W, R and B are constants, otherwise the returned function
 * re-packs them at every run into the scratch buffer this adds to `scratch`.
 */
export function planWeights(
  ctx: PrepareContext,
  layout: WeightLayout,
  packBias: BiasPacker,
  scratch: ScratchSpec[],
): (inputs: readonly (Data | undefined)[], buffers: readonly Data[]) => Floats {
  if (weightsAreConstant(ctx)) {
    const c = ctx.constants;
    const packed = allocFloats(layout.s, layout.length);
    packWeights(layout, c[W_IN]!.data, c[R_IN]!.data, c[B_IN]?.data, packBias, packed);
    return () => packed;
  }
  const index = scratch.length;
  scratch.push({ dtype: layout.s.storage, length: layout.length });
  return (inputs, buffers) => {
    const dst = buffers[index] as Floats;
    packWeights(layout, inputs[W_IN]!, inputs[R_IN]!, inputs[B_IN], packBias, dst);
    return dst;
  };
}

/** A fresh array of the storage type (used at prepare for constant packed weights). */
export function allocFloats(s: RecurrentShape, length: number): Floats {
  return s.storage === 'float64' ? new Float64Array(length) : new Float32Array(length);
}

/**
 * C[M×N] = A[M×K] · Bᵀ, with B stored N×K row-major (K contiguous, row stride K) and A, C row strides
 * lda, ldc. The recurrent products are skinny (M = batch, often 1), so this is a GEMV-shaped kernel:
 * four rows of B share each loaded A element and accumulate in registers, which in V8 runs several times
 * faster than a broadcast-A / stream-C loop that loads and stores C for every multiply-add.
 */
export function matmulTransposedB(
  M: number,
  N: number,
  K: number,
  A: Floats,
  aOff: number,
  lda: number,
  B: Floats,
  bOff: number,
  C: Floats,
  cOff: number,
  ldc: number,
): void {
  const N4 = N - (N % 4);
  for (let i = 0; i < M; i++) {
    const a0 = aOff + i * lda;
    const c0 = cOff + i * ldc;
    for (let j = 0; j < N4; j += 4) {
      const b0 = bOff + j * K;
      const b1 = b0 + K;
      const b2 = b1 + K;
      const b3 = b2 + K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < K; k++) {
        const x = A[a0 + k]!;
        s0 += x * B[b0 + k]!;
        s1 += x * B[b1 + k]!;
        s2 += x * B[b2 + k]!;
        s3 += x * B[b3 + k]!;
      }
      C[c0 + j] = s0;
      C[c0 + j + 1] = s1;
      C[c0 + j + 2] = s2;
      C[c0 + j + 3] = s3;
    }
    for (let j = N4; j < N; j++) {
      const b0 = bOff + j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a0 + k]! * B[b0 + k]!;
      C[c0 + j] = s;
    }
  }
}

/** Zeroes Y rows of padded time steps (t >= sequence_lens[b]), as onnxruntime does. */
export function zeroOutputRow(s: RecurrentShape, Y: Data | undefined, t: number, d: number, b: number): void {
  if (Y === undefined) return;
  const off = yOffset(s, t, d, b);
  (Y as Floats).fill(0, off, off + s.hidden);
}

/** Copies state row b into Y at (t, d, b). */
export function writeOutputRow(s: RecurrentShape, Y: Data | undefined, t: number, d: number, b: number, state: Floats): void {
  if (Y === undefined) return;
  const off = yOffset(s, t, d, b);
  const H = s.hidden;
  const y = Y as Floats;
  for (let j = 0; j < H; j++) y[off + j] = state[b * H + j]!;
}

/** The output buffer for declared output i, or undefined when the node omits it. */
export function outputOrUndefined(s: RecurrentShape, outputs: readonly Data[], i: number): Data | undefined {
  return s.wantOutput[i] ? outputs[i] : undefined;
}

/** True when W, R and (if present) B are known at prepare, so packing happens once. */
function weightsAreConstant(ctx: PrepareContext): boolean {
  return (
    ctx.constants[W_IN] !== undefined &&
    ctx.constants[R_IN] !== undefined &&
    (ctx.inputs[B_IN] === undefined || ctx.constants[B_IN] !== undefined)
  );
}
