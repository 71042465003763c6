/**
 * Binary elementwise ops with numpy broadcasting, as one table: op name -> dtypes + scalar function.
 * A generic kernel plans the broadcast once (broadcast.ts) and runs an inner loop per collapsed row;
 * Add/Sub/Mul/Div on float32/float64 (and Add/Sub on every integer type) get hand-written inner
 * loops for the contiguous, scalar and broadcast-row cases.
 */
import type { DType, TensorType } from '../../dtype.js';
import type { Node } from '../../loader/model.js';
import { attrInt, attrString } from '../../graph/attributes.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import {
  chooseVariant, kernelError, onWasmOrReference, viewsInWasm, withActivation, requireInput, type Capabilities, type KernelDef, type PrepareContext,
  type PreparedKernel, type VariantDef,
} from '../kernel.js';
import { broadcastShapes, checkUnidirectional, planBroadcast, runBinaryPlan, type BinaryInner, type BroadcastPlan } from './broadcast.js';
import { BCAST_MODULE, bcastCall, bcastPattern, runBcast, type BcastCall, type BcastOp } from './binary.wasm.js';
import { COMPARE_MODULE, nestCall, type CmpOp } from './compare.wasm.js';
import { FLOATS, INTS, NUMERIC, UNSIGNED_INTS, checkDtype, isBigIntDtype, roundBinaryFor } from './dtypes.js';
import { isNarrowFloat, roundToNarrowFloat } from '../../loader/float16.js';
import { activateInPlace, readFusedActivation } from '../conv/fused-activation.js';
import type { Activation } from '../gemm/activation.js';
import type { FloatArray } from '../conv/reference.js';
import type { WasmContext } from '../../wasm/context.js';

export interface BinaryFns {
  /** For number storage: a, b are numbers (or bigint/number mixes for Pow, handled by the op). */
  num: (a: any, b: any) => any;
  /** For int64/uint64 storage of A. */
  big?: (a: bigint, b: bigint) => bigint;
  /** A hand-written inner loop computing the same as num/big, for dtypes where it is exact. */
  inner?: BinaryInner;
}

export interface BinarySpec {
  types: readonly DType[];
  /** Output dtype when it is not A's (comparisons -> bool). */
  out?: DType;
  /** B's dtypes when they may differ from A's (Pow); otherwise B must have A's dtype. */
  typesB?: readonly DType[];
  /** Scalar functions for A's dtype (and B's) given the node's attributes. */
  make: (node: Node, a: DType, b: DType) => BinaryFns;
  /** Legacy opset < 7 'broadcast'/'axis' attributes (Add, Sub, Mul, Div, Pow, logic, comparisons). */
  legacyBroadcast?: boolean;
}

// Inner loops: n output elements from o; a and b stepped by sa and sb (1 = walking, 0 = broadcast).

export const addInner: BinaryInner = (out, o, a, ia, sa, b, ib, sb, n) => {
  if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = a[ia + i] + b[ib + i];
  else if (sb === 0) {
    const v = b[ib];
    for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] + v;
  } else if (sa === 0) {
    const v = a[ia];
    for (let i = 0; i < n; i++) out[o + i] = v + b[ib + i * sb];
  } else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] + b[ib + i * sb];
};

const subInner: BinaryInner = (out, o, a, ia, sa, b, ib, sb, n) => {
  if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = a[ia + i] - b[ib + i];
  else if (sb === 0) {
    const v = b[ib];
    for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] - v;
  } else if (sa === 0) {
    const v = a[ia];
    for (let i = 0; i < n; i++) out[o + i] = v - b[ib + i * sb];
  } else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] - b[ib + i * sb];
};

const mulInner: BinaryInner = (out, o, a, ia, sa, b, ib, sb, n) => {
  if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = a[ia + i] * b[ib + i];
  else if (sb === 0) {
    const v = b[ib];
    for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] * v;
  } else if (sa === 0) {
    const v = a[ia];
    for (let i = 0; i < n; i++) out[o + i] = v * b[ib + i * sb];
  } else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] * b[ib + i * sb];
};

const divInner: BinaryInner = (out, o, a, ia, sa, b, ib, sb, n) => {
  if (sa === 1 && sb === 1) for (let i = 0; i < n; i++) out[o + i] = a[ia + i] / b[ib + i];
  else if (sb === 0) {
    const v = b[ib];
    for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] / v;
  } else if (sa === 0) {
    const v = a[ia];
    for (let i = 0; i < n; i++) out[o + i] = v / b[ib + i * sb];
  } else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] / b[ib + i * sb];
};

