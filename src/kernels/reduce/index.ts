import type { KernelDef } from '../kernel.js';
import { argKernels } from './argminmax.js';
import { cumSumKernel } from './cumsum.js';
import { einsumKernel } from './einsum.js';
import { reduceOps } from './reduce.js';
import { softmaxKernels } from './softmax.js';
import { topKKernel } from './topk.js';

/** Reductions, the softmax family, arg ops, TopK, CumSum, Einsum. */
export const reduceKernels: KernelDef[] = [
  ...reduceOps,
  ...argKernels,
  ...softmaxKernels,
  topKKernel,
  cumSumKernel,
  einsumKernel,
];
