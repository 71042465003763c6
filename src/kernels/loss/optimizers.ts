import type { NumericArray, TensorType } from '../../dtype.js';
import { attrFloat, attrString } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { requireFloat } from '../reduce/common.js';

/** The training-preview domain of the optimizer ops (ONNX ai.onnx.preview.training, version 1). */
const TRAINING = 'ai.onnx.preview.training';

/**
 * Shared shape of the optimizers: inputs R () learning rate, T () int64 step count, then `groups` lists of n
 * tensors each (X..., G..., state...) with matching shapes; outputs are the updated X... then each state list.
 * Each element is updated independently by `step`, which gets (r, t, values at one index) and writes outputs.
 */
interface OptimizerPlan {
  n: number;
  sizes: number[];
}

function planOptimizer(ctx: PrepareContext, groups: number, what: string): { plan: OptimizerPlan; outputs: TensorType[] } {
  const count = ctx.inputs.length - 2;
  if (count <= 0 || count % groups !== 0) throw kernelError(ctx, `expected R, T and ${groups} lists of tensors (${what}), got ${ctx.inputs.length} inputs`);
  const n = count / groups;
  requireFloat(ctx, requireInput(ctx, 0).dtype, 'R');
  const t = requireInput(ctx, 1);
  if (t.dtype !== 'int64') throw kernelError(ctx, `T must be int64, got ${t.dtype}`);
  const sizes: number[] = [];
  const outputs: TensorType[] = [];
  for (let i = 0; i < n; i++) {
    const x = requireInput(ctx, 2 + i);
    requireFloat(ctx, x.dtype, 'X');
    for (let g = 1; g < groups; g++) {
      const other = requireInput(ctx, 2 + g * n + i);
      if (other.dtype !== x.dtype || other.shape.join(',') !== x.shape.join(',')) {
        throw kernelError(ctx, `input ${2 + g * n + i} (${other.dtype} [${other.shape}]) must match X${i + 1} (${x.dtype} [${x.shape}])`);
      }
    }
    sizes.push(x.shape.reduce((a, b) => a * b, 1));
  }
  // Outputs: X_new..., then one list per state group (every group after X and G).
  for (let g = 0; g < groups - 1; g++) {
    for (let i = 0; i < n; i++) {
      const x = ctx.inputs[2 + i]!;
      outputs.push({ dtype: x.dtype, shape: [...x.shape] });
    }
  }
  return { plan: { n, sizes }, outputs };
}

/** Per-element update: reads ins[0..groups) at index k (X, G, states), writes outs[0..groups-1) (X_new, states_new). */
type ElementStep = (r: number, t: number, ins: readonly NumericArray[], outs: readonly NumericArray[], k: number) => void;

function optimizerKernel(ctx: PrepareContext, groups: number, what: string, step: ElementStep): PreparedKernel {
  const { plan, outputs } = planOptimizer(ctx, groups, what);
  const { n, sizes } = plan;
  const ins = new Array<NumericArray>(groups);
  const outs = new Array<NumericArray>(groups - 1);
  return {
    outputs,
    run(inputs, outputsData) {
      const r = (inputs[0] as NumericArray)[0]!;
      const t = Number((inputs[1] as BigInt64Array)[0]!);
      for (let i = 0; i < n; i++) {
        for (let g = 0; g < groups; g++) ins[g] = inputs[2 + g * n + i] as NumericArray;
        for (let g = 0; g < groups - 1; g++) outs[g] = outputsData[g * n + i] as NumericArray;
        for (let k = 0; k < sizes[i]!; k++) step(r, t, ins, outs, k);
      }
    },
  };
}

/**
 * Adagrad: r' = r / (1 + t·decay_factor), g' = norm_coefficient·x + g, h_new = h + g'²,
 * x_new = x - r'·g' / (√h_new + epsilon). Inputs R, T, X..., G..., H... -> X_new..., H_new...
 */
