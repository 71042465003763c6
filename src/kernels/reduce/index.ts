import type { KernelDef } from '../kernel.js';

export const reduceKernels: KernelDef[] = [];
