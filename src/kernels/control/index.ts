import type { KernelDef } from '../kernel.js';
import { ifKernel } from './if.js';
import { loopKernel } from './loop.js';
import { scanKernel } from './scan.js';

export const controlKernels: KernelDef[] = [ifKernel, loopKernel, scanKernel];
