import type { KernelDef } from '../kernel.js';
import { argKernels } from './argminmax.js';
import { cumSumKernel } from './cumsum.js';
import { einsumKernel } from './einsum.js';
import { reduceOps } from './reduce.js';
import { resizeKernel, upsampleKernel } from './resize.js';
import { softmaxKernels } from './softmax.js';
import { topKKernel } from './topk.js';

/** Reductions, the softmax family, arg ops, TopK, CumSum, Resize/Upsample, Einsum. */
export const reduceKernels: KernelDef[] = [
  ...reduceOps,
  ...argKernels,
  ...softmaxKernels,
  topKKernel,
  cumSumKernel,
  resizeKernel,
  upsampleKernel,
  einsumKernel,
];
