import { sizeOf, type DType, type NumericArray } from '../../dtype.js';
import { attrInt, attrInts, hasAttr } from '../../graph/attributes.js';
import {
  chooseVariant, onWasmOrReference, requireConstant, requireInput, viewsInWasm, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef,
} from '../kernel.js';
import { ROW_MEAN_MODULE } from '../../wasm/reduce-kernels.js';
import { BCAST_MODULE } from '../elementwise/binary.wasm.js';
import { isBigIntData, normalizeAxis, product, requireNumeric, stridesOf, tensorNumbers } from './common.js';

type ReduceOp = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'l1' | 'l2' | 'logsum' | 'logsumexp' | 'sumsquare';

/**
 * The reduction plan: output element o reduces x[base[o] + roff[r]] for r < R.
 * base covers the kept axes, roff the reduced ones; both are row-major odometers over the input strides.
 */
interface ReducePlan {
  base: Int32Array;
  roff: Int32Array;
  /** roff[r] === r: the reduced axes are the innermost ones, so each slice is contiguous. */
  contiguous: boolean;
  /**
   * Set when the reduced axes are one run of adjacent axes followed by kept ones: x is then
   * (outer, R, inner) and y (outer, inner), so whole rows of `inner` elements can be accumulated at once.
   */
  block?: { outer: number; R: number; inner: number };
}

/** Axes of the node: an attribute before `axesInputSince`, an optional input from then on (undefined = none given). */
function readAxes(ctx: PrepareContext, axesInputSince: number): number[] | undefined {
  if (ctx.opset >= axesInputSince) {
    if (ctx.inputs[1] === undefined) return undefined;
    return tensorNumbers(requireConstant(ctx, 1));
  }
  return attrInts(ctx.node, 'axes');
}

function planReduction(shape: readonly number[], reduced: readonly boolean[]): ReducePlan {
  const strides = stridesOf(shape);
  const keptAxes = shape.map((_, i) => i).filter((i) => !reduced[i]);
  const redAxes = shape.map((_, i) => i).filter((i) => reduced[i]);
  const base = offsetsOver(keptAxes, shape, strides);
  const roff = offsetsOver(redAxes, shape, strides);
  let contiguous = true;
  for (let r = 0; r < roff.length; r++) if (roff[r] !== r) contiguous = false;
  // The reduced axes form one block when every axis between the first and last reduced one of size > 1
  // is reduced or has size 1 (size-1 axes do not change the memory layout).
  const bigRed = redAxes.filter((a) => shape[a] !== 1);
  const first = bigRed[0];
  const last = bigRed[bigRed.length - 1];
  const isRun = first !== undefined && last !== undefined && shape.slice(first, last + 1).every((d, k) => reduced[first + k] || d === 1);
  const block =
    isRun && !contiguous
      ? { outer: product(shape, 0, first), R: roff.length, inner: product(shape, last + 1) }
      : undefined;
  return { base, roff, contiguous, block };
}

/** Row-major enumeration of the input offsets spanned by `axes`. */
function offsetsOver(axes: readonly number[], shape: readonly number[], strides: readonly number[]): Int32Array {
  let n = 1;
  for (const a of axes) n *= shape[a]!;
  const out = new Int32Array(n);
  const idx = new Array<number>(axes.length).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    out[i] = off;
    for (let k = axes.length - 1; k >= 0; k--) {
      const a = axes[k]!;
      idx[k]++;
      off += strides[a]!;
      if (idx[k] < shape[a]!) break;
      off -= idx[k] * strides[a]!;
      idx[k] = 0;
    }
  }
  return out;
}

/** Identity of max/min for integer outputs, where ±Infinity cannot be stored (ONNX: empty set reduces to the type's bound). */
function lowest(dtype: DType): number {
  switch (dtype) {
    case 'int8':
      return -128;
    case 'int16':
      return -32768;
    case 'int32':
      return -2147483648;
    case 'uint8':
    case 'uint16':
    case 'uint32':
    case 'uint64':
      return 0;
    default:
      return -Infinity;
  }
}

function highest(dtype: DType): number {
  switch (dtype) {
    case 'int8':
      return 127;
    case 'int16':
      return 32767;
    case 'int32':
      return 2147483647;
    case 'uint8':
      return 255;
    case 'uint16':
      return 65535;
    case 'uint32':
      return 4294967295;
    default:
      return Infinity;
  }
}

