import type { ConvProblem, FloatArray } from './reference.js';

/** True for 2-D convs where every group has one input channel (group == C, M a multiple of C). */
export function depthwiseApplies(p: ConvProblem): boolean {
  return p.group > 1 && p.group === p.inChannels && p.outChannels % p.group === 0 && p.geo.inSize[0] === 1 && p.geo.kernel[0] === 1;
}

/**
 * Direct depthwise convolution: output channel m reads only input channel floor(m / multiplier).
 * Valid tap ranges are computed per output row and column, so the inner loop has no bounds checks.
 * X [N, C, 1, H, W], W [M, 1, 1, KH, KW], B [M] -> Y [N, M, 1, OH, OW]
 */
export function convDepthwise(p: ConvProblem, x: FloatArray, w: FloatArray, bias: FloatArray | undefined, y: FloatArray): void {
  const g = p.geo;
  const [H, W] = [g.inSize[1]!, g.inSize[2]!];
  const [OH, OW] = [g.outSize[1]!, g.outSize[2]!];
  const [KH, KW] = [g.kernel[1]!, g.kernel[2]!];
  const [sh, sw] = [g.strides[1]!, g.strides[2]!];
  const [dh, dw] = [g.dilations[1]!, g.dilations[2]!];
  const [ph, pw] = [g.padsBegin[1]!, g.padsBegin[2]!];
  const multiplier = p.outChannels / p.inChannels;
  let yi = 0;
  for (let n = 0; n < p.batch; n++) {
    for (let m = 0; m < p.outChannels; m++) {
      const xc = (n * p.inChannels + Math.floor(m / multiplier)) * H * W;
      const wm = m * KH * KW;
      const b = bias === undefined ? 0 : bias[m]!;
      for (let oh = 0; oh < OH; oh++) {
        const ih0 = oh * sh - ph;
        const khLo = Math.max(0, Math.ceil(-ih0 / dh));
        const khHi = Math.min(KH, Math.ceil((H - ih0) / dh));
        for (let ow = 0; ow < OW; ow++) {
          const iw0 = ow * sw - pw;
          const kwLo = Math.max(0, Math.ceil(-iw0 / dw));
          const kwHi = Math.min(KW, Math.ceil((W - iw0) / dw));
          let s = b;
          for (let kh = khLo; kh < khHi; kh++) {
            const xr = xc + (ih0 + kh * dh) * W + iw0;
            const wr = wm + kh * KW;
            for (let kw = kwLo; kw < kwHi; kw++) s += x[xr + kw * dw]! * w[wr + kw]!;
          }
          y[yi++] = s;
        }
      }
    }
  }
}
