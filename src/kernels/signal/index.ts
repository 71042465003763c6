import type { KernelDef } from '../kernel.js';

export const signalKernels: KernelDef[] = [];