/** One slice x[b + roff[r]], r < R, reduced with float arithmetic. */
function reduceSlice(op: ReduceOp, x: ArrayLike<number>, b: number, roff: Int32Array, lo: number, hi: number): number {
  const R = roff.length;
  let acc = 0;
  switch (op) {
    case 'sum':
    case 'mean':
    case 'logsum':
      for (let r = 0; r < R; r++) acc += x[b + roff[r]!]!;
      if (op === 'mean') return acc / R;
      return op === 'logsum' ? Math.log(acc) : acc;
    case 'l1':
      for (let r = 0; r < R; r++) acc += Math.abs(x[b + roff[r]!]!);
      return acc;
    case 'l2':
    case 'sumsquare':
      for (let r = 0; r < R; r++) {
        const v = x[b + roff[r]!]!;
        acc += v * v;
      }
      return op === 'l2' ? Math.sqrt(acc) : acc;
    case 'prod':
      acc = 1;
      for (let r = 0; r < R; r++) acc *= x[b + roff[r]!]!;
      return acc;
    case 'max':
      acc = lo;
      for (let r = 0; r < R; r++) {
        const v = x[b + roff[r]!]!;
        if (v > acc || Number.isNaN(v)) acc = v;
      }
      return acc;
    case 'min':
      acc = hi;
      for (let r = 0; r < R; r++) {
        const v = x[b + roff[r]!]!;
        if (v < acc || Number.isNaN(v)) acc = v;
      }
      return acc;
    case 'logsumexp': {
      // log Σ exp(x) = m + log Σ exp(x - m) with m = max(x), so large inputs do not overflow.
      let m = -Infinity;
      for (let r = 0; r < R; r++) m = Math.max(m, x[b + roff[r]!]!);
      if (m === -Infinity || !Number.isFinite(m)) return R === 0 ? -Infinity : m;
      for (let r = 0; r < R; r++) acc += Math.exp(x[b + roff[r]!]! - m);
      return m + Math.log(acc);
    }
  }
}

/** The same on int64/uint64 storage, exact for the integer-valued ops. */
function reduceSliceBig(op: ReduceOp, x: BigInt64Array | BigUint64Array, b: number, roff: Int32Array, signed: boolean): bigint {
  const R = roff.length;
  let acc = 0n;
  switch (op) {
    case 'sum':
    case 'mean':
      for (let r = 0; r < R; r++) acc += x[b + roff[r]!]!;
      return op === 'mean' && R > 0 ? acc / BigInt(R) : acc;
    case 'l1':
      for (let r = 0; r < R; r++) {
        const v = x[b + roff[r]!]!;
        acc += v < 0n ? -v : v;
      }
      return acc;
    case 'sumsquare':
      for (let r = 0; r < R; r++) acc += x[b + roff[r]!]! * x[b + roff[r]!]!;
      return acc;
    case 'prod':
      acc = 1n;
      for (let r = 0; r < R; r++) acc *= x[b + roff[r]!]!;
      return acc;
    case 'max':
      acc = signed ? -(1n << 63n) : 0n;
      for (let r = 0; r < R; r++) if (x[b + roff[r]!]! > acc) acc = x[b + roff[r]!]!;
      return acc;
    case 'min':
      acc = signed ? (1n << 63n) - 1n : (1n << 64n) - 1n;
      for (let r = 0; r < R; r++) if (x[b + roff[r]!]! < acc) acc = x[b + roff[r]!]!;
      return acc;
    default: {
      // l2, logsum, logsumexp have non-integer results: computed in float, then truncated like a cast.
      let m = -Infinity;
      for (let r = 0; r < R; r++) m = Math.max(m, Number(x[b + roff[r]!]!));
      let f = 0;
      for (let r = 0; r < R; r++) {
        const v = Number(x[b + roff[r]!]!);
        f += op === 'l2' ? v * v : op === 'logsum' ? v : Math.exp(v - m);
      }
      const v = op === 'l2' ? Math.sqrt(f) : op === 'logsum' ? Math.log(f) : m + Math.log(f);
      return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
    }
  }
}

function copyRun(): PreparedKernel['run'] {
  return (inputs, outputs) => {
    const x = inputs[0]!;
    const y = outputs[0]!;
    for (let i = 0; i < y.length; i++) (y as unknown as unknown[])[i] = x[i];
  };
}

