import type { KernelDef } from '../kernel.js';

export const lossKernels: KernelDef[] = [];
