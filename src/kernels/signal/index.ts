import type { KernelDef } from '../kernel.js';
import { dftKernel } from './dft.js';
import { melWeightMatrixKernel } from './mel-weight-matrix.js';
import { stftKernel } from './stft.js';
import { windowKernels } from './windows.js';

/** Audio front-ends: DFT, STFT, the cosine windows and the mel filter bank. */
export const signalKernels: KernelDef[] = [dftKernel, stftKernel, ...windowKernels, melWeightMatrixKernel];
