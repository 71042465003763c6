import type { KernelDef } from '../kernel.js';
import { convKernels } from '../conv/index.js';
import { gemmKernel } from './gemm.js';
import { matMulKernel } from './matmul.js';
import { matMulAddKernel } from './matmul-add.js';
import { averagePoolKernel, lpPoolKernel, maxPoolKernel } from './pool.js';
import { globalPoolKernels } from './global-pool.js';
import { maxUnpoolKernel } from './max-unpool.js';
import { batchNormKernel } from './batch-norm.js';
import { groupNormKernel, instanceNormKernel } from './instance-norm.js';
import { layerNormKernel } from './layer-norm.js';
import { lrnKernel } from './lrn.js';
import { mvnKernel } from './mvn.js';

export const nnKernels: KernelDef[] = [
  ...convKernels,
  gemmKernel,
  matMulKernel,
  matMulAddKernel,
  maxPoolKernel,
  averagePoolKernel,
  lpPoolKernel,
  ...globalPoolKernels,
  maxUnpoolKernel,
  batchNormKernel,
  instanceNormKernel,
  groupNormKernel,
  layerNormKernel,
  lrnKernel,
  mvnKernel,
];
