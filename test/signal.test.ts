import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/dtype.js';
import { GraphError, UnsupportedError } from '../src/errors.js';
import { planFft } from '../src/kernels/signal/fft.js';
import { expectClose, randomTensor, rng, runKernel, tensor } from './harness.js';

/** Naive DFT straight from the definition X[k] = Σ_j x[j]·e^(∓2πi·jk/n), scaled by 1/n when inverse. */
function naiveDft(re: ArrayLike<number>, im: ArrayLike<number>, n: number, inverse = false): [Float64Array, Float64Array] {
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  const sign = inverse ? 1 : -1;
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < Math.min(n, re.length); j++) {
      const a = (sign * 2 * Math.PI * j * k) / n;
      outRe[k] += re[j]! * Math.cos(a) - im[j]! * Math.sin(a);
      outIm[k] += re[j]! * Math.sin(a) + im[j]! * Math.cos(a);
    }
    if (inverse) {
      outRe[k] /= n;
      outIm[k] /= n;
    }
  }
  return [outRe, outIm];
}

function randomArray(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => 2 * r() - 1);
}

describe('FFT plans', () => {
  // Radix-2 (1, 2, 16, 256), direct sums (3, 10, 63), Bluestein (65, 97 prime, 300).
  for (const n of [1, 2, 3, 10, 16, 63, 65, 97, 256, 300]) {
    it(`matches the naive DFT for n = ${n} (forward and inverse, |err| ≤ 1e-9·n)`, () => {
      const re = randomArray(n, n);
      const im = randomArray(n, n + 1000);
      const plan = planFft(n);
      for (const inverse of [false, true]) {
        const [er, ei] = naiveDft(re, im, n, inverse);
        const gr = Float64Array.from(re);
        const gi = Float64Array.from(im);
        plan.transform(gr, gi, inverse);
        for (let k = 0; k < n; k++) {
          expect(Math.abs(gr[k]! - er[k]!)).toBeLessThan(1e-9 * n);
          expect(Math.abs(gi[k]! - ei[k]!)).toBeLessThan(1e-9 * n);
        }
      }
    });
  }

  it('inverse(forward(x)) = x for a Bluestein length', () => {
    const n = 131;
    const re = randomArray(n, 5);
    const im = randomArray(n, 6);
    const gr = Float64Array.from(re);
    const gi = Float64Array.from(im);
    const plan = planFft(n);
    plan.transform(gr, gi, false);
    plan.transform(gr, gi, true);
    for (let k = 0; k < n; k++) {
      expect(gr[k]).toBeCloseTo(re[k]!, 10);
      expect(gi[k]).toBeCloseTo(im[k]!, 10);
    }
  });
});

/** Reference DFT over `axis` of a [..., 1|2] tensor, with the ONNX padding/truncation and onesided slice. */
function referenceDft(x: TensorData, axis: number, n: number, inverse: boolean, onesided: boolean): TensorData {
  const shape = x.shape;
  const c = shape[shape.length - 1]!;
  const sig = shape.slice(0, -1);
  const outer = sig.slice(0, axis).reduce((a, b) => a * b, 1);
  const len = sig[axis]!;
  const inner = sig.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outLen = onesided ? Math.floor(n / 2) + 1 : n;
  const outShape = [...sig];
  outShape[axis] = outLen;
  outShape.push(2);
  const out = new Float32Array(outer * outLen * inner * 2);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const re = new Float64Array(n);
      const im = new Float64Array(n);
      for (let j = 0; j < Math.min(len, n); j++) {
        const at = ((o * len + j) * inner + i) * c;
        re[j] = Number(x.data[at]);
        im[j] = c === 2 ? Number(x.data[at + 1]) : 0;
      }
      const [er, ei] = naiveDft(re, im, n, inverse);
      for (let k = 0; k < outLen; k++) {
        out[((o * outLen + k) * inner + i) * 2] = er[k]!;
        out[((o * outLen + k) * inner + i) * 2 + 1] = ei[k]!;
      }
    }
  }
  return { dtype: 'float32', shape: outShape, data: out };
}

