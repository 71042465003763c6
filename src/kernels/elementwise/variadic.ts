/**
 * Max, Min, Sum, Mean: 1..N inputs broadcast together (numpy rules since opset 8). The output is
 * folded left: y = f(x0, x1), then y = f(y, xk) for k >= 2, each step with its own precomputed plan.
 */
import type { DType } from '../../dtype.js';
import {
  chooseVariant, kernelError, onWasmOrReference, requireInput, viewsInWasm, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef,
} from '../kernel.js';
import { BCAST_MODULE, bcastCall, runBcast, type BcastOp } from './binary.wasm.js';
import { broadcastShapes, planBroadcast, runBinaryPlan, type BinaryInner, type BroadcastPlan } from './broadcast.js';
import { addInner, inPlaceCandidate, scalarInner } from './binary.js';
import { FLOATS, NUMERIC, checkDtype } from './dtypes.js';
import { isNarrowFloat, roundToNarrowFloat } from '../../loader/float16.js';

/** NaN propagates (numpy maximum/minimum); written with >= so it also serves BigInts. */
const max = (a: any, b: any): any => (a >= b || a !== a ? a : b);
const min = (a: any, b: any): any => (a <= b || a !== a ? a : b);
const add = (a: any, b: any): any => a + b;

// Hand-written inner loops (see BinaryInner) for float32/float64, same results as max/min above.
const maxInner: BinaryInner = (out, o, a, ia, sa, b, ib, sb, n) => {
  for (let i = 0; i < n; i++) {
    const x = a[ia + i * sa];
    const y = b[ib + i * sb];
    out[o + i] = x >= y || x !== x ? x : y;
  }
};

const minInner: BinaryInner = (out, o, a, ia, sa, b, ib, sb, n) => {
  for (let i = 0; i < n; i++) {
    const x = a[ia + i * sa];
    const y = b[ib + i * sb];
    out[o + i] = x <= y || x !== x ? x : y;
  }
};

interface VariadicSpec {
  /** The wasm broadcast kernel that folds two float32 operands. */
  wasmOp: BcastOp;
  types: readonly DType[];
  f: (a: any, b: any) => any;
  inner: BinaryInner;
  /** Divide by the input count at the end (Mean). */
  mean?: boolean;
}

const VARIADIC: Record<string, VariadicSpec> = {
  Max: { wasmOp: 'max', types: NUMERIC, f: max, inner: maxInner },
  Min: { wasmOp: 'min', types: NUMERIC, f: min, inner: minInner },
  Sum: { wasmOp: 'add', types: FLOATS, f: add, inner: addInner },
  Mean: { wasmOp: 'add', types: FLOATS, f: add, inner: addInner, mean: true },
};

function prepareVariadic(ctx: PrepareContext, spec: VariadicSpec): PreparedKernel {
  // x0..x{N-1}: mutually broadcastable -> y: broadcast shape
  const n = ctx.inputs.length;
  if (n === 0) throw kernelError(ctx, 'needs at least one input');
  const types = ctx.inputs.map((_, i) => requireInput(ctx, i));
  const dtype = types[0].dtype;
  checkDtype(ctx, dtype, spec.types);
  for (const t of types) if (t.dtype !== dtype) throw kernelError(ctx, `inputs have different dtypes ${dtype} and ${t.dtype}`);
  const outShape = broadcastShapes(ctx, types.map((t) => t.shape));
  // A one-input fold is a copy: f(x, x) for Max/Min, and Sum/Mean copy through x + 0 below.
  const plans: BroadcastPlan[] =
    n === 1
      ? [planBroadcast(outShape, [types[0].shape, types[0].shape])]
      : types.slice(1).map((t, k) => planBroadcast(outShape, [k === 0 ? types[0].shape : outShape, t.shape]));
  const problem: VariadicProblem = { spec, n, dtype, outShape, plans, opName: ctx.node.opType.toLowerCase() };
  return chooseVariant(VARIADIC_VARIANTS, problem, ctx);
}

interface VariadicProblem {
  spec: VariadicSpec;
  /** Number of inputs. */
  n: number;
  dtype: DType;
  outShape: number[];
  /** One plan per fold step: (x0, x1), then (y, xk). */
  plans: BroadcastPlan[];
  opName: string;
}

