import type { KernelDef } from '../kernel.js';
import { convKernel } from './variants.js';
import { convTransposeKernel } from './conv-transpose.js';

export const convKernels: KernelDef[] = [convKernel, convTransposeKernel];