describe('DFT', () => {
  const i64 = (v: number) => tensor('int64', [], [v]);

  it('real input along axis 1 (opset 17 default), full spectrum', () => {
    const x = randomTensor([2, 8, 3, 1], 1);
    const [y] = runKernel('DFT', [x], {});
    expectClose(y!, referenceDft(x, 1, 8, false, false), 1e-4, 1e-5);
  });

  it('complex input along axis 2, non-power-of-two length', () => {
    const x = randomTensor([2, 3, 10, 2], 2);
    const [y] = runKernel('DFT', [x], { axis: 2 });
    expectClose(y!, referenceDft(x, 2, 10, false, false), 1e-4, 1e-5);
  });

  it('onesided keeps bins 0..n/2 and negative axes count from the back', () => {
    const x = randomTensor([1, 7, 4, 1], 3);
    const [y] = runKernel('DFT', [x], { axis: -3, onesided: 1 });
    expect(y!.shape).toEqual([1, 4, 4, 2]);
    expectClose(y!, referenceDft(x, 1, 7, false, true), 1e-4, 1e-5);
  });

  it('dft_length zero-pads a short signal and truncates a long one', () => {
    const x = randomTensor([1, 6, 1], 4);
    const [padded] = runKernel('DFT', [x, i64(16)], { axis: 1 });
    expect(padded!.shape).toEqual([1, 16, 2]);
    expectClose(padded!, referenceDft(x, 1, 16, false, false), 1e-4, 1e-5);
    const [cut] = runKernel('DFT', [x, i64(4)], { axis: 1 });
    expectClose(cut!, referenceDft(x, 1, 4, false, false), 1e-4, 1e-5);
  });

  it('inverse scales by 1/n and undoes the forward transform', () => {
    const x = randomTensor([1, 12, 2], 5);
    const [spec] = runKernel('DFT', [x], { axis: 1 });
    const [back] = runKernel('DFT', [spec!], { axis: 1, inverse: 1 });
    expectClose(back!, x, 1e-4, 1e-5);
    expectClose(back!, referenceDft(spec!, 1, 12, true, false), 1e-4, 1e-5);
  });

  it('onesided inverse (IRFFT) rebuilds the real signal from bins 0..n/2 (n = 2·(bins-1) or dft_length)', () => {
    const even = randomTensor([2, 8, 1], 11);
    const [half] = runKernel('DFT', [even], { axis: 1, onesided: 1 });
    const [back] = runKernel('DFT', [half!], { axis: 1, onesided: 1, inverse: 1 });
    expect(back!.shape).toEqual([2, 8, 1]);
    expectClose(back!, even, 1e-4, 1e-5);
    const odd = randomTensor([1, 7, 1], 12);
    const [halfOdd] = runKernel('DFT', [odd], { axis: 1, onesided: 1 });
    expect(halfOdd!.shape).toEqual([1, 4, 2]);
    const [backOdd] = runKernel('DFT', [halfOdd!, i64(7)], { axis: 1, onesided: 1, inverse: 1 });
    expectClose(backOdd!, odd, 1e-4, 1e-5);
    // Hand-checked: bins [4, 0, 0] of n = 4 are the spectrum of the constant signal 1.
    const [ones] = runKernel('DFT', [tensor('float32', [1, 3, 2], [4, 0, 0, 0, 0, 0])], { axis: 1, onesided: 1, inverse: 1 });
    expectClose(ones!, tensor('float32', [1, 4, 1], [1, 1, 1, 1]), 0, 1e-6);
    expect(() => runKernel('DFT', [even], { axis: 1, onesided: 1, inverse: 1 })).toThrow(/complex input/);
  });

  it('real lines are transformed in pairs: even and odd line counts, forward and inverse, Bluestein length', () => {
    for (const shape of [[3, 70, 1], [4, 70, 1], [2, 9, 3, 1]]) {
      const x = randomTensor(shape, shape.length + shape[0]!);
      for (const inverse of [0, 1]) {
        const [y] = runKernel('DFT', [x], { axis: 1, inverse });
        expectClose(y!, referenceDft(x, 1, shape[1]!, inverse === 1, false), 1e-4, 1e-5);
      }
    }
  });

  it('hand-checked: the DFT of [1, 2, 3, 4] is [10, -2+2i, -2, -2-2i]', () => {
    const [y] = runKernel('DFT', [tensor('float32', [1, 4, 1], [1, 2, 3, 4])], {});
    expectClose(y!, tensor('float32', [1, 4, 2], [10, 0, -2, 2, -2, 0, -2, -2]), 0, 1e-5);
  });

  it('opset 20 reads axis from input 2 (default -2)', () => {
    const x = randomTensor([3, 5, 1], 6);
    const [byDefault] = runKernel('DFT', [x], {}, { opset: 20 });
    expectClose(byDefault!, referenceDft(x, 1, 5, false, false), 1e-4, 1e-5);
    const [axis0] = runKernel('DFT', [x, undefined, i64(0)], {}, { opset: 20 });
    expectClose(axis0!, referenceDft(x, 0, 3, false, false), 1e-4, 1e-5);
  });

  it('rejects a last dim other than 1 or 2, the complex axis, and integer input', () => {
    expect(() => runKernel('DFT', [randomTensor([2, 3], 1)], {})).toThrow(GraphError);
    expect(() => runKernel('DFT', [randomTensor([2, 3, 1], 1)], { axis: 2 })).toThrow(/axis 2/);
    expect(() => runKernel('DFT', [tensor('int32', [1, 2, 1], [1, 2])], {})).toThrow(UnsupportedError);
  });
});