/** Float Pow with number storage on both sides; a scalar exponent 2 (LayerNorm's variance) is x·x, which equals x ** 2 exactly. */
const powInner: BinaryInner = (out, o, a, ia, sa, b, ib, sb, n) => {
  if (sb === 0) {
    const v = b[ib];
    if (v === 2) {
      for (let i = 0; i < n; i++) {
        const x = a[ia + i * sa];
        out[o + i] = x * x;
      }
    } else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] ** v;
  } else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] ** b[ib + i * sb];
};

/** The inner loop for any scalar function (one call per element). */
export function scalarInner(f: (a: any, b: any) => any): BinaryInner {
  return (out, o, a, ia, sa, b, ib, sb, n) => {
    for (let i = 0; i < n; i++) out[o + i] = f(a[ia + i * sa], b[ib + i * sb]);
  };
}

/** float32/float64: plain JS arithmetic rounds exactly like the spec wants; narrow floats do not. */
function isWideFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** Python-style modulo: the result takes the sign of the divisor (ONNX Mod, fmod=0). */
function floorMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}

function floorModBig(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  const r = a % b;
  return r !== 0n && r < 0n !== b < 0n ? r + b : r;
}

/** base^exp wrapped to 64 bits by square-and-multiply (int64 Pow), exp >= 0. */
function powBig(base: bigint, exp: bigint, unsigned: boolean): bigint {
  const wrap = (v: bigint): bigint => (unsigned ? BigInt.asUintN(64, v) : BigInt.asIntN(64, v));
  let result = 1n;
  let b = wrap(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = wrap(result * b);
    b = wrap(b * b);
    e >>= 1n;
  }
  return result;
}

/** Integer power with a negative exponent truncates toward zero: only |base| = 1 survives. */
function powBigSigned(a: bigint, e: bigint, unsigned: boolean): bigint {
  if (e >= 0n) return powBig(a, e, unsigned);
  if (a === 1n) return 1n;
  if (a === -1n) return e % 2n === 0n ? 1n : -1n;
  return 0n;
}

function makePow(_node: Node, a: DType, b: DType): BinaryFns {
  const bBig = isBigIntDtype(b);
  if (isBigIntDtype(a)) {
    const unsigned = a === 'uint64';
    if (FLOATS.includes(b)) {
      // int64 ^ float: computed in float, truncated back (numpy power(...).astype(int64)).
      const toBig = (x: number): bigint => (Number.isFinite(x) ? BigInt(Math.trunc(x)) : 0n);
      return { num: (x: bigint, y: number) => toBig(Number(x) ** y) };
    }
    return { num: (x: bigint, y: number | bigint) => powBigSigned(x, BigInt(y), unsigned) };
  }
  if (isWideFloat(a) && !bBig) return { num: (x: number, y: number) => x ** y, inner: powInner };
  if (FLOATS.includes(a)) {
    const f = bBig ? (x: number, y: bigint) => x ** Number(y) : (x: number, y: number) => x ** y;
    return { num: roundBinaryFor(a, f as (x: number, y: number) => number) };
  }
  // Integer base up to 32 bits: the float result is truncated toward zero when stored.
  return { num: bBig ? (x: number, y: bigint) => Math.trunc(x ** Number(y)) : (x: number, y: number) => Math.trunc(x ** y) };
}

function arith(
  floatF: (a: number, b: number) => number,
  intF: (a: number, b: number) => number,
  big: (a: bigint, b: bigint) => bigint,
  inner: BinaryInner | undefined,
  innerForInts: boolean,
): BinarySpec {
  return {
    types: NUMERIC,
    legacyBroadcast: true,
    make: (_node, a) => {
      if (isBigIntDtype(a)) return { num: big, big, inner: innerForInts ? inner : undefined };
      if (FLOATS.includes(a)) return { num: roundBinaryFor(a, floatF), inner: isWideFloat(a) ? inner : undefined };
      // 8..32-bit sums and differences are exact in float64 and wrap when stored.
      return { num: intF, inner: innerForInts ? inner : undefined };
    },
  };
}

