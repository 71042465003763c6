import type { KernelDef } from '../kernel.js';
import { dftKernel } from './dft.js';
import { melWeightMatrixKernel } from './mel-weight-matrix.js';
import { stftKernel } from './stft.js';
import { stringNormalizerKernel } from './string-normalizer.js';
import { tfIdfVectorizerKernel } from './tfidf-vectorizer.js';
import { windowKernels } from './windows.js';

/**
 * Feature front-ends: audio (DFT, STFT, the cosine windows, the mel filter bank) and text
 * (StringNormalizer, TfIdfVectorizer n-gram counts).
 */
export const signalKernels: KernelDef[] = [
  dftKernel,
  stftKernel,
  ...windowKernels,
  melWeightMatrixKernel,
  stringNormalizerKernel,
  tfIdfVectorizerKernel,
];
