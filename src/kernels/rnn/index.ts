import type { KernelDef } from '../kernel.js';

export const rnnKernels: KernelDef[] = [];