const ARITHMETIC: Record<string, BinarySpec> = {
  Add: arith((a, b) => a + b, (a, b) => a + b, (a, b) => a + b, addInner, true),
  Sub: arith((a, b) => a - b, (a, b) => a - b, (a, b) => a - b, subInner, true),
  // 32-bit integer products can exceed 2^53: Math.imul keeps the exact low 32 bits.
  Mul: arith((a, b) => a * b, (a, b) => Math.imul(a, b), (a, b) => a * b, mulInner, false),
  // Integer division truncates toward zero; division by zero gives 0 instead of trapping.
  Div: arith((a, b) => a / b, (a, b) => (b === 0 ? 0 : Math.trunc(a / b)), (a, b) => (b === 0n ? 0n : a / b), divInner, false),
  Pow: { types: NUMERIC, typesB: NUMERIC, legacyBroadcast: true, make: makePow },
  Mod: {
    types: NUMERIC,
    make: (node, a) => {
      const fmod = attrInt(node, 'fmod', 0) !== 0;
      if (FLOATS.includes(a)) return { num: roundBinaryFor(a, fmod ? (x, y) => x % y : floorMod) };
      if (isBigIntDtype(a)) {
        const big = fmod ? (x: bigint, y: bigint) => (y === 0n ? 0n : x % y) : floorModBig;
        return { num: big, big };
      }
      return { num: fmod ? (x: number, y: number) => (y === 0 ? 0 : x % y) : (x: number, y: number) => (y === 0 ? 0 : floorMod(x, y)) };
    },
  },
  BitShift: {
    types: UNSIGNED_INTS,
    make: (node, a) => {
      const direction = attrString(node, 'direction', '');
      if (direction !== 'LEFT' && direction !== 'RIGHT') {
        throw new UnsupportedError(`${nodeLabel(node)}: direction must be 'LEFT' or 'RIGHT', got '${direction}'`);
      }
      if (isBigIntDtype(a)) {
        const big = direction === 'LEFT' ? (x: bigint, y: bigint) => (y >= 64n ? 0n : x << y) : (x: bigint, y: bigint) => (y >= 64n ? 0n : x >> y);
        return { num: big, big };
      }
      // JS shifts take the count mod 32; counts past the width shift everything out (numpy semantics).
      return {
        num: direction === 'LEFT' ? (x: number, y: number) => (y >= 32 ? 0 : x << y) : (x: number, y: number) => (y >= 32 ? 0 : x >>> y),
      };
    },
  },
  BitwiseAnd: { types: INTS, make: () => ({ num: (x: any, y: any) => x & y }) },
  BitwiseOr: { types: INTS, make: () => ({ num: (x: any, y: any) => x | y }) },
  BitwiseXor: { types: INTS, make: () => ({ num: (x: any, y: any) => x ^ y }) },
  // y = x < 0 ? slope * x : x, slope broadcast unidirectionally to x (handled in preparePRelu).
  PRelu: {
    types: NUMERIC,
    make: (_node, a) => {
      if (isBigIntDtype(a)) return { num: (x: bigint, s: bigint) => (x < 0n ? x * s : x) };
      return { num: roundBinaryFor(a, (x, s) => (x < 0 ? x * s : x)) };
    },
  },
};

/** The shape B is broadcast from under opset < 7 'broadcast'/'axis' (B's dims aligned at `axis` of A). */
function legacyBShape(ctx: PrepareContext, a: TensorType, b: TensorType): number[] {
  const broadcast = attrInt(ctx.node, 'broadcast', 0);
  if (broadcast === 0) {
    if (a.shape.join(',') !== b.shape.join(',')) {
      throw kernelError(ctx, `shapes [${a.shape.join(',')}] and [${b.shape.join(',')}] differ and broadcast=0 (opset ${ctx.opset})`);
    }
    return b.shape;
  }
  const rank = a.shape.length;
  let axis = attrInt(ctx.node, 'axis', rank - b.shape.length);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis + b.shape.length > rank) throw kernelError(ctx, `axis ${axis} does not fit B of rank ${b.shape.length} in A of rank ${rank}`);
  const shape = [...new Array<number>(axis).fill(1), ...b.shape, ...new Array<number>(rank - axis - b.shape.length).fill(1)];
  checkUnidirectional(ctx, shape, a.shape, 'B (legacy broadcast)');
  return shape;
}

