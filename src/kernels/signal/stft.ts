import type { NumericArray } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef } from '../kernel.js';
import { requireFloat } from '../reduce/common.js';
import { intInput } from './common.js';
import { planFft, splitRealPair } from './fft.js';

/**
 * STFT (ONNX 17): signal (B, L, 1|2), frame_step (), window? (W), frame_length? () -> (B, F, bins, 2)
 * with F = 1 + ⌊(L - W) / frame_step⌋ frames of W = frame_length samples, each multiplied by the window
 * (ones when absent) and transformed: out[b, f, k] = Σ_j x[b, f·step + j]·w[j]·e^(-2πi·jk/W);
 * bins = ⌊W/2⌋ + 1 when onesided (the default), else W.
 */
export const stftKernel: KernelDef = {
  opType: 'STFT',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    requireFloat(ctx, x.dtype);
    if (x.shape.length !== 3 || (x.shape[2] !== 1 && x.shape[2] !== 2)) {
      throw kernelError(ctx, `signal must be (batch, length, 1|2), got shape [${x.shape}]`);
    }
    const [batch, length, channels] = x.shape as [number, number, number];
    const step = intInput(ctx, 1, 'frame_step', 1);
    const window = ctx.inputs[2];
    if (window !== undefined) {
      requireFloat(ctx, window.dtype, 'window');
      if (window.shape.length !== 1) throw kernelError(ctx, `window must be 1-D, got shape [${window.shape}]`);
    }
    const frameLength = ctx.inputs[3] !== undefined ? intInput(ctx, 3, 'frame_length', 1) : (window?.shape[0] ?? length);
    if (window !== undefined && window.shape[0] !== frameLength) {
      throw kernelError(ctx, `window length ${window.shape[0]} differs from frame_length ${frameLength}`);
    }
    if (frameLength < 1 || frameLength > length) {
      throw kernelError(ctx, `frame_length ${frameLength} must be in [1, ${length}] (the signal length)`);
    }
    const onesided = attrInt(ctx.node, 'onesided', 1) !== 0;
    const frames = 1 + Math.floor((length - frameLength) / step);
    const bins = onesided ? (frameLength >> 1) + 1 : frameLength;
    const fft = planFft(frameLength);
    const re = new Float64Array(frameLength);
    const im = new Float64Array(frameLength);
    const pair = new Float64Array(4);
    return {
      outputs: [{ dtype: x.dtype, shape: [batch, frames, bins, 2] }],
      run(inputs, outputs) {
        const s = inputs[0] as NumericArray;
        const w = inputs[2] as NumericArray | undefined;
        const y = outputs[0] as NumericArray;
        const total = batch * frames;
        // Frame t = (b, f) starts at sample b·length + f·step; its bins go to y[t·bins·2 ...].
        const frameStart = (t: number): number => (Math.floor(t / frames) * length + (t % frames) * step) * channels;
        let t = 0;
        if (channels === 1) {
          // Real frames in pairs: one complex transform yields both spectra (see splitRealPair).
          for (; t + 1 < total; t += 2) {
            const a = frameStart(t);
            const b = frameStart(t + 1);
            for (let j = 0; j < frameLength; j++) {
              const g = w === undefined ? 1 : w[j]!;
              re[j] = s[a + j]! * g;
              im[j] = s[b + j]! * g;
            }
            fft.transform(re, im, false);
            const oa = t * bins * 2;
            const ob = oa + bins * 2;
            for (let k = 0; k < bins; k++) {
              splitRealPair(re, im, k, pair);
              y[oa + 2 * k] = pair[0]!;
              y[oa + 2 * k + 1] = pair[1]!;
              y[ob + 2 * k] = pair[2]!;
              y[ob + 2 * k + 1] = pair[3]!;
            }
          }
        }
        for (; t < total; t++) {
          const start = frameStart(t);
          for (let j = 0; j < frameLength; j++) {
            const g = w === undefined ? 1 : w[j]!;
            re[j] = s[start + j * channels]! * g;
            im[j] = channels === 2 ? s[start + j * channels + 1]! * g : 0;
          }
          fft.transform(re, im, false);
          const out = t * bins * 2;
          for (let k = 0; k < bins; k++) {
            y[out + 2 * k] = re[k]!;
            y[out + 2 * k + 1] = im[k]!;
          }
        }
      },
    };
  },
};
