import type { NumericArray } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat, attrInt, attrString } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef } from '../kernel.js';
import { requireFloat } from '../reduce/common.js';

/**
 * RoiAlign (ONNX 10, 16; Mask R-CNN): each roi is split into output_height × output_width bins, each
 * bin averages (or maxes) bilinear samples on a regular sampling grid.
 * Opset 16's default coordinate_transformation_mode half_pixel shifts roi corners by -0.5;
 * opset 10 behaves as output_half_pixel (no shift, rois at least 1×1).
 */
export const roiAlignKernel: KernelDef = {
  opType: 'RoiAlign',
  prepare(ctx) {
    // X (N, C, H, W), rois (R, 4) [x1, y1, x2, y2], batch_indices (R) -> Y (R, C, oh, ow)
    const x = requireInput(ctx, 0);
    const rois = requireInput(ctx, 1);
    const batchIdx = requireInput(ctx, 2);
    requireFloat(ctx, x.dtype);
    if (x.shape.length !== 4) throw kernelError(ctx, `X must be (N, C, H, W), got [${x.shape}]`);
    if (rois.shape.length !== 2 || rois.shape[1] !== 4) throw kernelError(ctx, `rois must be (R, 4), got [${rois.shape}]`);
    const R = rois.shape[0]!;
    if (batchIdx.shape.length !== 1 || batchIdx.shape[0] !== R) throw kernelError(ctx, `batch_indices must be (${R}), got [${batchIdx.shape}]`);
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const mode = attrString(ctx.node, 'mode', 'avg');
    if (mode !== 'avg' && mode !== 'max') throw new UnsupportedError(`${nodeLabel(ctx.node)}: mode '${mode}' is not supported`);
    const oh = attrInt(ctx.node, 'output_height', 1);
    const ow = attrInt(ctx.node, 'output_width', 1);
    const samplingRatio = attrInt(ctx.node, 'sampling_ratio', 0);
    const spatialScale = attrFloat(ctx.node, 'spatial_scale', 1);
    const coord = ctx.opset >= 16 ? attrString(ctx.node, 'coordinate_transformation_mode', 'half_pixel') : 'output_half_pixel';
    if (coord !== 'half_pixel' && coord !== 'output_half_pixel') {
      throw new UnsupportedError(`${nodeLabel(ctx.node)}: coordinate_transformation_mode '${coord}' is not supported`);
    }
    const halfPixel = coord === 'half_pixel';
    const offset = halfPixel ? 0.5 : 0;

    const corner = new Int32Array(4);
    const weight = new Float64Array(4);
    const isMax = mode === 'max';

    return {
      outputs: [{ dtype: x.dtype, shape: [R, C, oh, ow] }],
      run(inputs, outputs) {
        const xd = inputs[0] as NumericArray;
        const rd = inputs[1] as NumericArray;
        const bd = inputs[2] as ArrayLike<number | bigint>;
        const y = outputs[0] as NumericArray;
        const plane = H * W;
        const binCount = oh * ow;
        for (let r = 0; r < R; r++) {
          const n = Number(bd[r]);
          if (!(n >= 0 && n < N)) throw kernelError(ctx, `batch index ${n} of roi ${r} is outside [0, ${N})`);
          const x0 = rd[r * 4]! * spatialScale - offset;
          const y0 = rd[r * 4 + 1]! * spatialScale - offset;
          let rw = rd[r * 4 + 2]! * spatialScale - offset - x0;
          let rh = rd[r * 4 + 3]! * spatialScale - offset - y0;
          if (!halfPixel) {
            rw = Math.max(rw, 1);
            rh = Math.max(rh, 1);
          }
          const binH = rh / oh;
          const binW = rw / ow;
          const gridH = samplingRatio > 0 ? samplingRatio : Math.ceil(rh / oh);
          const gridW = samplingRatio > 0 ? samplingRatio : Math.ceil(rw / ow);
          const count = Math.max(gridH * gridW, 1);
          const inBase = n * C * plane;
          const outBase = r * C * binCount;
          for (let bin = 0; bin < binCount; bin++) {
            const ph = Math.floor(bin / ow);
            const pw = bin - ph * ow;
            // Each sample's corners and weights are shared by every channel: compute once, apply C times.
            for (let c = 0; c < C; c++) y[outBase + c * binCount + bin] = isMax ? -Infinity : 0;
            for (let iy = 0; iy < gridH; iy++) {
              const sy = y0 + ph * binH + ((iy + 0.5) * binH) / gridH;
              for (let ix = 0; ix < gridW; ix++) {
                const sx = x0 + pw * binW + ((ix + 0.5) * binW) / gridW;
                bilinearTaps(H, W, sy, sx, corner, weight);
                for (let c = 0; c < C; c++) {
                  const p = inBase + c * plane;
                  const o = outBase + c * binCount + bin;
                  const a = weight[0]! * xd[p + corner[0]!]!;
                  const b = weight[1]! * xd[p + corner[1]!]!;
                  const d = weight[2]! * xd[p + corner[2]!]!;
                  const e = weight[3]! * xd[p + corner[3]!]!;
                  // Max mode keeps the largest weighted corner, as onnxruntime and the ONNX reference do.
                  y[o] = isMax ? Math.max(y[o]!, a, b, d, e) : y[o]! + a + b + d + e;
                }
              }
            }
            for (let c = 0; c < C; c++) {
              const o = outBase + c * binCount + bin;
              y[o] = isMax ? (gridH * gridW > 0 ? y[o]! : 0) : y[o]! / count;
            }
          }
        }
      },
    };
  },
};

/**
 * Corners (flat offsets in one plane) and bilinear weights of the sample at (sy, sx): all weights 0 outside
 * [-1, H] × [-1, W], edge-clamped inside (the Detectron convention ONNX follows).
 */
function bilinearTaps(H: number, W: number, sy: number, sx: number, corner: Int32Array, weight: Float64Array): void {
  if (sy < -1 || sy > H || sx < -1 || sx > W) {
    corner.fill(0);
    weight.fill(0);
    return;
  }
  let yy = Math.max(sy, 0);
  let xx = Math.max(sx, 0);
  let yLo = Math.floor(yy);
  let xLo = Math.floor(xx);
  let yHi = yLo + 1;
  let xHi = xLo + 1;
  if (yLo >= H - 1) yy = yHi = yLo = H - 1;
  if (xLo >= W - 1) xx = xHi = xLo = W - 1;
  const ly = yy - yLo;
  const lx = xx - xLo;
  corner[0] = yLo * W + xLo;
  corner[1] = yLo * W + xHi;
  corner[2] = yHi * W + xLo;
  corner[3] = yHi * W + xHi;
  weight[0] = (1 - ly) * (1 - lx);
  weight[1] = (1 - ly) * lx;
  weight[2] = ly * (1 - lx);
  weight[3] = ly * lx;
}
