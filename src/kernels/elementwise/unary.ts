/**
 * Unary elementwise ops as one table: op name -> allowed dtypes + scalar function (built from the
 * node's attributes). One generic kernel runs them all: y[i] = f(x[i]).
 */
import type { DType } from '../../dtype.js';
import type { Node } from '../../loader/model.js';
import { attrInt } from '../../graph/attributes.js';
import { requireInput, type KernelDef } from '../kernel.js';
import { BOOL, FLOATS, INTS, NUMERIC, SIGNED_NUMERIC, checkDtype, isBigIntDtype, roundUnaryFor } from './dtypes.js';
import { erf } from './math.js';
import type { WasmContext } from '../../wasm/context.js';
import { MATH_KERNELS, wasmUnaryMath, type UnaryMathOp } from '../../wasm/math-kernels.js';

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
}

export type FloatLoop = (x: Float32Array | Float64Array, y: Float32Array | Float64Array) => void;

/**
 * `js`, or the wasm SIMD kernel `op` when the wasm backend is active and both views are float32 views of its
 * memory (the arena); the kernel's accuracy is stated in src/wasm/math-kernels.ts (relative error ~1e-7).
 */
export function withWasmMath(op: UnaryMathOp, wasm: WasmContext | undefined, js: FloatLoop): FloatLoop {
  const k = wasm?.use(MATH_KERNELS);
  if (wasm === undefined || k === undefined) return js;
  return (x, y) => {
    if (x instanceof Float32Array && y instanceof Float32Array && wasmUnaryMath(wasm, k, op, x, y)) return;
    js(x, y);
  };
}

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
  },
  Log: plain(FLOATS, Math.log),
  Erf: {
    ...plain(FLOATS, erf),
    floatLoop: (_node, wasm) => withWasmMath('erf', wasm, (x, y) => {
      for (let i = 0; i < x.length; i++) y[i] = erf(x[i]);
    }),
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

/** x[i] -> y[i] with one scalar function; y may alias x (inPlace) since each element is read before written. */
export function unaryKernel(opType: string, spec: UnarySpec): KernelDef {
  return {
    opType,
    prepare(ctx) {
      // x: any shape -> y: same shape
      const x = requireInput(ctx, 0);
      checkDtype(ctx, x.dtype, spec.types);
      const outDtype = spec.out ?? x.dtype;
      const fns = spec.make(ctx.node);
      const outputs = [{ dtype: outDtype, shape: [...x.shape] }];
      const inPlace = outDtype === x.dtype ? 0 : undefined;
      if (isBigIntDtype(x.dtype)) {
        const big = fns.big ?? ((v: bigint) => BigInt(Math.trunc(fns.num(Number(v)))));
        return {
          outputs,
          inPlace,
          run(inputs, outs) {
            const xs = inputs[0] as BigInt64Array;
            const ys = outs[0] as BigInt64Array;
            for (let i = 0; i < xs.length; i++) ys[i] = big(xs[i]);
          },
        };
      }
      if (spec.floatLoop && (x.dtype === 'float32' || x.dtype === 'float64') && outDtype === x.dtype) {
        const loop = spec.floatLoop(ctx.node, ctx.options.wasm);
        return { outputs, inPlace, run: (inputs, outs) => loop(inputs[0] as Float32Array, outs[0] as Float32Array) };
      }
      const f = roundUnaryFor(outDtype, fns.num);
      return {
        outputs,
        inPlace,
        run(inputs, outs) {
          const xs = inputs[0] as Float32Array;
          const ys = outs[0] as Float32Array;
          for (let i = 0; i < xs.length; i++) ys[i] = f(xs[i]);
        },
      };
    },
  };
}

export function unaryKernels(table: Record<string, UnarySpec>): KernelDef[] {
  return Object.entries(table).map(([op, spec]) => unaryKernel(op, spec));
}

export const mathKernels: KernelDef[] = unaryKernels(MATH_OPS);