function makeReduce(opType: string, op: ReduceOp, axesInputSince: number): KernelDef {
  return {
    opType,
    prepare(ctx) {
      // X (d0..dn-1) -> Y (kept dims, reduced dims as 1 when keepdims)
      const x = requireInput(ctx, 0);
      requireNumeric(ctx, x.dtype);
      const rank = x.shape.length;
      const keepdims = attrInt(ctx.node, 'keepdims', 1) !== 0;
      const noop = attrInt(ctx.node, 'noop_with_empty_axes', 0) !== 0;
      const axes = readAxes(ctx, axesInputSince);
      if (axes === undefined || axes.length === 0) {
        // ONNX: empty axes reduce everything, unless noop_with_empty_axes makes the op an identity.
        if (noop && (ctx.opset >= axesInputSince || hasAttr(ctx.node, 'noop_with_empty_axes'))) {
          return { outputs: [{ dtype: x.dtype, shape: [...x.shape] }], run: copyRun() };
        }
      }
      const reduced = new Array<boolean>(rank).fill(axes === undefined || axes.length === 0);
      for (const a of axes ?? []) reduced[normalizeAxis(ctx, a, rank, 'axes entry')] = true;
      const outShape: number[] = [];
      for (let i = 0; i < rank; i++) {
        if (!reduced[i]) outShape.push(x.shape[i]!);
        else if (keepdims) outShape.push(1);
      }
      const plan = planReduction(x.shape, reduced);
      const lo = lowest(x.dtype);
      const hi = highest(x.dtype);
      const signed = x.dtype === 'int64';
      const { base, roff } = plan;
      const nOut = sizeOf(outShape);
      const problem: ReduceProblem = { op, opName: opType.toLowerCase(), dtype: x.dtype, outShape, plan };
      return chooseVariant(reduceVariants(problem, (): PreparedKernel => ({
        outputs: [{ dtype: x.dtype, shape: outShape }],
        jsOk: x.dtype === 'float32' || x.dtype === 'float16' ? undefined : 'integer values',
        run(inputs, outputs) {
          const xd = inputs[0]!;
          const y = outputs[0]!;
          if (isBigIntData(xd)) {
            const yb = y as BigInt64Array;
            for (let o = 0; o < nOut; o++) yb[o] = reduceSliceBig(op, xd, base[o]!, roff, signed);
            return;
          }
          runFloat(op, xd as NumericArray, y as NumericArray, plan, lo, hi);
        },
      })), problem, ctx);
    },
  };
}

interface ReduceProblem {
  op: ReduceOp;
  opName: string;
  dtype: DType;
  outShape: number[];
  plan: ReducePlan;
}

/** Sum or mean of contiguous rows (the reduced axes innermost): one wasm row-sum call. */
const wasmRows = (p: ReduceProblem): boolean => p.plan.contiguous && (p.op === 'sum' || p.op === 'mean');
/** (outer, R, inner) blocks of sum/mean/max/min: the rows of `inner` folded with the broadcast kernels. */
const wasmBlocks = (p: ReduceProblem): boolean => p.plan.block !== undefined && p.plan.block.R > 0 && ['sum', 'mean', 'max', 'min'].includes(p.op);

/** The reduce family's variants: the JS reference, and wasm rows/blocks for float32 sum, mean, max and min. */
function reduceVariants(p: ReduceProblem, prepareJs: () => PreparedKernel): VariantDef<ReduceProblem>[] {
  return [
    { name: `${p.dtype === 'float32' ? 'f32' : p.dtype}_${p.opName}__js`, applies: () => true, placement: 'any', prepare: prepareJs },
    {
      name: `f32_${p.opName}_${wasmRows(p) ? 'rows' : 'blocks'}__wasmsimd`,
      applies: (q, caps) =>
        caps.wasm !== undefined && q.dtype === 'float32' && (wasmRows(q) || wasmBlocks(q)) &&
        caps.wasm.use(ROW_MEAN_MODULE) !== undefined && caps.wasm.use(BCAST_MODULE) !== undefined,
      placement: 'wasm',
      // X or Y outside wasm memory (a hand-made run): the JS reference, counted (a wasm variant claims no jsOk).
      prepare: (q, ctx) => (wasmRows(q) ? prepareRowsWasm : prepareBlocksWasm)(q, ctx, { ...prepareJs(), jsOk: undefined }),
    },
  ];
}

function prepareRowsWasm(p: ReduceProblem, ctx: PrepareContext, reference: PreparedKernel): PreparedKernel {
  const wasm = ctx.options.wasm!;
  const rowMean = wasm.use(ROW_MEAN_MODULE)!;
  const R = p.plan.roff.length;
  const rows = p.plan.base.length;
  const scale = p.op === 'mean' ? (R === 0 ? NaN : 1 / R) : 1;
  return onWasmOrReference(reference, `wasm row ${p.op} ${rows}x${R}`, (inputs, outputs) => {
    const x = inputs[0] as Float32Array;
    const y = outputs[0] as Float32Array;
    if (!viewsInWasm(wasm, x, y)) return false;
    rowMean(x.byteOffset, rows, R, y.byteOffset, scale);
    return true;
  });
}

