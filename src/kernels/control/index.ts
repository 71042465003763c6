import type { KernelDef } from '../kernel.js';

export const controlKernels: KernelDef[] = [];
