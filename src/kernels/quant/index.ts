import type { KernelDef } from '../kernel.js';
import { dynamicQuantizeLinearKernels } from './dynamic-quantize-linear.js';
import { integerConvKernels } from './integer-conv.js';
import { integerMatMulKernels } from './integer-matmul.js';
import { quantizeLinearKernels } from './quantize-linear.js';

export const quantKernels: KernelDef[] = [
  ...quantizeLinearKernels,
  ...dynamicQuantizeLinearKernels,
  ...integerConvKernels,
  ...integerMatMulKernels,
];
