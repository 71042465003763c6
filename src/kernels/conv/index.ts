import type { KernelDef } from '../kernel.js';
import { convKernel } from './conv.js';
import { convTransposeKernel } from './conv-transpose.js';

export const convKernels: KernelDef[] = [convKernel, convTransposeKernel];
