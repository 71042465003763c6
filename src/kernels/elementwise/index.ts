import type { KernelDef } from '../kernel.js';
import { activationKernels } from './activations.js';
import { arithmeticKernels } from './binary.js';
import { castKernel, castLikeKernel } from './cast.js';
import { clipKernel } from './clip.js';
import { compareKernels } from './compare.js';
import { dropoutKernel } from './dropout.js';
import { mathKernels } from './unary.js';
import { variadicKernels } from './variadic.js';
import { whereKernel } from './where.js';

export const elementwiseKernels: KernelDef[] = [
  ...mathKernels,
  ...activationKernels,
  ...arithmeticKernels,
  ...compareKernels,
  ...variadicKernels,
  clipKernel,
  dropoutKernel,
  whereKernel,
  castKernel,
  castLikeKernel,
];
