import { sizeOf, type Data } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat } from '../../graph/attributes.js';
import { requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import type { Int8Like } from './igemm.js';
import { applyLookupTable, buildLookupTable, scalarOf } from './lookup-table.js';
import { integerRange } from './rounding.js';

/**
 * com.microsoft QLinear unary ops: y = quantize(f(dequantize(x))), all scales / zero points per tensor.
 * Inputs: X, X_scale, X_zero_point (optional), Y_scale, Y_zero_point (optional). Evaluated through a
 * 256-entry table, built at prepare when the parameters are constants, else at the start of each run.
 */
function prepareQLinearUnary(ctx: PrepareContext, fn: (x: number) => number): PreparedKernel {
  const x = requireInput(ctx, 0);
  if (x.dtype !== 'uint8' && x.dtype !== 'int8') {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: X must be uint8 or int8, got ${x.dtype}`);
  }
  for (const i of [1, 2, 3, 4]) {
    const t = ctx.inputs[i];
    if (t !== undefined && sizeOf(t.shape) !== 1) {
      throw new UnsupportedError(`${nodeLabel(ctx.node)}: input ${i} must be a scalar (per-tensor quantization)`);
    }
  }
  const [lo, hi] = integerRange(x.dtype)!;
  const signed = x.dtype === 'int8';
  const table = new Int32Array(256);
  const build = (params: readonly (Data | undefined)[]) =>
    buildLookupTable(table, signed, scalarOf(params[1]), scalarOf(params[2]), scalarOf(params[3]), scalarOf(params[4]), lo, hi, fn);
  const paramsConstant = [1, 2, 3, 4].every((i) => ctx.inputs[i] === undefined || ctx.constants[i] !== undefined);
  if (paramsConstant) build(ctx.constants.map((c) => c?.data));
  const n = sizeOf(x.shape);
  return {
    outputs: [{ dtype: x.dtype, shape: [...x.shape] }],
    inPlace: 0,
    run(inputs, outputs) {
      if (!paramsConstant) build(inputs);
      applyLookupTable(table, inputs[0] as Int8Like, 0, outputs[0] as Int8Like, 0, n);
    },
  };
}

// X [...] -> Y [...]: Y = quantize(1 / (1 + e^-x))
function prepareQLinearSigmoid(ctx: PrepareContext): PreparedKernel {
  return prepareQLinearUnary(ctx, (v) => 1 / (1 + Math.exp(-v)));
}

// X [...] -> Y [...]: Y = quantize(x >= 0 ? x : alpha·x), alpha default 0.01
function prepareQLinearLeakyRelu(ctx: PrepareContext): PreparedKernel {
  const alpha = Math.fround(attrFloat(ctx.node, 'alpha', 0.01));
  return prepareQLinearUnary(ctx, (v) => (v >= 0 ? v : Math.fround(alpha * v)));
}

export const qlinearUnaryKernels: KernelDef[] = [
  { opType: 'QLinearSigmoid', domain: 'com.microsoft', prepare: prepareQLinearSigmoid },
  { opType: 'QLinearLeakyRelu', domain: 'com.microsoft', prepare: prepareQLinearLeakyRelu },
];
