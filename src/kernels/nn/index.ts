import type { KernelDef } from '../kernel.js';

export const nnKernels: KernelDef[] = [];
