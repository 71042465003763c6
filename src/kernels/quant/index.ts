import type { KernelDef } from '../kernel.js';
import { dynamicQuantizeLinearKernels } from './dynamic-quantize-linear.js';
import { integerConvKernels } from './integer-conv.js';
import { integerMatMulKernels } from './integer-matmul.js';
import { integerToFloatKernels } from './integer-to-float.js';
import { qgemmKernels } from './qgemm.js';
import { qlinearAveragePoolKernels } from './qlinear-average-pool.js';
import { qlinearBinaryKernels } from './qlinear-binary.js';
import { qlinearConcatKernels } from './qlinear-concat.js';
import { qlinearGlobalAveragePoolKernels } from './qlinear-global-average-pool.js';
import { qlinearLookupKernels } from './qlinear-lookup.js';
import { qlinearUnaryKernels } from './qlinear-unary.js';
import { quantizeLinearKernels } from './quantize-linear.js';

export const quantKernels: KernelDef[] = [
  ...quantizeLinearKernels,
  ...dynamicQuantizeLinearKernels,
  ...integerConvKernels,
  ...integerMatMulKernels,
  ...integerToFloatKernels,
  ...qgemmKernels,
  ...qlinearBinaryKernels,
  ...qlinearUnaryKernels,
  ...qlinearGlobalAveragePoolKernels,
  ...qlinearConcatKernels,
  ...qlinearAveragePoolKernels,
  ...qlinearLookupKernels,
];
