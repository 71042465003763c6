import type { KernelDef } from '../kernel.js';

export const quantKernels: KernelDef[] = [];