/** The index of an input the output may overwrite: same dtype and same shape as the output, not repeated. */
export function inPlaceCandidate(ctx: PrepareContext, outDtype: DType, outShape: readonly number[], candidates: readonly number[]): number | undefined {
  for (const i of candidates) {
    const t = ctx.inputs[i];
    if (t === undefined || t.dtype !== outDtype || !sameShape(t.shape, outShape)) continue;
    const name = ctx.node.inputs[i];
    let reads = 0;
    for (const n of ctx.node.inputs) if (n === name) reads++;
    if (reads > 1) continue;
    return i;
  }
  return undefined;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function prepareBinary(ctx: PrepareContext, spec: BinarySpec, unidirectional = false): PreparedKernel {
  // A: any shape, B: broadcastable with A -> Y: broadcast shape
  const a = requireInput(ctx, 0);
  const b = requireInput(ctx, 1);
  checkDtype(ctx, a.dtype, spec.types, 'A');
  if (spec.typesB) checkDtype(ctx, b.dtype, spec.typesB, 'B');
  else if (b.dtype !== a.dtype) throw kernelError(ctx, `inputs have different dtypes ${a.dtype} and ${b.dtype}`);
  let bShape = b.shape;
  let outShape: number[];
  if (spec.legacyBroadcast && ctx.opset < 7) {
    bShape = legacyBShape(ctx, a, b);
    outShape = [...a.shape];
  } else if (unidirectional) {
    checkUnidirectional(ctx, b.shape, a.shape, 'slope');
    outShape = [...a.shape];
  } else {
    outShape = broadcastShapes(ctx, [a.shape, b.shape]);
  }
  const outDtype = spec.out ?? a.dtype;
  const plan = planBroadcast(outShape, [a.shape, bShape]);
  const act = readFusedActivation(ctx.node);
  if (act.kind !== 'none' && !FLOATS.includes(outDtype)) throw new UnsupportedError(`${nodeLabel(ctx.node)}: a fused activation needs a float output, got ${outDtype}`);
  const std = ctx.node.domain === '';
  const op = std ? WASM_BINARY[ctx.node.opType] : undefined;
  const problem: BinaryProblem = {
    spec, a, b, outDtype, outShape, plan, act, opName: ctx.node.opType.toLowerCase(),
    op, cmp: std && !(spec.legacyBroadcast && ctx.opset < 7) ? WASM_CMP[ctx.node.opType] : undefined,
    // The wasm kernel's calls, worked out once for its applies, name and prepare.
    call: op !== undefined && a.dtype === 'float32' && b.dtype === 'float32' ? bcastCall(plan.dims, plan.strides[0]!, plan.strides[1]!) : undefined,
  };
  return chooseVariant(BINARY_VARIANTS, problem, ctx);
}

/** One binary node, as the variants see it. */
interface BinaryProblem {
  spec: BinarySpec;
  a: TensorType;
  b: TensorType;
  outDtype: DType;
  outShape: number[];
  /** The collapsed broadcast (B's shape already aligned for legacy and unidirectional forms). */
  plan: BroadcastPlan;
  act: Activation;
  /** The op type in lower case, for variant names. */
  opName: string;
  /** The wasm kernel's op for float32 Add/Sub/Mul/Div/PRelu. */
  op: BcastOp | undefined;
  /** The wasm comparison for float32 Less/LessOrEqual/Greater/GreaterOrEqual/Equal. */
  cmp: CmpOp | undefined;
  /** The wasm broadcast kernel's calls for float32 `op` (undefined when it has none). */
  call: BcastCall | undefined;
}

const WASM_CMP: Record<string, CmpOp> = { Less: 'lt', LessOrEqual: 'le', Greater: 'gt', GreaterOrEqual: 'ge', Equal: 'eq' };

/** Float32 comparisons under any broadcast of at most four loop dims, bool out (compare.wasm.ts). */
function prepareCompareWasm(p: BinaryProblem, ctx: PrepareContext): PreparedKernel {
  const k = ctx.options.wasm!.use(COMPARE_MODULE)!.cmp[p.cmp!];
  const call = nestCall(p.plan.dims, p.plan.strides, [4, 4])!;
  const [d0, d1, d2, n] = call.dims;
  const [sa, sb] = call.strides as [[number, number, number, number], [number, number, number, number]];
  const wasm = ctx.options.wasm!;
  // A, B or Y outside wasm memory (a hand-made run): the JS broadcast, counted (a wasm variant claims no jsOk).
  const reference = { ...prepareBinaryJs(p, ctx), jsOk: undefined };
  const kernel = onWasmOrReference(reference, `wasm ${p.cmp} [${p.plan.dims.join('x')}]`, (inputs, outputs) => {
    const a = inputs[0] as Float32Array;
    const b = inputs[1] as Float32Array;
    const y = outputs[0] as Uint8Array;
    if (!viewsInWasm(wasm, a, b, y)) return false;
    k(a.byteOffset, b.byteOffset, y.byteOffset, d0, d1, d2, n, sa[0], sa[1], sa[2], sb[0], sb[1], sb[2], sa[3], sb[3]);
    return true;
  });
  return { ...kernel, inPlace: undefined };
}

const WASM_BINARY: Record<string, BcastOp> = { Add: 'add', Sub: 'sub', Mul: 'mul', Div: 'div', PRelu: 'prelu' };

/** The reference: the broadcast odometer with the op's JS inner loop (any dtype). */
function prepareBinaryJs(p: BinaryProblem, ctx: PrepareContext): PreparedKernel {
  const { spec, a, b, outDtype, outShape, plan, act } = p;
  const fns = spec.make(ctx.node, a.dtype, b.dtype);
  const inner = fns.inner ?? scalarInner(isBigIntDtype(a.dtype) && fns.big ? fns.big : fns.num);
  const full = (s: readonly number[]): boolean => s.length === outShape.length && s.every((d, i) => d === outShape[i]);
  const same = full(a.shape) && full(b.shape);
  return {
    outputs: [{ dtype: outDtype, shape: outShape }],
    detail: withActivation(same ? 'js elementwise' : 'js broadcast', act),
    inPlace: inPlaceCandidate(ctx, outDtype, outShape, [0, 1]),
    // Integer and bool arithmetic is index and mask bookkeeping; float ones are the hot path.
    jsOk: FLOATS.includes(outDtype) ? undefined : 'integer arithmetic',
    run(inputs, outputs) {
      const out = outputs[0]!;
      runBinaryPlan(plan, inputs[0], inputs[1], out, inner);
      if (act.kind !== 'none') activateOutput(act, outDtype, out as FloatArray, ctx.options.wasm);
    },
  };
}

/** float32 under any broadcast of at most four collapsed loop dims, on wasm SIMD (binary.wasm.ts). */
function prepareBinaryWasm(p: BinaryProblem, ctx: PrepareContext): PreparedKernel {
  const wasm = ctx.options.wasm!;
  const kernel = wasm.use(BCAST_MODULE)![p.op!];
  const call = p.call!;
  const { outDtype, outShape, act } = p;
  // A, B or Y outside wasm memory (a hand-made run): the JS broadcast and activation, counted.
  const prepared = onWasmOrReference(prepareBinaryJs(p, ctx), withActivation(`wasm ${p.op} ${bcastPattern(call)} [${p.plan.dims.join('x')}]`, act), (inputs, outputs) => {
    const a = inputs[0] as Float32Array;
    const b = inputs[1] as Float32Array;
    const out = outputs[0] as Float32Array;
    if (!viewsInWasm(wasm, a, b, out)) return false;
    runBcast(kernel, call, a.byteOffset, b.byteOffset, out.byteOffset, wasm);
    if (act.kind !== 'none') activateInPlace(act, out, 0, out.length, wasm);
    return true;
  });
  return { ...prepared, inPlace: inPlaceCandidate(ctx, outDtype, outShape, [0, 1]), jsOk: undefined };
}

function wasmApplies(p: BinaryProblem, caps: Capabilities): boolean {
  return (
    caps.wasm !== undefined && p.call !== undefined && caps.wasm.use(BCAST_MODULE) !== undefined
  );
}

const dtypeTag = (d: DType): string => (d === 'float32' ? 'f32' : d === 'float16' ? 'f16' : d);

/** The binary family's variants, reference first (see chooseVariant). */
const BINARY_VARIANTS: readonly VariantDef<BinaryProblem>[] = [
  {
    name: (p) => `${dtypeTag(p.a.dtype)}_${p.opName}__js`,
    applies: () => true,
    placement: 'any',
    prepare: prepareBinaryJs,
  },
  {
    name: (p) => `f32_${p.op}_${bcastPattern(p.call!)}__wasmsimd`,
    applies: wasmApplies,
    placement: 'wasm',
    prepare: prepareBinaryWasm,
  },
  {
    name: (p) => `f32_${p.cmp}_cmp__wasm`,
    applies: (p, caps) =>
      caps.wasm !== undefined && p.cmp !== undefined && p.a.dtype === 'float32' && p.b.dtype === 'float32' && p.act.kind === 'none' &&
      nestCall(p.plan.dims, p.plan.strides, [4, 4]) !== undefined && caps.wasm.use(COMPARE_MODULE) !== undefined,
    placement: 'wasm',
    prepare: prepareCompareWasm,
  },
];

/** The fused activation over the whole output (on wasm SIMD when it can), rounded for narrow floats. */
function activateOutput(act: Activation, dtype: DType, out: FloatArray, wasm: WasmContext | undefined): void {
  activateInPlace(act, out, 0, out.length, wasm);
  if (isNarrowFloat(dtype)) for (let i = 0; i < out.length; i++) out[i] = roundToNarrowFloat(dtype, out[i]!);
}

export function binaryKernels(table: Record<string, BinarySpec>): KernelDef[] {
  return Object.entries(table).map(([opType, spec]) => ({
    opType,
    prepare: (ctx: PrepareContext) => prepareBinary(ctx, spec, opType === 'PRelu'),
  }));
}

export const arithmeticKernels: KernelDef[] = binaryKernels(ARITHMETIC);
