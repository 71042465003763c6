/**
 * An audio front-end through InferenceSession: the window and mel matrix come from constant inputs (so they
 * are computed at plan time), STFT and the power/mel MatMul run per call on a reused plan.
 */
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { ModelBuilder } from './onnx-builder.js';
import { expectClose, randomTensor, tensor } from './harness.js';

const LENGTH = 1000;
const FRAME = 400; // not a power of two: the Bluestein path
const STEP = 160;
const FRAMES = 1 + Math.floor((LENGTH - FRAME) / STEP);
const BINS = FRAME / 2 + 1;
const MELS = 8;

function frontEnd(): Uint8Array {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('signal', 'float32', [1, LENGTH, 1]);
  const [window] = b.node('HannWindow', [b.initializer('size', tensor('int64', [], [FRAME]))]) as [string];
  const [spec] = b.node('STFT', [x, b.initializer('step', tensor('int64', [], [STEP])), window]) as [string];
  const [power] = b.node('ReduceSumSquare', [spec], { axes: [-1], keepdims: 0 }) as [string];
  const [mel] = b.node('MelWeightMatrix', [
    b.initializer('mels', tensor('int64', [], [MELS])),
    b.initializer('dft', tensor('int64', [], [FRAME])),
    b.initializer('rate', tensor('int64', [], [16000])),
    b.initializer('lo', tensor('float32', [], [20])),
    b.initializer('hi', tensor('float32', [], [8000])),
  ]) as [string];
  const [y] = b.node('MatMul', [power, mel]) as [string];
  b.output(y);
  b.output(mel);
  return b.toBytes();
}

/** Hann-windowed power spectrum of each frame by the direct DFT sum, then the mel projection. */
function reference(signal: Float32Array, mel: Float32Array): Float32Array {
  const out = new Float32Array(FRAMES * MELS);
  for (let f = 0; f < FRAMES; f++) {
    for (let k = 0; k < BINS; k++) {
      let re = 0;
      let im = 0;
      for (let j = 0; j < FRAME; j++) {
        const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * j) / FRAME);
        const v = signal[f * STEP + j]! * w;
        re += v * Math.cos((2 * Math.PI * j * k) / FRAME);
        im -= v * Math.sin((2 * Math.PI * j * k) / FRAME);
      }
      const p = re * re + im * im;
      for (let m = 0; m < MELS; m++) out[f * MELS + m] += p * mel[k * MELS + m]!;
    }
  }
  return out;
}

describe('log-mel style front-end in a session', () => {
  it('matches a direct-DFT reference on two different signals with one plan (rtol 1e-3)', () => {
    const session = InferenceSession.createSync(frontEnd());
    for (const seed of [1, 2]) {
      const signal = randomTensor([1, LENGTH, 1], seed);
      const outs = session.runSync({ signal: new Tensor('float32', signal.data as Float32Array, [1, LENGTH, 1]) });
      const [yName, melName] = session.outputNames as [string, string];
      const mel = outs[melName]!;
      expect([...mel.dims]).toEqual([BINS, MELS]);
      // Every triangular filter peaks at exactly 1 (so the projection below is not trivially zero).
      expect(Math.max(...(mel.data as Float32Array))).toBe(1);
      const y = outs[yName]!;
      expect([...y.dims]).toEqual([1, FRAMES, MELS]);
      const expected = reference(signal.data as Float32Array, mel.data as Float32Array);
      expectClose({ dtype: 'float32', shape: [...y.dims], data: y.data as Float32Array }, tensor('float32', [1, FRAMES, MELS], expected), 1e-3, 1e-3);
    }
  });
});
