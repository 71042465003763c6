/** Where(condition, X, Y): three-way numpy broadcast, picks X where condition is true, else Y. */
import type { DType } from '../../dtype.js';
import {
  chooseVariant, kernelError, onWasmOrReference, requireInput, viewsInWasm, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef,
} from '../kernel.js';
import { broadcastShapes, planBroadcast, runTernaryPlan, type BroadcastPlan, type TernaryInner } from './broadcast.js';
import { COMPARE_MODULE, nestCall } from './compare.wasm.js';
import { inPlaceCandidate } from './binary.js';

// A pure element copy: works for every storage (numbers, BigInts, strings).
const pick: TernaryInner = (out, o, c, ic, sc, a, ia, sa, b, ib, sb, n) => {
  for (let i = 0; i < n; i++) out[o + i] = c[ic + i * sc] ? a[ia + i * sa] : b[ib + i * sb];
};

export const whereKernel: KernelDef = {
  opType: 'Where',
  prepare(ctx) {
    // condition, X, Y: mutually broadcastable -> output: broadcast shape, X's dtype
    const cond = requireInput(ctx, 0);
    const x = requireInput(ctx, 1);
    const y = requireInput(ctx, 2);
    if (cond.dtype !== 'bool') throw kernelError(ctx, `condition must be bool, got ${cond.dtype}`);
    if (x.dtype !== y.dtype) throw kernelError(ctx, `X and Y have different dtypes ${x.dtype} and ${y.dtype}`);
    const outShape = broadcastShapes(ctx, [cond.shape, x.shape, y.shape]);
    const plan = planBroadcast(outShape, [cond.shape, x.shape, y.shape]);
    return chooseVariant(WHERE_VARIANTS, { dtype: x.dtype, outShape, plan }, ctx);
  },
};

interface WhereProblem {
  dtype: DType;
  outShape: number[];
  plan: BroadcastPlan;
}

/** The element-copy broadcast: every dtype, any memory (the family's reference). */
function prepareWhereJs(p: WhereProblem, ctx: PrepareContext): PreparedKernel {
  return {
    outputs: [{ dtype: p.dtype, shape: p.outShape }],
    inPlace: inPlaceCandidate(ctx, p.dtype, p.outShape, [1, 2]),
    run(inputs, outputs) {
      runTernaryPlan(p.plan, inputs[0], inputs[1], inputs[2], outputs[0], pick);
    },
  };
}

/** float32 on the compare module's where kernel (up to three broadcast levels of the nest). */
function prepareWhereWasm(p: WhereProblem, ctx: PrepareContext): PreparedKernel {
  const wasm = ctx.options.wasm!;
  const k = wasm.use(COMPARE_MODULE)!.where;
  const call = nestCall(p.plan.dims, p.plan.strides, [1, 4, 4])!;
  const [d0, d1, d2, n] = call.dims;
  const [sc, sa, sb] = call.strides as [number, number, number, number][];
  // Condition, X, Y or the output outside wasm memory (a hand-made run): the JS pick, counted.
  const kernel = onWasmOrReference(prepareWhereJs(p, ctx), `wasm where [${p.plan.dims.join('x')}]`, (inputs, outputs) => {
    const c = inputs[0] as Uint8Array;
    const a = inputs[1] as Float32Array;
    const b = inputs[2] as Float32Array;
    const y = outputs[0] as Float32Array;
    if (!viewsInWasm(wasm, c, a, b, y)) return false;
    k(c.byteOffset, a.byteOffset, b.byteOffset, y.byteOffset, d0, d1, d2, n,
      sc![0], sc![1], sc![2], sa![0], sa![1], sa![2], sb![0], sb![1], sb![2], sc![3], sa![3], sb![3]);
    return true;
  });
  return { ...kernel, inPlace: inPlaceCandidate(ctx, p.dtype, p.outShape, [1, 2]), jsOk: undefined };
}

const WHERE_VARIANTS: readonly VariantDef<WhereProblem>[] = [
  { name: (p) => `${p.dtype === 'float32' ? 'f32' : p.dtype}_where__js`, applies: () => true, placement: 'any', prepare: prepareWhereJs },
  {
    name: 'f32_where__wasm',
    applies: (p, caps) => caps.wasm !== undefined && p.dtype === 'float32' && nestCall(p.plan.dims, p.plan.strides, [1, 4, 4]) !== undefined && caps.wasm.use(COMPARE_MODULE) !== undefined,
    placement: 'wasm',
    prepare: prepareWhereWasm,
  },
];
