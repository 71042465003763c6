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

  it('accepts the opset 20 mode names and rejects 3-D sampling', () => {
    const [y] = runKernel('GridSample', [x, gridOf([[0, 0]])], { mode: 'linear', align_corners: 1 }, { opset: 20 });
    expectClose(y!, tensor('float32', [1, 1, 1, 1], [3.5]));
    const vol = randomTensor([1, 1, 2, 2, 2], 1);
    expect(() => runKernel('GridSample', [vol, tensor('float32', [1, 1, 1, 1, 3], [0, 0, 0])], {}, { opset: 20 })).toThrow(UnsupportedError);
  });
});
