import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '../src/errors.js';
import { expectClose, randomTensor, runKernel, tensor } from './harness.js';

/** A grid of normalised (x, y) points, one row of `pts` per output pixel: shape (1, 1, len, 2). */
const gridOf = (pts: [number, number][]) => tensor('float32', [1, 1, pts.length, 2], pts.flat());
// X is 1x1x2x3: [[1, 2, 3], [4, 5, 6]]
const x = tensor('float32', [1, 1, 2, 3], [1, 2, 3, 4, 5, 6]);

describe('GridSample', () => {
  it('reproduces the input on the identity grid with align_corners', () => {
    const img = randomTensor([2, 3, 4, 5], 2);
    const pts: number[] = [];
    for (let n = 0; n < 2; n++) for (let i = 0; i < 4; i++) for (let j = 0; j < 5; j++) pts.push((2 * j) / 4 - 1, (2 * i) / 3 - 1);
    for (const mode of ['bilinear', 'nearest', 'bicubic']) {
      const [y] = runKernel('GridSample', [img, tensor('float32', [2, 4, 5, 2], pts)], { mode, align_corners: 1 }, { opset: 16 });
      expectClose(y!, img, 1e-5, 1e-5);
    }
  });

  it('interpolates bilinearly between pixel centres (align_corners 1)', () => {
    // (x, y) = (0, 0) is the image centre: x = 1, y = 0.5 -> (2 + 5) / 2
    const [y] = runKernel('GridSample', [x, gridOf([[0, 0], [-0.5, 1]])], { align_corners: 1 }, { opset: 16 });
    expectClose(y!, tensor('float32', [1, 1, 1, 2], [3.5, 4.5]));
  });

  it('reads zeros outside with zeros padding and the edge with border padding', () => {
    // align_corners 0: x = -1 maps to -0.5, half a pixel outside the left edge.
    const g = gridOf([[-1, -1]]);
    const [zeros] = runKernel('GridSample', [x, g], { padding_mode: 'zeros' }, { opset: 16 });
    expectClose(zeros!, tensor('float32', [1, 1, 1, 1], [0.25]));
    const [border] = runKernel('GridSample', [x, g], { padding_mode: 'border' }, { opset: 16 });
    expectClose(border!, tensor('float32', [1, 1, 1, 1], [1]));
  });

  it('mirrors coordinates with reflection padding', () => {
    // align_corners 1, x = 2 -> pixel 4 along a row of 3 (range [0, 2]) reflects to 0.
    const [y] = runKernel('GridSample', [x, gridOf([[3, -1]])], { padding_mode: 'reflection', align_corners: 1 }, { opset: 16 });
    expectClose(y!, tensor('float32', [1, 1, 1, 1], [1]));
  });

  it('rounds nearest coordinates half to even', () => {
    // align_corners 1: x = -0.5 -> 0.5 rounds to 0, x = 0.5 -> 1.5 rounds to 2.
    const [y] = runKernel('GridSample', [x, gridOf([[-0.5, -1], [0.5, -1]])], { mode: 'nearest', align_corners: 1 }, { opset: 16 });
    expectClose(y!, tensor('float32', [1, 1, 1, 2], [1, 3]));
  });

  it('accepts the opset 20 mode names; opset 16 refuses volumes', () => {
    const [y] = runKernel('GridSample', [x, gridOf([[0, 0]])], { mode: 'linear', align_corners: 1 }, { opset: 20 });
    expectClose(y!, tensor('float32', [1, 1, 1, 1], [3.5]));
    const vol = randomTensor([1, 1, 2, 2, 2], 1);
    expect(() => runKernel('GridSample', [vol, tensor('float32', [1, 1, 1, 1, 3], [0, 0, 0])], {}, { opset: 16 })).toThrow(UnsupportedError);
  });
});

describe('GridSample over 1 and 3 spatial axes (opset 20)', () => {
  /** Trilinear sample of a (D, H, W) volume at pixel coordinates (z, y, x) inside it, written out directly. */
  function trilinear(v: ArrayLike<number>, [D, H, W]: number[], z: number, y: number, xx: number): number {
    const [z0, y0, x0] = [Math.floor(z), Math.floor(y), Math.floor(xx)];
    let acc = 0;
    for (const dz of [0, 1]) {
      for (const dy of [0, 1]) {
        for (const dx of [0, 1]) {
          const [zi, yi, xi] = [z0 + dz, y0 + dy, x0 + dx];
          if (zi >= D || yi >= H || xi >= W) continue;
          const wgt = (dz ? z - z0 : 1 - (z - z0)) * (dy ? y - y0 : 1 - (y - y0)) * (dx ? xx - x0 : 1 - (xx - x0));
          acc += wgt * Number(v[(zi * H + yi) * W + xi]);
        }
      }
    }
    return acc;
  }

  it('linear on a volume matches trilinear interpolation (align_corners 1, points inside)', () => {
    const dims = [3, 4, 5];
    const vol = randomTensor([1, 2, ...dims], 3);
    const pts = randomTensor([1, 2, 3, 3, 3], 4, -1, 1); // (N, Do, Ho, Wo, 3) as (x, y, z)
    const [y] = runKernel('GridSample', [vol, pts], { mode: 'linear', align_corners: 1 }, { opset: 20 });
    expect(y!.shape).toEqual([1, 2, 2, 3, 3]);
    const expected: number[] = [];
    for (let c = 0; c < 2; c++) {
      const plane = Array.from(vol.data as Float32Array).slice(c * 60, (c + 1) * 60);
      for (let p = 0; p < 18; p++) {
        const [gx, gy, gz] = [0, 1, 2].map((k) => Number(pts.data[p * 3 + k]));
        const at = (g: number, len: number) => ((g + 1) / 2) * (len - 1);
        expected.push(trilinear(plane, dims, at(gz!, 3), at(gy!, 4), at(gx!, 5)));
      }
    }
    expectClose(y!, tensor('float32', [1, 2, 2, 3, 3], expected), 1e-5, 1e-6);
  });

  it('every mode reproduces a volume on its identity grid (align_corners 1)', () => {
    const vol = randomTensor([1, 1, 2, 3, 4], 5);
    const pts: number[] = [];
    for (let k = 0; k < 2; k++) for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) pts.push((2 * j) / 3 - 1, i - 1, 2 * k - 1);
    for (const mode of ['nearest', 'linear', 'cubic']) {
      const [y] = runKernel('GridSample', [vol, tensor('float32', [1, 2, 3, 4, 3], pts)], { mode, align_corners: 1 }, { opset: 20 });
      expectClose(y!, vol, 1e-5, 1e-5);
    }
  });

  it('one spatial axis: linear between samples, zeros padding outside', () => {
    const line = tensor('float32', [1, 1, 3], [10, 20, 30]);
    // align_corners 0: g = 0 is the centre (pixel 1); g = 1/3 is pixel 1.5; g = -1 is pixel -0.5 (half zero pad).
    const [y] = runKernel('GridSample', [line, tensor('float32', [1, 3, 1], [0, 1 / 3, -1])], { mode: 'linear' }, { opset: 20 });
    expectClose(y!, tensor('float32', [1, 1, 3], [20, 25, 5]), 1e-5, 1e-5);
  });
});