function prepareBlocksWasm(p: ReduceProblem, ctx: PrepareContext, reference: PreparedKernel): PreparedKernel {
  const wasm = ctx.options.wasm!;
  const kernels = wasm.use(BCAST_MODULE)!;
  const k = kernels[p.op === 'max' ? 'max' : p.op === 'min' ? 'min' : 'add'];
  // max(x, x) is x exactly (NaN included): the copy of a single reduced row.
  const copy = kernels.max;
  const { outer, R, inner } = p.plan.block!;
  const scale = p.op === 'mean' ? 1 / R : 0;
  // y[o, :] = x[o, 0, :] op x[o, 1, :] op …: one call per reduced row, each over `inner` elements.
  return onWasmOrReference(reference, `wasm ${p.op} of ${R} rows x ${inner}, ${outer} blocks`, (inputs, outputs) => {
    const xv = inputs[0] as Float32Array;
    const yv = outputs[0] as Float32Array;
    if (!viewsInWasm(wasm, xv, yv)) return false;
    const x = xv.byteOffset;
    const y = yv.byteOffset;
    for (let o = 0; o < outer; o++) {
      const yo = y + 4 * o * inner;
      const xo = x + 4 * o * R * inner;
      if (R === 1) copy(xo, xo, yo, 1, 1, 1, inner, 0, 0, 0, 0, 0, 0, 0);
      for (let r = 1; r < R; r++) k(r === 1 ? xo : yo, xo + 4 * r * inner, yo, 1, 1, 1, inner, 0, 0, 0, 0, 0, 0, 0);
    }
    if (scale !== 0) for (let i = 0; i < yv.length; i++) yv[i] = yv[i]! / R;
    return true;
  });
}

function runFloat(op: ReduceOp, x: NumericArray, y: NumericArray, plan: ReducePlan, lo: number, hi: number): void {
  const { base, roff } = plan;
  const R = roff.length;
  if (plan.contiguous && (op === 'sum' || op === 'mean')) {
    // Fast path (e.g. ReduceMean over the last axis in layer norms): contiguous slices, no offset table.
    const scale = op === 'mean' ? 1 / R : 1;
    for (let o = 0; o < base.length; o++) {
      const b = base[o]!;
      let acc = 0;
      for (let r = 0; r < R; r++) acc += x[b + r]!;
      y[o] = op === 'mean' ? (R === 0 ? NaN : acc * scale) : acc;
    }
    return;
  }
  if (plan.block && op !== 'logsumexp') {
    reduceBlock(op, x, y, plan.block, lo, hi);
    return;
  }
  for (let o = 0; o < base.length; o++) y[o] = reduceSlice(op, x, base[o]!, roff, lo, hi);
}

/** x (outer, R, inner) -> y (outer, inner), accumulating whole rows so reads stay sequential. */
function reduceBlock(op: ReduceOp, x: NumericArray, y: NumericArray, blk: { outer: number; R: number; inner: number }, lo: number, hi: number): void {
  const { outer, R, inner } = blk;
  const init = op === 'prod' ? 1 : op === 'max' ? lo : op === 'min' ? hi : 0;
  for (let o = 0; o < outer; o++) {
    const yb = o * inner;
    y.fill(init, yb, yb + inner);
    for (let r = 0; r < R; r++) {
      const xb = (o * R + r) * inner;
      switch (op) {
        case 'max':
          for (let j = 0; j < inner; j++) {
            const v = x[xb + j]!;
            if (v > y[yb + j]! || Number.isNaN(v)) y[yb + j] = v;
          }
          break;
        case 'min':
          for (let j = 0; j < inner; j++) {
            const v = x[xb + j]!;
            if (v < y[yb + j]! || Number.isNaN(v)) y[yb + j] = v;
          }
          break;
        case 'prod':
          for (let j = 0; j < inner; j++) y[yb + j]! *= x[xb + j]!;
          break;
        case 'l1':
          for (let j = 0; j < inner; j++) y[yb + j]! += Math.abs(x[xb + j]!);
          break;
        case 'l2':
        case 'sumsquare':
          for (let j = 0; j < inner; j++) y[yb + j]! += x[xb + j]! * x[xb + j]!;
          break;
        default:
          for (let j = 0; j < inner; j++) y[yb + j]! += x[xb + j]!;
      }
    }
    if (op === 'mean') for (let j = 0; j < inner; j++) y[yb + j] = y[yb + j]! / R;
    else if (op === 'l2') for (let j = 0; j < inner; j++) y[yb + j] = Math.sqrt(y[yb + j]!);
    else if (op === 'logsum') for (let j = 0; j < inner; j++) y[yb + j] = Math.log(y[yb + j]!);
  }
}

export const reduceOps: KernelDef[] = [
  makeReduce('ReduceSum', 'sum', 13),
  makeReduce('ReduceMean', 'mean', 18),
  makeReduce('ReduceMax', 'max', 18),
  makeReduce('ReduceMin', 'min', 18),
  makeReduce('ReduceProd', 'prod', 18),
  makeReduce('ReduceL1', 'l1', 18),
  makeReduce('ReduceL2', 'l2', 18),
  makeReduce('ReduceLogSum', 'logsum', 18),
  makeReduce('ReduceLogSumExp', 'logsumexp', 18),
  makeReduce('ReduceSumSquare', 'sumsquare', 18),
];
