import type { KernelDef } from '../kernel.js';
import { nllLossKernel, softmaxCrossEntropyKernel } from './cross-entropy.js';

/** Losses, small linear algebra and the training-domain optimizers. */
export const lossKernels: KernelDef[] = [nllLossKernel, softmaxCrossEntropyKernel];
