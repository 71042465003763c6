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

export const reduceKernels: KernelDef[] = [...reduceOps, ...argKernels, ...softmaxKernels, topKKernel, cumSumKernel, resizeKernel, upsampleKernel, einsumKernel, nllLossKernel, softmaxCrossEntropyKernel, gridSampleKernel, nonMaxSuppressionKernel, roiAlignKernel];
