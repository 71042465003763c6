import type { KernelDef } from '../kernel.js';

export const tensorKernels: KernelDef[] = [];
