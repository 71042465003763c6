import type { KernelDef } from '../kernel.js';
import { nllLossKernel, softmaxCrossEntropyKernel } from './cross-entropy.js';
import { detKernel } from './det.js';
import { lpNormalizationKernel } from './lp-normalization.js';
import { adagradKernel, adamKernel, momentumKernel } from './optimizers.js';

/** Losses, small linear algebra and the training-domain optimizers. */
export const lossKernels: KernelDef[] = [
  nllLossKernel,
  softmaxCrossEntropyKernel,
  detKernel,
  lpNormalizationKernel,
  adagradKernel,
  adamKernel,
  momentumKernel,
];
