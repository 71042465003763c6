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

/**
 * Naive RoiAlign, one output value at a time, following the spec's description (Detectron conventions):
 * bin (ph, pw) of roi r averages (or maxes weighted corners of) gridH × gridW bilinear samples.
 */
function naiveRoiAlign(
  x: { shape: number[]; data: ArrayLike<number> },
  rois: number[][],
  batchOf: number[],
  o: { oh: number; ow: number; ratio: number; scale: number; mode: 'avg' | 'max'; halfPixel: boolean },
): number[] {
  const [, C, H, W] = x.shape as [number, number, number, number];
  const at = (n: number, c: number, yy: number, xx: number) => Number(x.data[((n * C + c) * H + yy) * W + xx]);
  const out: number[] = [];
  rois.forEach((roi, r) => {
    const off = o.halfPixel ? 0.5 : 0;
    const [x1, y1, x2, y2] = roi.map((v) => v * o.scale - off) as [number, number, number, number];
    const rw = o.halfPixel ? x2 - x1 : Math.max(x2 - x1, 1);
    const rh = o.halfPixel ? y2 - y1 : Math.max(y2 - y1, 1);
    const gh = o.ratio > 0 ? o.ratio : Math.ceil(rh / o.oh);
    const gw = o.ratio > 0 ? o.ratio : Math.ceil(rw / o.ow);
    for (let c = 0; c < C; c++) {
      for (let ph = 0; ph < o.oh; ph++) {
        for (let pw = 0; pw < o.ow; pw++) {
          const values: number[] = [];
          for (let iy = 0; iy < gh; iy++) {
            for (let ix = 0; ix < gw; ix++) {
              let sy = y1 + (ph + (iy + 0.5) / gh) * (rh / o.oh);
              let sx = x1 + (pw + (ix + 0.5) / gw) * (rw / o.ow);
              if (sy < -1 || sy > H || sx < -1 || sx > W) {
                values.push(0);
                continue;
              }
              sy = Math.min(Math.max(sy, 0), H - 1);
              sx = Math.min(Math.max(sx, 0), W - 1);
              const [ya, xa] = [Math.floor(sy), Math.floor(sx)];
              const [yb, xb] = [Math.min(ya + 1, H - 1), Math.min(xa + 1, W - 1)];
              const [ly, lx] = [sy - ya, sx - xa];
              const n = batchOf[r]!;
              const terms = [
                (1 - ly) * (1 - lx) * at(n, c, ya, xa),
                (1 - ly) * lx * at(n, c, ya, xb),
                ly * (1 - lx) * at(n, c, yb, xa),
                ly * lx * at(n, c, yb, xb),
              ];
              values.push(o.mode === 'avg' ? terms.reduce((a, b) => a + b) : Math.max(...terms));
            }
          }
          if (o.mode === 'avg') out.push(values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1));
          else out.push(values.length ? Math.max(...values) : 0);
        }
      }
    }
  });
  return out;
}

describe('RoiAlign against a naive reference', () => {
  const X = { shape: [2, 3, 6, 7], data: Array.from({ length: 2 * 3 * 6 * 7 }, (_, i) => Math.sin(i * 0.7) * 5) };
  const xT = tensor('float32', X.shape, X.data);
  // Rois inside, partly outside, tiny and large; adaptive sampling (ratio 0) varies per roi.
  const roiList = [
    [0.5, 1, 5.5, 4],
    [-2, -1.5, 3, 8],
    [2, 2, 2.4, 2.2],
    [0, 0, 13, 11],
  ];
  const batchOf = [1, 0, 1, 0];
  const roisT = tensor('float32', [4, 4], roiList.flat());
  const batchT = tensor('int64', [4], batchOf);

  for (const mode of ['avg', 'max'] as const) {
    for (const [opset, halfPixel] of [[16, true], [10, false]] as const) {
      for (const ratio of [0, 2]) {
        it(`${mode}, opset ${opset}, sampling_ratio ${ratio}, spatial_scale 0.75 (rtol 1e-4)`, () => {
          const attrs = { output_height: 3, output_width: 2, sampling_ratio: ratio, spatial_scale: 0.75, mode };
          const [y] = runKernel('RoiAlign', [xT, roisT, batchT], attrs, { opset });
          const expected = naiveRoiAlign(X, roiList, batchOf, { oh: 3, ow: 2, ratio, scale: 0.75, mode, halfPixel });
          expectClose(y!, tensor('float32', [4, 3, 3, 2], expected), 1e-4, 1e-5);
        });
      }
    }
  }
});
