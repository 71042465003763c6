import type { KernelDef } from '../kernel.js';
import { argKernels } from './argminmax.js';
import { cumSumKernel } from './cumsum.js';
import { einsumKernel } from './einsum.js';
import { gridSampleKernel } from './gridsample.js';
import { nllLossKernel, softmaxCrossEntropyKernel } from './loss.js';
import { nonMaxSuppressionKernel } from './nms.js';
import { roiAlignKernel } from './roialign.js';
import { reduceOps } from './reduce.js';
import { resizeKernel, upsampleKernel } from './resize.js';
import { softmaxKernels } from './softmax.js';
import { topKKernel } from './topk.js';

/** Reductions, the softmax family (with its losses), arg ops, TopK, CumSum, resampling, Einsum, detection ops. */
export const reduceKernels: KernelDef[] = [
  ...reduceOps,
  ...argKernels,
  ...softmaxKernels,
  nllLossKernel,
  softmaxCrossEntropyKernel,
  topKKernel,
  cumSumKernel,
  resizeKernel,
  upsampleKernel,
  gridSampleKernel,
  roiAlignKernel,
  nonMaxSuppressionKernel,
  einsumKernel,
];
