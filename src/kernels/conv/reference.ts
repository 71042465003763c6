import type { WindowGeometry } from './geometry.js';

export type FloatArray = Float32Array | Float64Array;

/** Sizes of one convolution, with the geometry lifted to exactly 3 spatial dims (D, H, W). */
export interface ConvProblem {
  batch: number;
  inChannels: number;
  outChannels: number;
  group: number;
  geo: WindowGeometry;
}

/**
 * The reference convolution: a direct loop over every output and every tap, per the ONNX Conv definition
 * Y[n, m, o] = B[m] + Σ_c Σ_k X[n, g·Cg + c, o·s − pb + k·d] · W[m, c, k], with g = floor(m / Mg) and
 * out-of-range input taps reading zero. Slow and simple on purpose: every fast path is tested against it.
 * X [N, C, D, H, W], W [M, C/group, KD, KH, KW], B [M] -> Y [N, M, OD, OH, OW]
 */
export function convReference(p: ConvProblem, x: FloatArray, w: FloatArray, bias: FloatArray | undefined, y: FloatArray): void {
  const [D, H, W] = p.geo.inSize as [number, number, number];
  const [OD, OH, OW] = p.geo.outSize as [number, number, number];
  const [KD, KH, KW] = p.geo.kernel as [number, number, number];
  const [sd, sh, sw] = p.geo.strides as [number, number, number];
  const [dd, dh, dw] = p.geo.dilations as [number, number, number];
  const [pd, ph, pw] = p.geo.padsBegin as [number, number, number];
  const Cg = p.inChannels / p.group;
  const Mg = p.outChannels / p.group;
  let yi = 0;
  for (let n = 0; n < p.batch; n++) {
    for (let m = 0; m < p.outChannels; m++) {
      const g = Math.floor(m / Mg);
      for (let od = 0; od < OD; od++) {
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            let s = bias === undefined ? 0 : bias[m]!;
            for (let c = 0; c < Cg; c++) {
              const xc = (n * p.inChannels + g * Cg + c) * D * H * W;
              const wc = (m * Cg + c) * KD * KH * KW;
              for (let kd = 0; kd < KD; kd++) {
                const id = od * sd - pd + kd * dd;
                if (id < 0 || id >= D) continue;
                for (let kh = 0; kh < KH; kh++) {
                  const ih = oh * sh - ph + kh * dh;
                  if (ih < 0 || ih >= H) continue;
                  for (let kw = 0; kw < KW; kw++) {
                    const iw = ow * sw - pw + kw * dw;
                    if (iw < 0 || iw >= W) continue;
                    s += x[xc + (id * H + ih) * W + iw]! * w[wc + (kd * KH + kh) * KW + kw]!;
                  }
                }
              }
            }
            y[yi++] = s;
          }
        }
      }
    }
  }
}
