/** Where(condition, X, Y): three-way numpy broadcast, picks X where condition is true, else Y. */
import { kernelError, requireInput, type KernelDef } from '../kernel.js';
import { broadcastShapes, planBroadcast, runTernaryPlan, type TernaryInner } from './broadcast.js';
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
    return {
      outputs: [{ dtype: x.dtype, shape: outShape }],
      inPlace: inPlaceCandidate(ctx, x.dtype, outShape, [1, 2]),
      run(inputs, outputs) {
        runTernaryPlan(plan, inputs[0], inputs[1], inputs[2], outputs[0], pick);
      },
    };
  },
};