export const adagradKernel: KernelDef = {
  opType: 'Adagrad',
  domain: TRAINING,
  prepare(ctx) {
    const decay = attrFloat(ctx.node, 'decay_factor', 0);
    const epsilon = attrFloat(ctx.node, 'epsilon', 0);
    const lambda = attrFloat(ctx.node, 'norm_coefficient', 0);
    return optimizerKernel(ctx, 3, 'X, G, H', (r, t, ins, outs, k) => {
      const x = ins[0]![k]!;
      const rate = r / (1 + t * decay);
      const grad = lambda * x + ins[1]![k]!;
      const acc = ins[2]![k]! + grad * grad;
      outs[1]![k] = acc;
      outs[0]![k] = x - (rate * grad) / (Math.sqrt(acc) + epsilon);
    });
  },
};

/**
 * Adam: g' = norm_coefficient·x + g, v_new = α·v + (1-α)·g', h_new = β·h + (1-β)·g'²,
 * r' = r·√(1-β^t)/(1-α^t) when t > 0 (bias correction) else r, x_new = (1 - norm_coefficient_post)·(x - r'·v_new/(√h_new + ε)).
 * Inputs R, T, X..., G..., V..., H... -> X_new..., V_new..., H_new...
 */
export const adamKernel: KernelDef = {
  opType: 'Adam',
  domain: TRAINING,
  prepare(ctx) {
    const alpha = attrFloat(ctx.node, 'alpha', 0.9);
    const beta = attrFloat(ctx.node, 'beta', 0.999);
    const epsilon = attrFloat(ctx.node, 'epsilon', 0);
    const lambda = attrFloat(ctx.node, 'norm_coefficient', 0);
    const lambdaPost = attrFloat(ctx.node, 'norm_coefficient_post', 0);
    return optimizerKernel(ctx, 4, 'X, G, V, H', (r, t, ins, outs, k) => {
      const x = ins[0]![k]!;
      const grad = lambda * x + ins[1]![k]!;
      const m1 = alpha * ins[2]![k]! + (1 - alpha) * grad;
      const m2 = beta * ins[3]![k]! + (1 - beta) * grad * grad;
      const rate = t > 0 ? (r * Math.sqrt(1 - Math.pow(beta, t))) / (1 - Math.pow(alpha, t)) : r;
      outs[1]![k] = m1;
      outs[2]![k] = m2;
      outs[0]![k] = (1 - lambdaPost) * (x - (rate * m1) / (Math.sqrt(m2) + epsilon));
    });
  },
};

/**
 * Momentum: g' = norm_coefficient·x + g, v_new = α·v + β'·g' with β' = β when t > 0 else 1;
 * standard: x_new = x - r·v_new; nesterov: x_new = x - r·(g' + α·v_new). Inputs R, T, X..., G..., V... -> X_new..., V_new...
 */
export const momentumKernel: KernelDef = {
  opType: 'Momentum',
  domain: TRAINING,
  prepare(ctx) {
    const required = (name: string): number => {
      const v = attrFloat(ctx.node, name);
      if (v === undefined) throw kernelError(ctx, `attribute '${name}' is required`);
      return v;
    };
    const alpha = required('alpha');
    const beta = required('beta');
    const lambda = required('norm_coefficient');
    const mode = attrString(ctx.node, 'mode', 'standard');
    if (mode !== 'standard' && mode !== 'nesterov') throw kernelError(ctx, `mode must be 'standard' or 'nesterov', got '${mode}'`);
    const nesterov = mode === 'nesterov';
    return optimizerKernel(ctx, 3, 'X, G, V', (r, t, ins, outs, k) => {
      const x = ins[0]![k]!;
      const grad = lambda * x + ins[1]![k]!;
      const vel = alpha * ins[2]![k]! + (t > 0 ? beta : 1) * grad;
      outs[1]![k] = vel;
      outs[0]![k] = x - r * (nesterov ? grad + alpha * vel : vel);
    });
  },
};
