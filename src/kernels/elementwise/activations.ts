/**
 * Activation functions (ONNX Operators.md), as entries of the unary table. Attribute defaults are
 * the spec's. All compute in float64 and store into the output's precision.
 */
import { attrFloat, attrString } from '../../graph/attributes.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import type { Node } from '../../loader/model.js';
import type { KernelDef } from '../kernel.js';
import { FLOATS, NUMERIC, SIGNED_NUMERIC } from './dtypes.js';
import { gelu } from './math.js';
import { mathKernel, plain, unaryKernels, unaryRun, type UnarySpec } from './unary.js';
import { HARD_ACTIVATIONS_MODULE } from './activations.wasm.js';
import { MATH_KERNELS } from '../../wasm/math-kernels.js';

/** sigmoid(x) = 1 / (1 + e^-x), evaluated so that e^(large) never overflows to Inf/Inf. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** softplus(x) = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), stable for large |x|. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/**
 * relu(x) = max(x, 0); NaN stays NaN, -0 becomes +0, which is exactly Math.max(x, 0). V8 compiles
 * Math.max without a data-dependent branch: ~3x faster than a ternary on mixed-sign activations.
 */
function relu(x: number): number {
  return Math.max(x, 0);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU's tanh approximation: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

/** Gelu's `approximate` attribute: true for 'tanh', false for 'none' (exact, erf-based). */
function usesTanhApproximation(node: Node): boolean {
  const approximate = attrString(node, 'approximate', 'none');
  if (approximate === 'none' || approximate === 'tanh') return approximate === 'tanh';
  throw new UnsupportedError(`${nodeLabel(node)}: approximate='${approximate}' is not supported (expected 'none' or 'tanh')`);
}

const ACTIVATIONS: Record<string, UnarySpec> = {
  Relu: {
    ...plain(SIGNED_NUMERIC, relu, (x) => (x > 0n ? x : 0n)),
    // Relu the graph could not fuse into a producer (after a norm, a Concat, ...): wasm clamp to [0, +∞).
    floatLoop: () => (x, y) => {
      for (let i = 0; i < x.length; i++) y[i] = Math.max(x[i], 0);
    },
    wasm: (_node, wasm) => unaryRun(wasm.kernels.elementwise.clamp, 0, Infinity),
  },
  Sigmoid: {
    ...plain(FLOATS, sigmoid),
    wasm: mathKernel('sigmoid'),
    floatLoop: () => ((x, y) => {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        if (v >= 0) y[i] = 1 / (1 + Math.exp(-v));
        else {
          const e = Math.exp(v);
          y[i] = e / (1 + e);
        }
      }
    }),
  },
  Tanh: {
    ...plain(FLOATS, Math.tanh),
    wasm: mathKernel('tanh'),
    floatLoop: () => ((x, y) => {
      for (let i = 0; i < x.length; i++) y[i] = Math.tanh(x[i]);
    }),
  },
  Softsign: plain(FLOATS, (x) => x / (1 + Math.abs(x))),
  Softplus: plain(FLOATS, softplus),
  // mish(x) = x * tanh(softplus(x))
  Mish: plain(FLOATS, (x) => x * Math.tanh(softplus(x))),
  LeakyRelu: {
    types: FLOATS,
    make: (node) => {
      const alpha = attrFloat(node, 'alpha', 0.01);
      return { num: (x) => (x >= 0 ? x : alpha * x) };
    },
    wasm: (node, wasm) => {
      const alpha = attrFloat(node, 'alpha', 0.01);
      return unaryRun(wasm.kernels.elementwise.leakyRelu, alpha);
    },
    floatLoop: (node) => {
      const alpha = attrFloat(node, 'alpha', 0.01);
      // For 0 < alpha <= 1, x >= 0 ? x : alpha·x is max(x, alpha·x) (NaN, -0 and infinities included; alpha = 0
      // would turn +Inf into max(Inf, NaN) = NaN), without a data-dependent branch.
      if (alpha > 0 && alpha <= 1) {
        return (x, y) => {
          for (let i = 0; i < x.length; i++) y[i] = Math.max(x[i], alpha * x[i]);
        };
      }
      return (x, y) => {
        for (let i = 0; i < x.length; i++) {
          const v = x[i];
          y[i] = v >= 0 ? v : alpha * v;
        }
      };
    },
  },
  ThresholdedRelu: {
    types: FLOATS,
    make: (node) => {
      const alpha = attrFloat(node, 'alpha', 1);
      return { num: (x) => (x > alpha ? x : 0) };
    },
  },
  Elu: {
    types: FLOATS,
    make: (node) => {
      const alpha = attrFloat(node, 'alpha', 1);
      return { num: (x) => (x >= 0 ? x : alpha * Math.expm1(x)) };
    },
  },
  // selu(x) = gamma * (x > 0 ? x : alpha * (e^x - 1))
  Selu: {
    types: FLOATS,
    make: (node) => {
      const alpha = attrFloat(node, 'alpha', 1.67326319217681884765625);
      const gamma = attrFloat(node, 'gamma', 1.05070102214813232421875);
      return { num: (x) => (x > 0 ? gamma * x : gamma * alpha * Math.expm1(x)) };
    },
  },
  // celu(x) = max(0, x) + min(0, alpha * (e^(x/alpha) - 1))
  Celu: {
    types: FLOATS,
    make: (node) => {
      const alpha = attrFloat(node, 'alpha', 1);
      return { num: (x) => Math.max(0, x) + Math.min(0, alpha * Math.expm1(x / alpha)) };
    },
  },
  // hardsigmoid(x) = max(0, min(1, alpha * x + beta))
  HardSigmoid: {
    types: FLOATS,
    make: (node) => {
      const alpha = attrFloat(node, 'alpha', 0.2);
      const beta = attrFloat(node, 'beta', 0.5);
      return { num: (x) => Math.max(0, Math.min(1, alpha * x + beta)) };
    },
    wasm: (node, wasm) => {
      const k = wasm.use(HARD_ACTIVATIONS_MODULE);
      const alpha = attrFloat(node, 'alpha', 0.2);
      const beta = attrFloat(node, 'beta', 0.5);
      return unaryRun(k?.hardSigmoid, alpha, beta);
    },
  },
  // hardswish(x) = x * max(0, min(1, x / 6 + 1/2))
  HardSwish: {
    ...plain(FLOATS, (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5))),
    wasm: (_node, wasm) => {
      const k = wasm.use(HARD_ACTIVATIONS_MODULE);
      return unaryRun(k?.hardSwish, 1 / 6, 0.5);
    },
  },
  // gelu(x) = x/2 (1 + erf(x / sqrt 2)), or with approximate='tanh': x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  Gelu: {
    types: FLOATS,
    make: (node) => ({ num: usesTanhApproximation(node) ? geluTanh : gelu }),
    wasm: (node, wasm) => unaryRun(wasm.use(MATH_KERNELS)?.unary[usesTanhApproximation(node) ? 'gelu_tanh' : 'gelu']),
    floatLoop: (node) =>
      usesTanhApproximation(node)
        ? (x, y) => {
            for (let i = 0; i < x.length; i++) y[i] = geluTanh(x[i]);
          }
        : (x, y) => {
            for (let i = 0; i < x.length; i++) y[i] = gelu(x[i]);
          },
  },
  // shrink(x) = x < -lambd ? x + bias : x > lambd ? x - bias : 0
  Shrink: {
    types: NUMERIC,
    make: (node) => {
      const bias = attrFloat(node, 'bias', 0);
      const lambd = attrFloat(node, 'lambd', 0.5);
      return { num: (x) => (x < -lambd ? x + bias : x > lambd ? x - bias : 0) };
    },
  },
};

export const activationKernels: KernelDef[] = unaryKernels(ACTIVATIONS);
