import { describe, expect, it } from 'vitest';
import { GraphError } from '../src/errors.js';
import { expectClose, runKernel, tensor } from './harness.js';

// X(y, x) = x + 10·y on a 4×4 image: bilinear sampling of a linear function is exact, so each bin's
// average is x̄ + 10·ȳ over its sample points.
const img = tensor('float32', [1, 1, 4, 4], Array.from({ length: 16 }, (_, i) => (i % 4) + 10 * Math.floor(i / 4)));
const rois = tensor('float32', [1, 4], [1, 1, 3, 3]);
const batch = tensor('int64', [1], [0]);
const attrs = { output_height: 2, output_width: 2, sampling_ratio: 2 };

describe('RoiAlign', () => {
  it('opset 16 half_pixel shifts the roi by -0.5: bins centred on 1 and 2', () => {
    const [y] = runKernel('RoiAlign', [img, rois, batch], attrs, { opset: 16 });
    expectClose(y!, tensor('float32', [1, 1, 2, 2], [11, 12, 21, 22]));
  });
  it('opset 10 (output_half_pixel) does not shift: bins centred on 1.5 and 2.5', () => {
    const [y] = runKernel('RoiAlign', [img, rois, batch], attrs, { opset: 10 });
    expectClose(y!, tensor('float32', [1, 1, 2, 2], [16.5, 17.5, 26.5, 27.5]));
  });
  it('scales roi coordinates by spatial_scale', () => {
    const [y] = runKernel('RoiAlign', [img, tensor('float32', [1, 4], [2, 2, 6, 6]), batch], { ...attrs, spatial_scale: 0.5 }, { opset: 16 });
    expectClose(y!, tensor('float32', [1, 1, 2, 2], [11, 12, 21, 22]));
  });
  it('rejects a batch index outside the input', () => {
    expect(() => runKernel('RoiAlign', [img, rois, tensor('int64', [1], [3])], attrs, { opset: 16 })).toThrow(GraphError);
  });
});
