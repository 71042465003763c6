import { sizeOf, type Data } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import {
  chooseVariant, kernelError, onWasmOrReference, requireInput, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef, viewsInWasm,
} from '../kernel.js';
import type { WasmContext } from '../../wasm/context.js';
import type { Int8Like } from './igemm.js';
import { int8Kernels } from './igemm-wasm.js';
import { scalarOf } from './lookup-table.js';
import { integerRange, quantizeToRange } from './rounding.js';

/** Numpy broadcasting of two shapes: the output shape and each input's element strides over it (0 on broadcast dims). */
function broadcastStrides(ctx: PrepareContext, a: number[], b: number[]) {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  const aStrides = new Array<number>(rank).fill(0);
  const bStrides = new Array<number>(rank).fill(0);
  let sa = 1;
  let sb = 1;
  for (let d = rank - 1; d >= 0; d--) {
    const da = a[d - (rank - a.length)] ?? 1;
    const db = b[d - (rank - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw kernelError(ctx, `shapes [${a}] and [${b}] do not broadcast`);
    out[d] = da === 1 ? db : da;
    aStrides[d] = da === 1 ? 0 : sa;
    bStrides[d] = db === 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
  return { out, aStrides, bStrides };
}

interface QLinearBinaryProblem {
  ctx: PrepareContext;
  op: 'add' | 'mul';
  combine: (a: number, b: number) => number;
  dtype: 'uint8' | 'int8';
  aShape: number[];
  bShape: number[];
  out: number[];
  aStrides: number[];
  bStrides: number[];
}

/** The float32 steps of one output, as MlasQLinearAdd's scalar path: quantize(f32(f32(sa·(a - za)) ∘ f32(sb·(b - zb))) / sc). */
interface BinaryParams {
  sa: number;
  za: number;
  sb: number;
  zb: number;
  sc: number;
  zc: number;
}

function readParams(inputs: readonly (Data | undefined)[], p: BinaryParams): void {
  p.sa = scalarOf(inputs[1]);
  p.za = scalarOf(inputs[2]);
  p.sb = scalarOf(inputs[4]);
  p.zb = scalarOf(inputs[5]);
  p.sc = scalarOf(inputs[6]);
  p.zc = scalarOf(inputs[7]);
}

/**
 * com.microsoft QLinearAdd / QLinearMul: C = quantize(dequantize(A) ∘ dequantize(B)) with numpy broadcasting.
 * Inputs: A, A_scale, A_zero_point?, B, B_scale, B_zero_point?, C_scale, C_zero_point?; all per tensor.
 * Float steps in float32 as onnxruntime's reference kernels (MlasQLinearAdd's scalar path).
 */
function prepareReference(p: QLinearBinaryProblem): PreparedKernel {
  const { out, aStrides, bStrides, combine } = p;
  const [lo, hi] = integerRange(p.dtype)!;
  const rank = out.length;
  const total = sizeOf(out);
  const inner = rank === 0 ? 1 : out[rank - 1]!;
  const innerA = rank === 0 ? 0 : aStrides[rank - 1]!;
  const innerB = rank === 0 ? 0 : bStrides[rank - 1]!;
  const counter = new Array<number>(rank).fill(0);
  const at = new Int32Array(2);
  const q: BinaryParams = { sa: 0, za: 0, sb: 0, zb: 0, sc: 0, zc: 0 };
  return {
    outputs: [{ dtype: p.dtype, shape: out }],
    // Each C element is written after the A element at the same index is read, so C may overwrite an unbroadcast A.
    inPlace: sizeOf(p.aShape) === total ? 0 : undefined,
    run(inputs, outputs) {
      const A = inputs[0] as Int8Like;
      const B = inputs[3] as Int8Like;
      const C = outputs[0] as Int8Like;
      readParams(inputs, q);
      const { sa, za, sb, zb, sc, zc } = q;
      counter.fill(0);
      at.fill(0);
      for (let o = 0; o < total; o += inner) {
        const ia = at[0]!;
        const ib = at[1]!;
        for (let j = 0; j < inner; j++) {
          const va = Math.fround(sa * (A[ia + j * innerA]! - za));
          const vb = Math.fround(sb * (B[ib + j * innerB]! - zb));
          C[o + j] = quantizeToRange(Math.fround(combine(va, vb) / sc), zc, lo, hi);
        }
        nextRow(counter, out, rank - 1, aStrides, bStrides, at);
      }
    },
  };
}

/**
 * Moves `at` (the row's first A and B element) to the next row: the odometer `counter` over dims[0..n) steps, each
 * input moving by its stride of the dim that stepped and back to the start of the dims that wrapped.
 */
function nextRow(counter: number[], dims: readonly number[], n: number, aStrides: readonly number[], bStrides: readonly number[], at: Int32Array): void {
  for (let d = n - 1; d >= 0; d--) {
    counter[d]!++;
    at[0]! += aStrides[d]!;
    at[1]! += bStrides[d]!;
    if (counter[d]! < dims[d]!) return;
    at[0]! -= aStrides[d]! * dims[d]!;
    at[1]! -= bStrides[d]! * dims[d]!;
    counter[d] = 0;
  }
}

/** A, B and C when all three are views of wasm memory, with the parameters read into q; else undefined. */
function wasmOperands(wasm: WasmContext, inputs: readonly (Data | undefined)[], outputs: readonly Data[], q: BinaryParams): [Int8Like, Int8Like, Int8Like] | undefined {
  const A = inputs[0] as Int8Like;
  const B = inputs[3] as Int8Like;
  const C = outputs[0] as Int8Like;
  if (!viewsInWasm(wasm, A, B, C)) return undefined;
  readParams(inputs, q);
  return [A, B, C];
}

// Equal shapes (a residual Add): whole vectors of four on qs8_v{add,mul}, the last n mod 4 in JS.
function prepareWasm(p: QLinearBinaryProblem): PreparedKernel {
  const reference = prepareReference(p);
  const wasm = p.ctx.options.wasm!;
  const kernel = int8Kernels(wasm)![p.op];
  const [lo, hi] = integerRange(p.dtype)!;
  const total = sizeOf(p.out);
  const flip = p.dtype === 'uint8' ? 0x80 : 0;
  const combine = p.combine;
  const q: BinaryParams = { sa: 0, za: 0, sb: 0, zb: 0, sc: 0, zc: 0 };
  return onWasmOrReference(reference, `wasm qs8 v${p.op}, equal shapes (js for views outside wasm memory)`, (inputs, outputs) => {
    const io = wasmOperands(wasm, inputs, outputs, q);
    if (io === undefined) return false;
    const [A, B, C] = io;
    const { sa, za, sb, zb, sc, zc } = q;
    kernel(A.byteOffset, B.byteOffset, C.byteOffset, total, flip, za - flip, zb - flip, sa, sb, sc, zc, lo, hi);
    for (let i = total - (total % 4); i < total; i++) {
      C[i] = quantizeToRange(Math.fround(combine(Math.fround(sa * (A[i]! - za)), Math.fround(sb * (B[i]! - zb))) / sc), zc, lo, hi);
    }
    return true;
  });
}

/**
 * One operand full and the other one value per plane (its dims after the last non-1 one are 1, and before it they
 * are the output's as a suffix of the outer dims, e.g. [N, C, H, W] ∘ [1, C, 1, 1]): plane p of S elements takes
 * the small operand's element p mod its size. Which input is the full one (both ops are commutative).
 */
interface PlaneLayout {
  full: 0 | 1;
  planes: number;
  S: number;
  count: number;
}

function planeLayout(p: QLinearBinaryProblem): PlaneLayout | undefined {
  const total = sizeOf(p.out);
  const rank = p.out.length;
  for (const full of [0, 1] as const) {
    const [fullShape, small] = full === 0 ? [p.aShape, p.bShape] : [p.bShape, p.aShape];
    if (sizeOf(fullShape) !== total || sizeOf(small) === total) continue;
    const dims = [...new Array<number>(rank - small.length).fill(1), ...small];
    let k = rank;
    while (k > 0 && dims[k - 1] === 1) k--;
    let j = k;
    while (j > 0 && dims[j - 1] === p.out[j - 1]) j--;
    if (dims.slice(0, j).some((d) => d !== 1)) continue;
    const S = sizeOf(p.out.slice(k));
    if (S === 0) continue;
    return { full, planes: total / S, S, count: sizeOf(small) };
  }
  return undefined;
}

// One operand per plane (a squeeze-excitation scale): qs8_v{add,mul}_planes, every element in wasm.
function prepareWasmPlanes(p: QLinearBinaryProblem): PreparedKernel {
  const reference = prepareReference(p);
  const wasm = p.ctx.options.wasm!;
  const kernels = int8Kernels(wasm)!;
  const kernel = (p.op === 'add' ? kernels.addPlanes : kernels.mulPlanes)[p.dtype === 'int8' ? 1 : 0];
  const layout = planeLayout(p)!;
  const [lo, hi] = integerRange(p.dtype)!;
  const flip = p.dtype === 'uint8' ? 0x80 : 0;
  const q: BinaryParams = { sa: 0, za: 0, sb: 0, zb: 0, sc: 0, zc: 0 };
  const detail = `wasm qs8 v${p.op}, one ${layout.full === 0 ? 'B' : 'A'} value per plane of ${layout.S} (js for views outside wasm memory)`;
  return onWasmOrReference(reference, detail, (inputs, outputs) => {
    const io = wasmOperands(wasm, inputs, outputs, q);
    if (io === undefined) return false;
    const [A, B, C] = io;
    const [full, small, zf, zs, sf, ss] = layout.full === 0 ? [A, B, q.za, q.zb, q.sa, q.sb] : [B, A, q.zb, q.za, q.sb, q.sa];
    kernel(full.byteOffset, small.byteOffset, C.byteOffset, layout.planes, layout.S, layout.count, flip, zf - flip, zs - flip, sf, ss, q.sc, q.zc, lo, hi);
    return true;
  });
}

/**
 * The broadcast as rows: the output's dims with the size-1 ones dropped and adjacent ones merged where A and B both
 * step through them as one (outer stride = inner stride · inner size for both, which covers "both contiguous" and
 * "both broadcast", stride 0 = 0 · n), so the inner dim is as long as it can be. [2, 3, 1, 1] ∘ [1, 1, 5, 7] gives
 * 6 rows of 35 with A one value per row; [1, 5, 7] ∘ [3, 1, 7] gives 3 × 5 rows of 7, both contiguous.
 * The inner strides are then 0 or 1 (the innermost kept dim of an input is its last non-1 dim, or broadcast).
 */
interface RowLayout {
  /** Outer dims (outermost first) and each input's element strides over them. */
  outer: number[];
  aOuter: number[];
  bOuter: number[];
  /** Elements per row, and each input's stride along it (0: one value for the whole row; 1: contiguous). */
  inner: number;
  innerA: number;
  innerB: number;
}

function rowLayout(p: QLinearBinaryProblem): RowLayout {
  const dims: number[] = [];
  const as: number[] = [];
  const bs: number[] = [];
  p.out.forEach((n, d) => {
    if (n === 1) return;
    const last = dims.length - 1;
    const [sa, sb] = [p.aStrides[d]!, p.bStrides[d]!];
    if (last >= 0 && as[last] === sa * n && bs[last] === sb * n) {
      dims[last]! *= n;
      as[last] = sa;
      bs[last] = sb;
    } else {
      dims.push(n);
      as.push(sa);
      bs.push(sb);
    }
  });
  if (dims.length === 0) return { outer: [], aOuter: [], bOuter: [], inner: 1, innerA: 0, innerB: 0 };
  return { outer: dims.slice(0, -1), aOuter: as.slice(0, -1), bOuter: bs.slice(0, -1), inner: dims.at(-1)!, innerA: as.at(-1)!, innerB: bs.at(-1)! };
}

/**
 * Shortest coalesced row the broadcast variant takes. Under 4 a contiguous row would be all JS tail (the vector
 * kernel does whole fours) and a one-value row a wasm call per 1 to 3 elements: a JS call per element or worse,
 * so such broadcasts ([3, 1] ∘ [1, 3], [N, C, H, 2] ∘ [1, C, 1, 2]) stay on the reference.
 */
const MIN_BROADCAST_ROW = 4;

/** A row of the broadcast variant: byte offsets of its first A, B and C elements within the three views. */
type RowStep = (A: Int8Like, B: Int8Like, C: Int8Like, ia: number, ib: number, o: number) => void;

/**
 * The kernel call for one row, by the inputs' strides along it (q: the parameters of the current call):
 * - both contiguous: qs8_v{add,mul} on the row, its last inner mod 4 in JS with the reference's float32 steps;
 * - one of them one value: qs8_v{add,mul}_planes with one plane of `inner` elements (it writes all of them, any
 *   length, unaligned addresses are fine) and bCount 1, the contiguous operand as its a (add and mul are
 *   commutative in float32, so swapping the operands is bit-exact);
 * - both one value: one value in JS, written over the row (after coalescing only a one-element output has such a
 *   row, which MIN_BROADCAST_ROW leaves to the reference; kept so every layout has a step).
 */
function rowStep(p: QLinearBinaryProblem, rows: RowLayout, q: BinaryParams): RowStep {
  const kernels = int8Kernels(p.ctx.options.wasm)!;
  const [lo, hi] = integerRange(p.dtype)!;
  const flip = p.dtype === 'uint8' ? 0x80 : 0;
  const { combine } = p;
  const { inner, innerA, innerB } = rows;
  const value = (a: number, b: number) => quantizeToRange(Math.fround(combine(Math.fround(q.sa * (a - q.za)), Math.fround(q.sb * (b - q.zb))) / q.sc), q.zc, lo, hi);
  if (innerA === 1 && innerB === 1) {
    const kernel = kernels[p.op];
    const tail = inner - (inner % 4);
    return (A, B, C, ia, ib, o) => {
      kernel(A.byteOffset + ia, B.byteOffset + ib, C.byteOffset + o, inner, flip, q.za - flip, q.zb - flip, q.sa, q.sb, q.sc, q.zc, lo, hi);
      for (let j = tail; j < inner; j++) C[o + j] = value(A[ia + j]!, B[ib + j]!);
    };
  }
  const planes = (p.op === 'add' ? kernels.addPlanes : kernels.mulPlanes)[p.dtype === 'int8' ? 1 : 0];
  if (innerA === 1) {
    return (A, B, C, ia, ib, o) => {
      planes(A.byteOffset + ia, B.byteOffset + ib, C.byteOffset + o, 1, inner, 1, flip, q.za - flip, q.zb - flip, q.sa, q.sb, q.sc, q.zc, lo, hi);
    };
  }
  if (innerB === 1) {
    return (A, B, C, ia, ib, o) => {
      planes(B.byteOffset + ib, A.byteOffset + ia, C.byteOffset + o, 1, inner, 1, flip, q.zb - flip, q.za - flip, q.sb, q.sa, q.sc, q.zc, lo, hi);
    };
  }
  return (A, B, C, ia, ib, o) => void C.fill(value(A[ia]!, B[ib]!), o, o + inner);
}

// Any other broadcast: the output as rows of the coalesced inner dim (rowLayout), each row on qs8_v{add,mul} when both
// operands are contiguous along it, on qs8_v{add,mul}_planes as one plane when one of them is a single value.
function prepareWasmBroadcast(p: QLinearBinaryProblem): PreparedKernel {
  const reference = prepareReference(p);
  const wasm = p.ctx.options.wasm!;
  const rows = rowLayout(p);
  const total = sizeOf(p.out);
  // wasmOperands fills q on every call; the row step reads it.
  const q: BinaryParams = { sa: 0, za: 0, sb: 0, zb: 0, sc: 0, zc: 0 };
  const step = rowStep(p, rows, q);
  const { outer, aOuter, bOuter, inner } = rows;
  const counter = new Array<number>(outer.length).fill(0);
  const at = new Int32Array(2);
  const detail = `wasm qs8 v${p.op}, broadcast as ${total / inner} rows of ${inner} (js for views outside wasm memory)`;
  return onWasmOrReference(reference, detail, (inputs, outputs) => {
    const io = wasmOperands(wasm, inputs, outputs, q);
    if (io === undefined) return false;
    const [A, B, C] = io;
    counter.fill(0);
    at.fill(0);
    for (let o = 0; o < total; o += inner) {
      step(A, B, C, at[0]!, at[1]!, o);
      nextRow(counter, outer, outer.length, aOuter, bOuter, at);
    }
    return true;
  });
}

const name = (p: QLinearBinaryProblem) => `${p.dtype === 'int8' ? 'i8' : 'u8'}_qlinear${p.op}`;

/**
 * The per-plane layout applies and beats the broadcast rows: planes of fewer than MIN_BROADCAST_ROW elements run
 * the planes kernel's element-at-a-time path ([1,64,56,56]∘[1,1,56,56] as planes of 1: 2.5 ms, as rows of 56:
 * 0.85 ms), so where the broadcast rows apply they take those.
 */
function planesPay(p: QLinearBinaryProblem): boolean {
  const layout = planeLayout(p);
  return layout !== undefined && (layout.S >= MIN_BROADCAST_ROW || rowLayout(p).inner < MIN_BROADCAST_ROW);
}

const VARIANTS: readonly VariantDef<QLinearBinaryProblem>[] = [
  { name: (p) => `${name(p)}__ref`, applies: () => true, placement: 'any', prepare: prepareReference },
  // Any broadcast with rows of 4 or more; listed before the two below, which win where they apply (chooseVariant
  // takes the last applicable one), so it runs the broadcasts they do not cover (or when forced: 'bcast').
  {
    name: (p) => `${name(p)}_bcast__wasmsimd`,
    applies: (p, caps) => int8Kernels(caps.wasm) !== undefined && sizeOf(p.out) > 0 && rowLayout(p).inner >= MIN_BROADCAST_ROW,
    placement: 'wasm',
    prepare: prepareWasmBroadcast,
  },
  {
    name: (p) => `${name(p)}__wasmsimd`,
    applies: (p, caps) => int8Kernels(caps.wasm) !== undefined && sizeOf(p.aShape) === sizeOf(p.out) && sizeOf(p.bShape) === sizeOf(p.out),
    placement: 'wasm',
    prepare: prepareWasm,
  },
  {
    name: (p) => `${name(p)}_planes__wasmsimd`,
    applies: (p, caps) => int8Kernels(caps.wasm) !== undefined && planesPay(p),
    placement: 'wasm',
    prepare: prepareWasmPlanes,
  },
];

function prepareQLinearBinary(ctx: PrepareContext, combine: (a: number, b: number) => number, op: 'add' | 'mul'): PreparedKernel {
  const a = requireInput(ctx, 0);
  const b = requireInput(ctx, 3);
  if ((a.dtype !== 'uint8' && a.dtype !== 'int8') || b.dtype !== a.dtype) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: A and B must both be uint8 or both int8, got ${a.dtype} and ${b.dtype}`);
  }
  for (const i of [1, 2, 4, 5, 6, 7]) {
    const t = ctx.inputs[i];
    if (t !== undefined && sizeOf(t.shape) !== 1) {
      throw new UnsupportedError(`${nodeLabel(ctx.node)}: input ${i} must be a scalar (per-tensor quantization)`);
    }
  }
  const { out, aStrides, bStrides } = broadcastStrides(ctx, a.shape, b.shape);
  return chooseVariant(VARIANTS, { ctx, op, combine, dtype: a.dtype, aShape: a.shape, bShape: b.shape, out, aStrides, bStrides }, ctx);
}

export const qlinearBinaryKernels: KernelDef[] = [
  { opType: 'QLinearAdd', domain: 'com.microsoft', prepare: (ctx) => prepareQLinearBinary(ctx, (x, y) => Math.fround(x + y), 'add') },
  { opType: 'QLinearMul', domain: 'com.microsoft', prepare: (ctx) => prepareQLinearBinary(ctx, (x, y) => Math.fround(x * y), 'mul') },
];