function prepareVariadicJs(p: VariadicProblem, ctx: PrepareContext): PreparedKernel {
  const { spec, n, dtype, outShape, plans } = p;
  const narrow = isNarrowFloat(dtype);
  const f = narrow ? (a: number, b: number) => roundToNarrowFloat(dtype, spec.f(a, b)) : spec.f;
  const rest = dtype === 'float32' || dtype === 'float64' ? spec.inner : scalarInner(f);
  const first: BinaryInner = n === 1 && spec.f === add ? scalarInner((a) => a) : rest;
  const divide = spec.mean ? (narrow ? (v: number) => roundToNarrowFloat(dtype, v / n) : (v: number) => v / n) : undefined;
  return {
    outputs: [{ dtype, shape: outShape }],
    // Only x0 or x1 may be overwritten: the first fold step already destroys the output buffer's contents.
    inPlace: inPlaceCandidate(ctx, dtype, outShape, n > 1 ? [0, 1] : [0]),
    run(inputs, outputs) {
      const y = outputs[0];
      runBinaryPlan(plans[0], inputs[0], n === 1 ? inputs[0] : inputs[1], y, first);
      for (let k = 2; k < n; k++) runBinaryPlan(plans[k - 1], y, inputs[k], y, rest);
      if (divide && n > 1) {
        const ys = y as Float32Array;
        for (let i = 0; i < ys.length; i++) ys[i] = divide(ys[i]);
      }
    },
  };
}

/** float32 with two or more inputs: each fold step is one wasm broadcast call (binary.wasm.ts). */
function prepareVariadicWasm(p: VariadicProblem, ctx: PrepareContext): PreparedKernel {
  const { spec, n, dtype, outShape, plans } = p;
  const wasm = ctx.options.wasm!;
  const fold = wasm.use(BCAST_MODULE)![spec.wasmOp];
  const calls = plans.map((plan) => bcastCall(plan.dims, plan.strides[0]!, plan.strides[1]!)!);
  const div = wasm.use(BCAST_MODULE)!.div;
  // An input, Y or Mean's divisor outside wasm memory (a hand-made run): the JS fold, counted.
  const kernel = onWasmOrReference(prepareVariadicJs(p, ctx), `wasm ${spec.wasmOp} fold of ${n} inputs${spec.mean ? ', / n' : ''}`, (inputs, outputs, scratch) => {
    const y = outputs[0] as Float32Array;
    const d = spec.mean ? (scratch[0] as Float32Array) : undefined;
    if (!viewsInWasm(wasm, y, d)) return false;
    const memory = wasm.memory.buffer;
    for (let i = 0; i < n; i++) if ((inputs[i] as Float32Array).buffer !== memory) return false;
    const at = (i: number): number => (inputs[i] as Float32Array).byteOffset;
    runBcast(fold, calls[0]!, at(0), at(1), y.byteOffset, wasm);
    for (let k = 2; k < n; k++) runBcast(fold, calls[k - 1]!, y.byteOffset, at(k), y.byteOffset, wasm);
    if (d !== undefined) {
      // Σ / n as the JS path computes it: an f32 division per element (f32 / f32 rounds as JS's double division
      // rounded to f32 does), not a product by 1/n.
      d[0] = n;
      div(y.byteOffset, d.byteOffset, y.byteOffset, 1, 1, 1, y.length, 0, 0, 0, 0, 0, 0, 1);
    }
    return true;
  });
  return {
    ...kernel,
    inPlace: inPlaceCandidate(ctx, dtype, outShape, [0, 1]),
    // Mean: the divisor n, one float in the step's scratch, read as a broadcast scalar.
    scratch: spec.mean ? [{ dtype: 'float32', length: 1 }] : [],
    jsOk: undefined,
  };
}

const VARIADIC_VARIANTS: readonly VariantDef<VariadicProblem>[] = [
  { name: (p) => `${p.dtype === 'float32' ? 'f32' : p.dtype}_${p.opName}__js`, applies: () => true, placement: 'any', prepare: prepareVariadicJs },
  {
    name: (p) => `f32_${p.opName}${p.n > 2 ? p.n : ''}_bcast__wasmsimd`,
    applies: (p, caps) =>
      caps.wasm !== undefined && p.dtype === 'float32' && p.n >= 2 && caps.wasm.use(BCAST_MODULE) !== undefined &&
      p.plans.every((plan) => bcastCall(plan.dims, plan.strides[0]!, plan.strides[1]!) !== undefined),
    placement: 'wasm',
    prepare: prepareVariadicWasm,
  },
];

export const variadicKernels: KernelDef[] = Object.entries(VARIADIC).map(([opType, spec]) => ({
  opType,
  prepare: (ctx: PrepareContext) => prepareVariadic(ctx, spec),
}));

