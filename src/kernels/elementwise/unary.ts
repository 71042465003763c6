/**
 * Unary elementwise ops as one table: op name -> allowed dtypes + scalar function (built from the
 * node's attributes). One generic kernel runs them all: y[i] = f(x[i]).
 */
import type { DType, TensorType } from '../../dtype.js';
import type { Node } from '../../loader/model.js';
import { attrInt } from '../../graph/attributes.js';
import {
  chooseVariant, onWasmOrReference, requireInput, viewsInWasm, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef,
} from '../kernel.js';
import { BOOL, FLOATS, INTS, NUMERIC, SIGNED_NUMERIC, checkDtype, isBigIntDtype, roundUnaryFor } from './dtypes.js';
import { erf } from './math.js';
import type { WasmContext } from '../../wasm/context.js';
import { MATH_KERNELS, type UnaryMathOp } from '../../wasm/math-kernels.js';

export interface ScalarFns {
  /** For number storage (floats, ints up to 32 bits, bool). */
  num: (x: number) => number;
  /** For int64/uint64 storage; when absent, int64 goes through Number (exact below 2^53). */
  big?: (x: bigint) => bigint;
}

export interface UnarySpec {
  types: readonly DType[];
  /** Output dtype when it is not the input's (IsNaN -> bool). */
  out?: DType;
  make: (node: Node) => ScalarFns;
  /**
   * A hand-written loop for float32/float64 storage computing exactly what `make(node).num` computes,
   * for hot activations: it avoids one indirect call per element.
   */
  floatLoop?: (node: Node, wasm?: WasmContext) => FloatLoop;
  /**
   * The float32 wasm SIMD kernel for this node, on byte offsets (x, y, n), when the op has one: the family's wasm
   * variant runs it on the arena (placement 'wasm').
   */
  wasm?: (node: Node, wasm: WasmContext) => WasmUnaryRun | undefined;
}

/**
 * y[0, n) = op(x[0, n)) on byte offsets of wasm memory: the wasm export `fn` called as fn(x, y, n, ...extra) (an
 * export, not a closure, so the element range can be split over threads).
 */
export interface WasmUnaryRun {
  readonly fn: (...args: number[]) => unknown;
  readonly extra: readonly number[];
}

/** A wasm export (undefined when the family did not load) with its trailing arguments. */
export function unaryRun(fn: ((...args: number[]) => unknown) | undefined, ...extra: number[]): WasmUnaryRun | undefined {
  return fn === undefined ? undefined : { fn, extra };
}

/** A spec's wasm kernel from the math family (exp, sigmoid, tanh, erf, gelu…). */
export function mathKernel(op: UnaryMathOp): (node: Node, wasm: WasmContext) => WasmUnaryRun | undefined {
  return (_node, wasm) => unaryRun(wasm.use(MATH_KERNELS)?.unary[op]);
}

export type FloatLoop = (x: Float32Array | Float64Array, y: Float32Array | Float64Array) => void;

/** A spec whose functions do not depend on attributes. */
export function plain(types: readonly DType[], num: (x: number) => number, big?: (x: bigint) => bigint): UnarySpec {
  return { types, make: () => ({ num, big }) };
}

/** Round half to even (ONNX Round, numpy.round). */
export function roundHalfEven(x: number): number {
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x);
}

const MATH_OPS: Record<string, UnarySpec> = {
  Abs: plain(NUMERIC, Math.abs, (x) => (x < 0n ? -x : x)),
  Neg: plain(SIGNED_NUMERIC, (x) => -x, (x) => -x),
  Sign: plain(NUMERIC, (x) => (x > 0 ? 1 : x < 0 ? -1 : x), (x) => (x > 0n ? 1n : x < 0n ? -1n : 0n)),
  Reciprocal: plain(FLOATS, (x) => 1 / x),
  Floor: plain(FLOATS, Math.floor),
  Ceil: plain(FLOATS, Math.ceil),
  Round: plain(FLOATS, roundHalfEven),
  Sqrt: plain(FLOATS, Math.sqrt),
  Exp: {
    ...plain(FLOATS, Math.exp),
    floatLoop: () => (x, y) => {
      for (let i = 0; i < x.length; i++) y[i] = Math.exp(x[i]);
    },
    wasm: mathKernel('exp'),
  },
  Log: plain(FLOATS, Math.log),
  Erf: {
    ...plain(FLOATS, erf),
    floatLoop: () => (x, y) => {
      for (let i = 0; i < x.length; i++) y[i] = erf(x[i]);
    },
    wasm: mathKernel('erf'),
  },
  Sin: plain(FLOATS, Math.sin),
  Cos: plain(FLOATS, Math.cos),
  Tan: plain(FLOATS, Math.tan),
  Asin: plain(FLOATS, Math.asin),
  Acos: plain(FLOATS, Math.acos),
  Atan: plain(FLOATS, Math.atan),
  Sinh: plain(FLOATS, Math.sinh),
  Cosh: plain(FLOATS, Math.cosh),
  Asinh: plain(FLOATS, Math.asinh),
  Acosh: plain(FLOATS, Math.acosh),
  Atanh: plain(FLOATS, Math.atanh),
  Not: plain(BOOL, (x) => (x ? 0 : 1)),
  BitwiseNot: plain(INTS, (x) => ~x, (x) => ~x),
  IsNaN: { types: FLOATS, out: 'bool', make: () => ({ num: (x) => (x !== x ? 1 : 0) }) },
  IsInf: {
    types: FLOATS,
    out: 'bool',
    make: (node) => {
      const pos = attrInt(node, 'detect_positive', 1) !== 0;
      const neg = attrInt(node, 'detect_negative', 1) !== 0;
      return { num: (x) => ((pos && x === Infinity) || (neg && x === -Infinity) ? 1 : 0) };
    },
  },
};

