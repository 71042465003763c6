import type { ConvProblem, FloatArray } from './reference.js';

/** True for 2-D convs where every group has one input channel (group == C, M a multiple of C). */
export function depthwiseApplies(p: ConvProblem): boolean {
  return p.group > 1 && p.group === p.inChannels && p.outChannels % p.group === 0 && p.geo.inSize[0] === 1 && p.geo.kernel[0] === 1;
}

/** Per output row and column, the kernel taps [lo, hi) that land inside the input (computed once at prepare). */
export interface DepthwisePlan {
  khLo: Int32Array;
  khHi: Int32Array;
  kwLo: Int32Array;
  kwHi: Int32Array;
}

function tapRange(out: number, inSize: number, k: number, s: number, d: number, pad: number): [Int32Array, Int32Array] {
  const lo = new Int32Array(out);
  const hi = new Int32Array(out);
  for (let o = 0; o < out; o++) {
    const start = o * s - pad;
    lo[o] = Math.min(k, Math.max(0, Math.ceil(-start / d)));
    hi[o] = Math.max(lo[o]!, Math.min(k, Math.ceil((inSize - start) / d)));
  }
  return [lo, hi];
}

export function planDepthwise(p: ConvProblem): DepthwisePlan {
  const g = p.geo;
  const [khLo, khHi] = tapRange(g.outSize[1]!, g.inSize[1]!, g.kernel[1]!, g.strides[1]!, g.dilations[1]!, g.padsBegin[1]!);
  const [kwLo, kwHi] = tapRange(g.outSize[2]!, g.inSize[2]!, g.kernel[2]!, g.strides[2]!, g.dilations[2]!, g.padsBegin[2]!);
  return { khLo, khHi, kwLo, kwHi };
}

/**
 * Direct depthwise convolution: output channel m reads only input channel floor(m / multiplier).
 * The valid tap ranges come from the plan, so the inner loop has no bounds checks.
 * X [N, C, 1, H, W], W [M, 1, 1, KH, KW], B [M] -> Y [N, M, 1, OH, OW]
 */
export function convDepthwise(p: ConvProblem, plan: DepthwisePlan, x: FloatArray, w: FloatArray, bias: FloatArray | undefined, y: FloatArray): void {
  const g = p.geo;
  const [H, W] = [g.inSize[1]!, g.inSize[2]!];
  const [OH, OW] = [g.outSize[1]!, g.outSize[2]!];
  const [KH, KW] = [g.kernel[1]!, g.kernel[2]!];
  const [sh, sw] = [g.strides[1]!, g.strides[2]!];
  const [dh, dw] = [g.dilations[1]!, g.dilations[2]!];
  const [ph, pw] = [g.padsBegin[1]!, g.padsBegin[2]!];
  const { khLo, khHi, kwLo, kwHi } = plan;
  const multiplier = p.outChannels / p.inChannels;
  let yi = 0;
  for (let n = 0; n < p.batch; n++) {
    for (let m = 0; m < p.outChannels; m++) {
      const xc = (n * p.inChannels + Math.floor(m / multiplier)) * H * W;
      const wm = m * KH * KW;
      const b = bias === undefined ? 0 : bias[m]!;
      for (let oh = 0; oh < OH; oh++) {
        const ih0 = oh * sh - ph;
        const kh0 = khLo[oh]!;
        const kh1 = khHi[oh]!;
        for (let ow = 0; ow < OW; ow++) {
          const iw0 = ow * sw - pw;
          const kw0 = kwLo[ow]!;
          const kw1 = kwHi[ow]!;
          let s = b;
          for (let kh = kh0; kh < kh1; kh++) {
            const xr = xc + (ih0 + kh * dh) * W + iw0;
            const wr = wm + kh * KW;
            for (let kw = kw0; kw < kw1; kw++) s += x[xr + kw * dw]! * w[wr + kw]!;
          }
          y[yi++] = s;
        }
      }
    }
  }
}