describe('STFT', () => {
  const i64 = (v: number) => tensor('int64', [], [v]);

  /** Frames of the signal, windowed, each transformed by the naive DFT. */
  function referenceStft(x: TensorData, step: number, w: number[], onesided: boolean): TensorData {
    const [B, L, C] = x.shape as [number, number, number];
    const W = w.length;
    const F = 1 + Math.floor((L - W) / step);
    const bins = onesided ? Math.floor(W / 2) + 1 : W;
    const out = new Float32Array(B * F * bins * 2);
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) {
        const re: number[] = [];
        const im: number[] = [];
        for (let j = 0; j < W; j++) {
          const at = (b * L + f * step + j) * C;
          re.push(Number(x.data[at]) * w[j]!);
          im.push(C === 2 ? Number(x.data[at + 1]) * w[j]! : 0);
        }
        const [er, ei] = naiveDft(re, im, W);
        for (let k = 0; k < bins; k++) {
          out[((b * F + f) * bins + k) * 2] = er[k]!;
          out[((b * F + f) * bins + k) * 2 + 1] = ei[k]!;
        }
      }
    }
    return { dtype: 'float32', shape: [B, F, bins, 2], data: out };
  }

  it('frame_length without a window: rectangular frames, onesided by default', () => {
    const x = randomTensor([2, 40, 1], 7);
    const [y] = runKernel('STFT', [x, i64(6), undefined, i64(12)], {});
    expect(y!.shape).toEqual([2, 5, 7, 2]);
    expectClose(y!, referenceStft(x, 6, new Array(12).fill(1), true), 1e-4, 1e-5);
  });

  it('a window sets the frame length; onesided = 0 keeps every bin; complex signal', () => {
    const x = randomTensor([1, 33, 2], 8);
    const w = Array.from({ length: 10 }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / 10));
    const [y] = runKernel('STFT', [x, i64(4), tensor('float32', [10], w)], { onesided: 0 });
    expect(y!.shape).toEqual([1, 6, 10, 2]);
    expectClose(y!, referenceStft(x, 4, Array.from(new Float32Array(w)), false), 1e-4, 1e-5);
  });

  it('an odd number of real frames (the last one transformed alone)', () => {
    const x = randomTensor([1, 30, 1], 10);
    const [y] = runKernel('STFT', [x, i64(10), undefined, i64(10)], {});
    expect(y!.shape).toEqual([1, 3, 6, 2]);
    expectClose(y!, referenceStft(x, 10, new Array(10).fill(1), true), 1e-4, 1e-5);
  });

  it('rejects a window whose length differs from frame_length', () => {
    const x = randomTensor([1, 20, 1], 9);
    expect(() => runKernel('STFT', [x, i64(2), randomTensor([8], 1), i64(6)], {})).toThrow(/window length 8/);
  });
});

describe('window functions', () => {
  const size = (n: number) => tensor('int32', [], [n]);
  const h = 25 / 46;

  it('HannWindow periodic [0, .5, 1, .5] and symmetric [0, .5, 1, .5, 0]', () => {
    expectClose(runKernel('HannWindow', [size(4)])[0]!, tensor('float32', [4], [0, 0.5, 1, 0.5]), 0, 1e-7);
    expectClose(runKernel('HannWindow', [size(5)], { periodic: 0 })[0]!, tensor('float32', [5], [0, 0.5, 1, 0.5, 0]), 0, 1e-7);
  });

  it('HammingWindow uses alpha = 25/46: periodic size 4 is [4/46, 25/46, 1, 25/46]', () => {
    expectClose(runKernel('HammingWindow', [size(4)])[0]!, tensor('float32', [4], [4 / 46, h, 1, h]), 0, 1e-7);
  });

  it('BlackmanWindow symmetric size 3 is [0, 1, 0]; output_datatype 11 gives float64', () => {
    const [y] = runKernel('BlackmanWindow', [size(3)], { periodic: 0, output_datatype: 11 });
    expect(y!.dtype).toBe('float64');
    expectClose(y!, tensor('float64', [3], [0, 1, 0]), 0, 1e-12);
  });

  it('output_datatype 10 (float16) rounds to half precision: 25/46 -> 1113·2^-11, 4/46 -> 1425·2^-14', () => {
    const [y] = runKernel('HammingWindow', [size(4)], { output_datatype: 10 });
    expect(y!.dtype).toBe('float16');
    const [a, b] = [1113 / 2048, 1425 / 16384];
    expectClose(y!, tensor('float32', [4], [b, a, 1, a]), 0, 1e-9);
  });

  it('rejects a string output_datatype', () => {
    expect(() => runKernel('HannWindow', [size(4)], { output_datatype: 8 })).toThrow(UnsupportedError);
  });
});

describe('MelWeightMatrix', () => {
  it('hand-computed: 2 mel bins over 0..8000 Hz of a 16-point DFT at 16 kHz', () => {
    // Mel points 0, 710, 1420, 2130 (step 2840/4) -> 0, 614, 1768, 3934 Hz -> bins ⌊17·hz/16000⌋ = 0, 0, 1, 4.
    const inputs = [
      tensor('int32', [], [2]),
      tensor('int32', [], [16]),
      tensor('int32', [], [16000]),
      tensor('float32', [], [0]),
      tensor('float32', [], [8000]),
    ];
    const [y] = runKernel('MelWeightMatrix', inputs);
    const expected = [1, 0, 0, 1, 0, 2 / 3, 0, 1 / 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    expectClose(y!, tensor('float32', [9, 2], expected), 0, 1e-6);
  });
});
