import type { NumericArray } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef } from '../kernel.js';
import { requireFloat } from '../reduce/common.js';
import { intInput } from './common.js';
import { planFft } from './fft.js';

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
    return {
      outputs: [{ dtype: x.dtype, shape: [batch, frames, bins, 2] }],
      run(inputs, outputs) {
        const s = inputs[0] as NumericArray;
        const w = inputs[2] as NumericArray | undefined;
        const y = outputs[0] as NumericArray;
        for (let b = 0; b < batch; b++) {
          for (let f = 0; f < frames; f++) {
            const start = (b * length + f * step) * channels;
            for (let j = 0; j < frameLength; j++) {
              const g = w === undefined ? 1 : w[j]!;
              re[j] = s[start + j * channels]! * g;
              im[j] = channels === 2 ? s[start + j * channels + 1]! * g : 0;
            }
            fft.transform(re, im, false);
            const out = (b * frames + f) * bins * 2;
            for (let k = 0; k < bins; k++) {
              y[out + 2 * k] = re[k]!;
              y[out + 2 * k + 1] = im[k]!;
            }
          }
        }
      },
    };
  },
};
