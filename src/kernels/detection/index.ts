import type { KernelDef } from '../kernel.js';

export const detectionKernels: KernelDef[] = [];