interface UnaryProblem {
  opType: string;
  spec: UnarySpec;
  x: TensorType;
  outDtype: DType;
}

const tag = (d: DType): string => (d === 'float32' ? 'f32' : d === 'float16' ? 'f16' : d === 'float64' ? 'f64' : d);

/** The reference: one scalar function per element (hand-written loops for hot float activations). */
function prepareUnaryJs(p: UnaryProblem, ctx: PrepareContext): PreparedKernel {
  const { spec, x, outDtype } = p;
  const fns = spec.make(ctx.node);
  const outputs = [{ dtype: outDtype, shape: [...x.shape] }];
  const inPlace = outDtype === x.dtype ? 0 : undefined;
  const jsOk = FLOATS.includes(x.dtype) ? undefined : 'integer or bool values';
  if (isBigIntDtype(x.dtype)) {
    const big = fns.big ?? ((v: bigint) => BigInt(Math.trunc(fns.num(Number(v)))));
    return {
      outputs,
      inPlace,
      jsOk,
      run(inputs, outs) {
        const xs = inputs[0] as BigInt64Array;
        const ys = outs[0] as BigInt64Array;
        for (let i = 0; i < xs.length; i++) ys[i] = big(xs[i]);
      },
    };
  }
  if (spec.floatLoop && (x.dtype === 'float32' || x.dtype === 'float64') && outDtype === x.dtype) {
    const loop = spec.floatLoop(ctx.node);
    return { outputs, inPlace, jsOk, run: (inputs, outs) => loop(inputs[0] as Float32Array, outs[0] as Float32Array) };
  }
  const f = roundUnaryFor(outDtype, fns.num);
  return {
    outputs,
    inPlace,
    jsOk,
    run(inputs, outs) {
      const xs = inputs[0] as Float32Array;
      const ys = outs[0] as Float32Array;
      for (let i = 0; i < xs.length; i++) ys[i] = f(xs[i]);
    },
  };
}

function prepareUnaryWasm(p: UnaryProblem, ctx: PrepareContext): PreparedKernel {
  const wasm = ctx.options.wasm!;
  const k = p.spec.wasm!(ctx.node, wasm)!;
  // X or Y outside wasm memory (a hand-made run): the JS loop, counted.
  const kernel = onWasmOrReference(prepareUnaryJs(p, ctx), `wasm ${p.opType.toLowerCase()}`, (inputs, outs) => {
    const x = inputs[0] as Float32Array;
    const y = outs[0] as Float32Array;
    if (!viewsInWasm(wasm, x, y)) return false;
    wasm.invokeRange(k.fn, [x.byteOffset, y.byteOffset, y.length, ...k.extra], y.length, [0, 1], 2);
    return true;
  });
  return { ...kernel, inPlace: 0, jsOk: undefined };
}

const UNARY_VARIANTS: readonly VariantDef<UnaryProblem>[] = [
  { name: (p) => `${tag(p.x.dtype)}_${p.opType.toLowerCase()}__js`, applies: () => true, placement: 'any', prepare: prepareUnaryJs },
  {
    name: (p) => `f32_${p.opType.toLowerCase()}__wasmsimd`,
    applies: (p, caps) => caps.wasm !== undefined && p.x.dtype === 'float32' && p.outDtype === 'float32' && p.spec.wasm !== undefined,
    placement: 'wasm',
    prepare: prepareUnaryWasm,
  },
];

/** x[i] -> y[i] with one scalar function; y may alias x (inPlace) since each element is read before written. */
export function unaryKernel(opType: string, spec: UnarySpec): KernelDef {
  return {
    opType,
    prepare(ctx) {
      // x: any shape -> y: same shape
      const x = requireInput(ctx, 0);
      checkDtype(ctx, x.dtype, spec.types);
      const outDtype = spec.out ?? x.dtype;
      // A wasm kernel that the engine refused to compile leaves the JS variant (the profile says so).
      const problem: UnaryProblem = { opType, spec, x, outDtype };
      if (spec.wasm !== undefined && ctx.options.wasm !== undefined && spec.wasm(ctx.node, ctx.options.wasm) === undefined) {
        problem.spec = { ...spec, wasm: undefined };
      }
      return chooseVariant(UNARY_VARIANTS, problem, ctx);
    },
  };
}

export function unaryKernels(table: Record<string, UnarySpec>): KernelDef[] {
  return Object.entries(table).map(([op, spec]) => unaryKernel(op, spec));
}

export const mathKernels: KernelDef[] = unaryKernels(MATH_OPS);
