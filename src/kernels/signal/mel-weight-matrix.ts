import { kernelError, type KernelDef } from '../kernel.js';
import { dtypeAttr, intInput, scalarInput, tensorOf } from './common.js';

const hzToMel = (hz: number): number => 2595 * Math.log10(1 + hz / 700);
const melToHz = (mel: number): number => 700 * (Math.pow(10, mel / 2595) - 1);

/**
 * Triangular filters (bins = ⌊dft_length/2⌋ + 1 rows, num_mel_bins columns), as the ONNX reference builds them:
 * num_mel_bins + 2 points evenly spaced in mel from lower to upper edge (step (high - low)/(num_mel_bins + 2)),
 * each mapped to the spectrogram bin ⌊(dft_length + 1)·hz / sample_rate⌋; filter i rises linearly from
 * point i to point i+1 and falls to point i+2.
 */
export function melWeightMatrix(numMel: number, dftLength: number, sampleRate: number, lowHz: number, highHz: number): Float64Array {
  const bins = (dftLength >> 1) + 1;
  const lowMel = hzToMel(lowHz);
  const step = (hzToMel(highHz) - lowMel) / (numMel + 2);
  const points = new Array<number>(numMel + 2);
  for (let i = 0; i < numMel + 2; i++) points[i] = Math.floor(((dftLength + 1) * melToHz(i * step + lowMel)) / sampleRate);
  const out = new Float64Array(bins * numMel);
  const set = (row: number, col: number, v: number): void => {
    if (row >= 0 && row < bins) out[row * numMel + col] = v;
  };
  for (let i = 0; i < numMel; i++) {
    const [left, center, right] = [points[i]!, points[i + 1]!, points[i + 2]!];
    if (center === left) set(center, i, 1);
    else for (let j = left; j <= center; j++) set(j, i, (j - left) / (center - left));
    if (right > center) for (let j = center; j < right; j++) set(j, i, (right - j) / (right - center));
  }
  return out;
}

/**
 * MelWeightMatrix (ONNX 17): num_mel_bins, dft_length, sample_rate (int scalars), lower_edge_hertz,
 * upper_edge_hertz (float scalars) -> (⌊dft_length/2⌋ + 1, num_mel_bins) of output_datatype (default float).
 * Every input is needed at plan time, so the matrix is computed once as a constant.
 */
export const melWeightMatrixKernel: KernelDef = {
  opType: 'MelWeightMatrix',
  prepare(ctx) {
    const dtype = dtypeAttr(ctx, 'output_datatype', 1);
    const numMel = intInput(ctx, 0, 'num_mel_bins', 1);
    const dftLength = intInput(ctx, 1, 'dft_length', 1);
    const sampleRate = intInput(ctx, 2, 'sample_rate', 1);
    const lowHz = scalarInput(ctx, 3, 'lower_edge_hertz');
    const highHz = scalarInput(ctx, 4, 'upper_edge_hertz');
    if (!(lowHz >= 0 && lowHz < highHz)) throw kernelError(ctx, `need 0 ≤ lower_edge_hertz < upper_edge_hertz, got ${lowHz}, ${highHz}`);
    const shape = [(dftLength >> 1) + 1, numMel];
    const value = tensorOf(dtype, shape, melWeightMatrix(numMel, dftLength, sampleRate, lowHz, highHz));
    return { outputs: [{ dtype, shape }], constantOutputs: [value], run() {} };
  },
};
