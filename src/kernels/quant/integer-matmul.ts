import { sizeOf, type DType, type TensorType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import {
  chooseVariant, kernelError, onWasmOrReference, requireInput, type Capabilities, type KernelDef, type PrepareContext, type PreparedKernel,
  type ScratchSpec, type VariantDef,
} from '../kernel.js';
import { applyZeroPointCorrections, igemmABt, rowSums, type Int8Like } from './igemm.js';
import {
  TILE_COLS, TILE_ROWS, fillPanelStrided, igemmPacked, laneChunk, packRowPanels, packedRowsLength, panelLength, type TileStore,
} from './igemm-packed.js';
import { QS8_MAX_K, int8Kernels, planWasmRightConstantGemm } from './igemm-wasm.js';
import { planWasmIntegerMatMul } from './integer-matmul-wasm.js';
import { fusedOutputRange } from './params.js';
import { ROUND_LIMIT, ROUND_MAGIC, integerRange, requantize } from './rounding.js';

const ZERO: Int32Array = new Int32Array(1);

/** Batch broadcasting as numpy.matmul: which a-batch and b-batch each output batch reads. */
export interface MatMulShape {
  M: number;
  K: number;
  N: number;
  outShape: number[];
  aBatches: number;
  bBatches: number;
  aBatchOf: Int32Array;
  bBatchOf: Int32Array;
}

export function matmulShape(ctx: PrepareContext, a: number[], b: number[]): MatMulShape {
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  if (a2.length < 2 || b2.length < 2) throw kernelError(ctx, `inputs must have rank >= 1, got [${a}] and [${b}]`);
  const M = a2[a2.length - 2]!;
  const K = a2[a2.length - 1]!;
  const N = b2[b2.length - 1]!;
  if (b2[b2.length - 2] !== K) throw kernelError(ctx, `inner dims differ: a [${a}] and b [${b}]`);
  const aB = a2.slice(0, -2);
  const bB = b2.slice(0, -2);
  const rank = Math.max(aB.length, bB.length);
  const outB: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = aB[i - (rank - aB.length)] ?? 1;
    const db = bB[i - (rank - bB.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw kernelError(ctx, `batch dims of a [${a}] and b [${b}] do not broadcast`);
    outB.push(da === 1 ? db : da);
  }
  const batches = sizeOf(outB);
  const aBatchOf = new Int32Array(batches);
  const bBatchOf = new Int32Array(batches);
  for (let t = 0; t < batches; t++) {
    let rem = t;
    let ai = 0;
    let bi = 0;
    let aStride = 1;
    let bStride = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rem % outB[d]!;
      rem = Math.floor(rem / outB[d]!);
      const da = aB[d - (rank - aB.length)] ?? 1;
      const db = bB[d - (rank - bB.length)] ?? 1;
      if (da !== 1) ai += idx * aStride;
      if (db !== 1) bi += idx * bStride;
      aStride *= da;
      bStride *= db;
    }
    aBatchOf[t] = ai;
    bBatchOf[t] = bi;
  }
  const outShape = [...outB];
  if (a.length > 1) outShape.push(M);
  if (b.length > 1) outShape.push(N);
  return { M, K, N, outShape, aBatches: sizeOf(aB), bBatches: sizeOf(bB), aBatchOf, bBatchOf };
}

/**
 * How a per-row (of a) or per-column (of b) quantization parameter is indexed: stride 0 for one value,
 * else `count` values per batch (batchStride = count when the parameter also varies per batch).
 */
export interface ParamIndex {
  stride: number;
  batchStride: number;
}

export function paramIndex(ctx: PrepareContext, name: string, t: TensorType | undefined, count: number, batches: number): ParamIndex {
  const n = t === undefined ? 1 : sizeOf(t.shape);
  if (n === 1) return { stride: 0, batchStride: 0 };
  if (n === count) return { stride: 1, batchStride: 0 };
  if (n === count * batches) return { stride: 1, batchStride: count };
  throw kernelError(ctx, `${name} must have 1, ${count} or ${count * batches} elements, got [${t!.shape}]`);
}

function checkInt8Like(ctx: PrepareContext, name: string, t: TensorType): void {
  if (t.dtype !== 'uint8' && t.dtype !== 'int8') {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${name} must be uint8 or int8, got ${t.dtype}`);
  }
}

/** Bᵀ of every b batch: packed[(batch·N + j)·K + k] = b[batch, k, j], the layout igemmABt reads. */
function packTransposedB(b: Int8Like, batches: number, K: number, N: number, packed: Int8Like, sums: Int32Array): void {
  for (let t = 0; t < batches; t++) {
    const src = t * K * N;
    for (let j = 0; j < N; j++) {
      const dst = (t * N + j) * K;
      for (let k = 0; k < K; k++) packed[dst + k] = b[src + k * N + j]!;
    }
  }
  rowSums(batches * N, K, packed, 0, K, sums, 0);
}

/** Bᵀ panels and their row sums, ready for igemmABt. */
interface PackedB {
  bt: Int8Like;
  sums: Int32Array;
}

/**
 * Shared integer core of MatMulInteger and QLinearMatMul: acc = (a - a_zp) · (b - b_zp) per output batch,
 * with b packed transposed once at prepare when constant (else into scratch at run).
 */
export interface IntegerMatMulPlan {
  shape: MatMulShape;
  /** Scratch this plan needs: [a row sums, (packed b, b row sums when b is not constant)]. */
  scratch: ScratchSpec[];
  /** The packed b: the prepare-time pack, or b packed now into scratch[base + 1], scratch[base + 2]. */
  packB(b: Int8Like, scratch: readonly unknown[], base: number): PackedB;
  /** Output batch t's M×N accumulators into acc[off...]; aSums is M ints of scratch. */
  accumulate(t: number, a: Int8Like, packed: PackedB, aZp: ArrayLike<number>, bZp: ArrayLike<number>, aSums: Int32Array, acc: Int32Array, off: number): void;
}

export function planIntegerMatMul(ctx: PrepareContext, aIndex: number, bIndex: number, aZpIndex: number, bZpIndex: number): IntegerMatMulPlan {
  const a = requireInput(ctx, aIndex);
  const b = requireInput(ctx, bIndex);
  checkInt8Like(ctx, 'a', a);
  checkInt8Like(ctx, 'b', b);
  const shape = matmulShape(ctx, a.shape, b.shape);
  const { M, K, N, bBatches } = shape;
  const aZpIdx = paramIndex(ctx, 'a_zero_point', ctx.inputs[aZpIndex], M, shape.aBatches);
  const bZpIdx = paramIndex(ctx, 'b_zero_point', ctx.inputs[bZpIndex], N, bBatches);
  const bConst = ctx.constants[bIndex];
  // A constant b is packed at prepare on the JS backend; with wasm, where this JS path is only a fallback (the wasm
  // variants pack their own, uploaded once per weights), on its first use: re-planning for each new input shape (a
  // transformer's sequence lengths) would otherwise repeat this pack every time for nothing.
  let prepacked: PackedB | undefined;
  const packConstant = (data: Int8Like): PackedB => {
    const bt = b.dtype === 'int8' ? new Int8Array(bBatches * N * K) : new Uint8Array(bBatches * N * K);
    const packed = { bt, sums: new Int32Array(bBatches * N) };
    packTransposedB(data, bBatches, K, N, bt, packed.sums);
    return packed;
  };
  if (bConst !== undefined && ctx.options.wasm === undefined) prepacked = packConstant(bConst.data as Int8Like);
  const scratch: ScratchSpec[] = [{ dtype: 'int32', length: M }];
  if (bConst === undefined) {
    scratch.push({ dtype: b.dtype, length: bBatches * N * K }, { dtype: 'int32', length: bBatches * N });
  }
  const runtimePack: PackedB = { bt: new Uint8Array(0), sums: new Int32Array(0) };
  return {
    shape,
    scratch,
    packB(bData, scr, base) {
      if (bConst !== undefined) return (prepacked ??= packConstant(bConst.data as Int8Like));
      runtimePack.bt = scr[base + 1] as Int8Like;
      runtimePack.sums = scr[base + 2] as Int32Array;
      packTransposedB(bData, bBatches, K, N, runtimePack.bt, runtimePack.sums);
      return runtimePack;
    },
    accumulate(t, aData, packed, aZp, bZp, aSums, acc, off) {
      const ab = shape.aBatchOf[t]!;
      const bb = shape.bBatchOf[t]!;
      igemmABt(M, N, K, aData, ab * M * K, K, packed.bt, bb * N * K, K, acc, off, N);
      rowSums(M, K, aData, ab * M * K, K, aSums, 0);
      applyZeroPointCorrections(
        M, N, K, acc, off, N,
        aZp, ab * aZpIdx.batchStride, aZpIdx.stride, aSums, 0,
        bZp, bb * bZpIdx.batchStride, bZpIdx.stride, packed.sums, bb * N,
      );
    },
  };
}

interface MatMulIntegerProblem {
  ctx: PrepareContext;
  plan: IntegerMatMulPlan;
  aZpIdx: ParamIndex;
}

// MatMulInteger (Operators.md): y = (a - a_zero_point) · (b - b_zero_point) in int32, numpy.matmul broadcasting.
// a [..., M, K], b [..., K, N], a_zero_point [] | [M], b_zero_point [] | [N] -> y int32 [..., M, N]
function prepareMatMulIntegerReference(p: MatMulIntegerProblem): PreparedKernel {
  const { plan } = p;
  const { M, N } = plan.shape;
  const batches = plan.shape.aBatchOf.length;
  return {
    outputs: [{ dtype: 'int32', shape: plan.shape.outShape }],
    scratch: plan.scratch,
    run(inputs, outputs, scratch) {
      const a = inputs[0] as Int8Like;
      const aZp = (inputs[2] as Int8Like | undefined) ?? ZERO;
      const bZp = (inputs[3] as Int8Like | undefined) ?? ZERO;
      const packed = plan.packB(inputs[1] as Int8Like, scratch, 0);
      const y = outputs[0] as Int32Array;
      for (let t = 0; t < batches; t++) plan.accumulate(t, a, packed, aZp, bZp, scratch[0] as Int32Array, y, t * M * N);
    },
  };
}

/** True when the wasm GEMM can take this product: one constant b with a constant (or no) zero point, K small enough. */
export function wasmMatMulApplies(ctx: PrepareContext, bIndex: number, bZpIndex: number, shape: MatMulShape, caps: Capabilities): boolean {
  return int8Kernels(caps.wasm) !== undefined && ctx.constants[bIndex] !== undefined && shape.bBatches === 1 &&
    (ctx.inputs[bZpIndex] === undefined || ctx.constants[bZpIndex] !== undefined) && shape.K <= QS8_MAX_K;
}

/** The per-row zero point of a as (stride, period) over the flattened rows (see WasmIntegerMatMul.run). */
export function rowZeroPointWalk(idx: ParamIndex, rows: number, M: number): [number, number] {
  return idx.batchStride !== 0 ? [1, rows] : [idx.stride, M];
}

function prepareMatMulIntegerWasm(p: MatMulIntegerProblem, ctx: PrepareContext): PreparedKernel {
  const { plan } = p;
  const { M, K, N } = plan.shape;
  const rows = plan.shape.aBatchOf.length * M;
  const reference = prepareMatMulIntegerReference(p);
  const gemm = planWasmIntegerMatMul(ctx.options.wasm, rows, K, N, requireInput(ctx, 0).dtype === 'int8', {
    data: ctx.constants[1]!.data as Int8Like, zp: ctx.constants[3]?.data as Int8Like | undefined,
  }, 'i32')!;
  const [zaStride, zaPeriod] = rowZeroPointWalk(p.aZpIdx, rows, M);
  return onWasmOrReference(reference, gemm.detail, (inputs, outputs) => {
    const aZp = (inputs[2] as Int8Like | undefined) ?? ZERO;
    return gemm.run(inputs[0] as Int8Like, aZp, zaStride, zaPeriod, outputs[0] as Int32Array);
  });
}

const MATMUL_INTEGER_VARIANTS: readonly VariantDef<MatMulIntegerProblem>[] = [
  { name: (p) => `${int8Name(p.ctx, 0)}${int8Name(p.ctx, 1)}_matmulinteger__ref`, applies: () => true, placement: 'any', prepare: prepareMatMulIntegerReference },
  {
    name: (p) => `${int8Name(p.ctx, 0)}${int8Name(p.ctx, 1)}_matmulinteger__wasmsimd`,
    applies: (p, caps) => wasmMatMulApplies(p.ctx, 1, 3, p.plan.shape, caps),
    placement: 'wasm',
    prepare: prepareMatMulIntegerWasm,
  },
];

/** 'u8' or 'i8' for input i. */
export function int8Name(ctx: PrepareContext, i: number): string {
  return ctx.inputs[i]?.dtype === 'int8' ? 'i8' : 'u8';
}

function prepareMatMulInteger(ctx: PrepareContext): PreparedKernel {
  const plan = planIntegerMatMul(ctx, 0, 1, 2, 3);
  const aZpIdx = paramIndex(ctx, 'a_zero_point', ctx.inputs[2], plan.shape.M, plan.shape.aBatches);
  return chooseVariant(MATMUL_INTEGER_VARIANTS, { ctx, plan, aZpIdx }, ctx);
}

// QLinearMatMul (Operators.md): y = saturate(round((a - a_zp)·(b - b_zp) · (a_scale·b_scale / y_scale)) + y_zp).
// a [..., M, K] with a_scale/a_zp per tensor or per row, b [..., K, N] with b_scale/b_zp per tensor or per column,
// y_scale / y_zp scalars -> y [..., M, N]
function prepareQLinearMatMul(ctx: PrepareContext): PreparedKernel {
  const plan = planIntegerMatMul(ctx, 0, 3, 2, 5);
  const { M, N, aBatches, bBatches } = plan.shape;
  const aScaleIdx = paramIndex(ctx, 'a_scale', requireInput(ctx, 1), M, aBatches);
  const bScaleIdx = paramIndex(ctx, 'b_scale', requireInput(ctx, 4), N, bBatches);
  for (const [i, name] of [[6, 'y_scale'], [7, 'y_zero_point']] as const) {
    const t = ctx.inputs[i];
    if (t !== undefined && sizeOf(t.shape) !== 1) throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${name} must be a scalar`);
  }
  const outType: DType = ctx.inputs[7]?.dtype ?? requireInput(ctx, 0).dtype;
  const range = integerRange(outType);
  if (range === undefined || (outType !== 'uint8' && outType !== 'int8')) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: y must be uint8 or int8, got ${outType}`);
  }
  const [lo, hi] = fusedOutputRange(ctx, range[0], range[1]);
  const aParamsPerTensor = sizeOf(requireInput(ctx, 1).shape) === 1 && (ctx.inputs[2] === undefined || sizeOf(ctx.inputs[2].shape) === 1);
  if (ctx.constants[3] !== undefined && aParamsPerTensor) return packedQLinearMatMul(ctx, plan, bScaleIdx, outType, lo, hi);
  const scratchBase = 1;
  const batches = plan.shape.aBatchOf.length;
  return {
    outputs: [{ dtype: outType, shape: plan.shape.outShape }],
    scratch: [{ dtype: 'int32', length: M * N }, ...plan.scratch],
    run(inputs, outputs, scratch) {
      const acc = scratch[0] as Int32Array;
      const aScale = inputs[1] as Float32Array;
      const bScale = inputs[4] as Float32Array;
      const yScale = (inputs[6] as Float32Array)[0]!;
      const yZp = inputs[7] === undefined ? 0 : (inputs[7] as Int8Like)[0]!;
      const y = outputs[0] as Int8Like;
      const a = inputs[0] as Int8Like;
      const aZp = (inputs[2] as Int8Like | undefined) ?? ZERO;
      const bZp = (inputs[5] as Int8Like | undefined) ?? ZERO;
      const packed = plan.packB(inputs[3] as Int8Like, scratch, scratchBase);
      for (let t = 0; t < batches; t++) {
        plan.accumulate(t, a, packed, aZp, bZp, scratch[scratchBase] as Int32Array, acc, 0);
        const as0 = plan.shape.aBatchOf[t]! * aScaleIdx.batchStride;
        const bs0 = plan.shape.bBatchOf[t]! * bScaleIdx.batchStride;
        const out0 = t * M * N;
        for (let i = 0; i < M; i++) {
          const sa = aScale[as0 + i * aScaleIdx.stride]!;
          for (let j = 0; j < N; j++) {
            // a_scale·b_scale / y_scale in float32 steps, as onnxruntime's output scale.
            const mult = Math.fround(Math.fround(sa * bScale[bs0 + j * bScaleIdx.stride]!) / yScale);
            y[out0 + i * N + j] = requantize(acc[i * N + j]!, mult, yZp, lo, hi);
          }
        }
      }
    },
  };
}

/**
 * QLinearMatMul with a constant b and per-tensor a parameters on the packed GEMM: the rows of the product are
 * b's columns (packed once into 4-row panels from the transposed pack), the columns are a's rows (gathered four
 * at a time), and the requantization is fused into the store:
 *   y[i, j] = requantize(Σ a·b - zb_j·Σa[i,:] - za·Σb[:,j] + K·za·zb_j, a_scale·b_scale_j / y_scale).
 */
function packedQLinearMatMul(ctx: PrepareContext, plan: IntegerMatMulPlan, bScaleIdx: ParamIndex, outType: DType, lo: number, hi: number): PreparedKernel {
  const { M, K, N, bBatches, aBatchOf, bBatchOf } = plan.shape;
  const packLen = packedRowsLength(N, K);
  const bType = requireInput(ctx, 3).dtype;
  // The JS panels: at prepare on the JS backend, on first use where the wasm GEMM below runs (a fallback there).
  let jsPack: { packed: PackedB; panels: Int8Like } | undefined;
  const packForJs = (): { packed: PackedB; panels: Int8Like } => {
    if (jsPack !== undefined) return jsPack;
    const packed = plan.packB(ctx.constants[3]!.data as Int8Like, [], 0);
    const panels = bType === 'int8' ? new Int8Array(bBatches * packLen) : new Uint8Array(bBatches * packLen);
    for (let t = 0; t < bBatches; t++) packRowPanels(N, K, packed.bt, t * N * K, K, panels, t * packLen);
    return (jsPack = { packed, panels });
  };
  const chunk = laneChunk(bType === 'int8', requireInput(ctx, 0).dtype === 'int8');
  const bZpCount = ctx.inputs[5] === undefined ? 1 : sizeOf(ctx.inputs[5].shape);
  const panel = new Float64Array(panelLength(K));
  const colSums = new Int32Array(TILE_COLS);
  const tile = new Float64Array(TILE_ROWS * TILE_COLS);
  const offs = new Int32Array(TILE_COLS);
  const multipliers = new Float32Array(N);
  const rowConst = new Float64Array(N);
  const zbOf = new Int32Array(N);
  // One b matrix with a constant zero point: the whole product (all a batches as rows) on the wasm int8 GEMM.
  const bZpConst = ctx.constants[5]?.data as Int8Like | undefined;
  const wasmGemm = bBatches === 1 && (ctx.inputs[5] === undefined || bZpConst !== undefined)
    ? planWasmRightConstantGemm(ctx.options.wasm, aBatchOf.length * M, K, N, {
      data: ctx.constants[3]!.data as Int8Like, kStride: N, nStride: 1, zp: bZpConst ?? ZERO, zpStride: bZpCount === N ? 1 : 0, zpData: bZpConst,
    }, lo, hi)
    : undefined;
  if (wasmGemm === undefined) packForJs();
  let a: Int8Like = new Uint8Array(0);
  let y: Int8Like = new Uint8Array(0);
  let aBase = 0;
  let out0 = 0;
  let yZp = 0;
  const fill = (i0: number, cols: number, pan: Float64Array, sums: Int32Array) => {
    for (let c = 0; c < TILE_COLS; c++) offs[c] = aBase + (i0 + c) * K;
    fillPanelStrided(K, a, offs, cols, 1, pan, sums);
  };
  const store: TileStore = (tl, j0, rows, i0, cols, sums) => {
    for (let r = 0; r < rows; r++) {
      const j = j0 + r;
      const zb = zbOf[j]!;
      const rc = rowConst[j]!;
      const mult = multipliers[j]!;
      for (let c = 0; c < cols; c++) {
        // requantize(acc, mult, yZp, lo, hi), written out (see rounding.ts).
        const acc = tl[r * TILE_COLS + c]! - zb * sums[c]! + rc;
        const s = Math.fround(Math.fround(acc) * mult);
        const q = s > -ROUND_LIMIT && s < ROUND_LIMIT ? s + ROUND_MAGIC - ROUND_MAGIC + yZp : requantize(acc, mult, yZp, lo, hi);
        y[out0 + (i0 + c) * N + j] = q < lo ? lo : q > hi ? hi : q;
      }
    }
  };
  return {
    outputs: [{ dtype: outType, shape: plan.shape.outShape }],
    detail: wasmGemm?.detail ?? 'js int8 packed gemm, B packed at prepare',
    run(inputs, outputs) {
      a = inputs[0] as Int8Like;
      y = outputs[0] as Int8Like;
      const sa = (inputs[1] as Float32Array)[0]!;
      const za = inputs[2] === undefined ? 0 : (inputs[2] as Int8Like)[0]!;
      const bScale = inputs[4] as Float32Array;
      const bZp = (inputs[5] as Int8Like | undefined) ?? ZERO;
      const yScale = (inputs[6] as Float32Array)[0]!;
      yZp = inputs[7] === undefined ? 0 : (inputs[7] as Int8Like)[0]!;
      if (wasmGemm !== undefined) {
        for (let j = 0; j < N; j++) multipliers[j] = Math.fround(Math.fround(sa * bScale[j * bScaleIdx.stride]!) / yScale);
        if (wasmGemm.run(a, za, y, yZp, undefined, 0, multipliers)) return;
      }
      const { packed, panels } = packForJs();
      for (let t = 0; t < aBatchOf.length; t++) {
        const bb = bBatchOf[t]!;
        for (let j = 0; j < N; j++) {
          // a_scale·b_scale / y_scale in float32 steps, as onnxruntime's output scale.
          multipliers[j] = Math.fround(Math.fround(sa * bScale[bb * bScaleIdx.batchStride + j * bScaleIdx.stride]!) / yScale);
          zbOf[j] = bZpCount === 1 ? bZp[0]! : bZp[bZpCount === N ? j : bb * N + j]!;
          rowConst[j] = -za * packed.sums[bb * N + j]! + K * za * zbOf[j]!;
        }
        aBase = aBatchOf[t]! * M * K;
        out0 = t * M * N;
        igemmPacked(N, M, K, panels, bb * packLen, chunk, fill, store, panel, colSums, tile);
      }
    },
  };
}

export const integerMatMulKernels: KernelDef[] = [
  { opType: 'MatMulInteger', prepare: prepareMatMulInteger },
  { opType: 'QLinearMatMul', prepare: prepareQLinearMatMul },
  // QLinearMatMul followed by a clamp of the quantized output (output_min / output_max): made by the QDQ fusion.
  { opType: 'QLinearMatMul', domain: 'tinfer', prepare: prepareQLinearMatMul },
];
