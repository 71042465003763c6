import type { KernelDef } from '../kernel.js';
import { nllLossKernel, softmaxCrossEntropyKernel } from './cross-entropy.js';
import { detKernel } from './det.js';
import { lpNormalizationKernel } from './lp-normalization.js';
import { adagradKernel, adamKernel, momentumKernel } from './optimizers.js';
import { randomKernels } from './random.js';

/** Losses, small linear algebra, the training-domain optimizers and the random generators. */
export const lossKernels: KernelDef[] = [
  nllLossKernel,
  softmaxCrossEntropyKernel,
  detKernel,
  lpNormalizationKernel,
  adagradKernel,
  adamKernel,
  momentumKernel,
  ...randomKernels,
];
