import type { KernelDef } from '../kernel.js';
import { gridSampleKernel } from './gridsample.js';
import { nonMaxSuppressionKernel } from './nms.js';
import { roiAlignKernel } from './roialign.js';

/** Detection heads and spatial sampling: NonMaxSuppression, RoiAlign, GridSample. */
export const detectionKernels: KernelDef[] = [nonMaxSuppressionKernel, roiAlignKernel, gridSampleKernel];
