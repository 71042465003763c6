import type { KernelDef } from '../kernel.js';

export const elementwiseKernels: KernelDef[] = [];
