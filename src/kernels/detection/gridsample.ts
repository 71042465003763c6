import type { NumericArray } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrInt, attrString } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef } from '../kernel.js';
import { requireFloat } from '../reduce/common.js';

type SampleMode = 'nearest' | 'linear' | 'cubic';
type Padding = 'zeros' | 'border' | 'reflection';

/** np.rint: round half to even, as the ONNX reference rounds nearest-mode coordinates. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Folds x back into [lo, hi] by mirroring at the bounds (GridSample reflection padding). */
function reflect(x: number, lo: number, hi: number): number {
  const range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    const dx = lo - x;
    const n = Math.floor(dx / range);
    const r = dx - n * range;
    return n % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi;
    const n = Math.floor(dx / range);
    const r = dx - n * range;
    return n % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}

/** Keys cubic weights (A = -0.75) for the 4 taps at floor(x)-1 .. floor(x)+2, t = x - floor(x). */
function cubicWeights(t: number, w: Float64Array, at: number): void {
  const A = -0.75;
  const far = (d: number): number => ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
  const near = (d: number): number => ((A + 2) * d - (A + 3)) * d * d + 1;
  w[at] = far(t + 1);
  w[at + 1] = near(t);
  w[at + 2] = near(1 - t);
  w[at + 3] = far(2 - t);
}

/**
 * GridSample (ONNX 16; 20 renames bilinear/bicubic to linear/cubic): samples X at the normalised
 * [-1, 1] (x, y) locations of `grid`. 2-D spatial inputs only.
 */
export const gridSampleKernel: KernelDef = {
  opType: 'GridSample',
  prepare(ctx) {
    // X (N, C, H, W), grid (N, Ho, Wo, 2) -> Y (N, C, Ho, Wo)
    const x = requireInput(ctx, 0);
    const grid = requireInput(ctx, 1);
    requireFloat(ctx, x.dtype);
    requireFloat(ctx, grid.dtype, 'grid');
    if (x.shape.length !== 4) throw new UnsupportedError(`${nodeLabel(ctx.node)}: only 4-D input (2-D sampling) is supported, got rank ${x.shape.length}`);
    const [N, C, H, W] = x.shape as [number, number, number, number];
    if (grid.shape.length !== 4 || grid.shape[0] !== N || grid.shape[3] !== 2) {
      throw kernelError(ctx, `grid shape [${grid.shape}] should be [${N}, Ho, Wo, 2]`);
    }
    const [Ho, Wo] = [grid.shape[1]!, grid.shape[2]!];
    const modeAttr = attrString(ctx.node, 'mode', ctx.opset >= 20 ? 'linear' : 'bilinear');
    const modes: Record<string, SampleMode> = { nearest: 'nearest', bilinear: 'linear', linear: 'linear', bicubic: 'cubic', cubic: 'cubic' };
    const mode = modes[modeAttr];
    if (mode === undefined) throw new UnsupportedError(`${nodeLabel(ctx.node)}: mode '${modeAttr}' is not supported`);
    const padding = attrString(ctx.node, 'padding_mode', 'zeros') as Padding;
    if (padding !== 'zeros' && padding !== 'border' && padding !== 'reflection') {
      throw new UnsupportedError(`${nodeLabel(ctx.node)}: padding_mode '${padding}' is not supported`);
    }
    const alignCorners = attrInt(ctx.node, 'align_corners', 0) !== 0;
    // Valid coordinate range: pixel centres with align_corners, pixel edges without.
    const [xLo, xHi, yLo, yHi] = alignCorners ? [0, W - 1, 0, H - 1] : [-0.5, W - 0.5, -0.5, H - 0.5];
    const taps = mode === 'nearest' ? 1 : mode === 'linear' ? 2 : 4;
    // Per output pixel: flat offsets (or -1 for a zero pad) and weights of its taps², reused for every channel.
    const offs = new Int32Array(taps * taps);
    const wts = new Float64Array(taps * taps);
    const wx = new Float64Array(taps);
    const wy = new Float64Array(taps);

    const denormalize = (g: number, len: number): number => (alignCorners ? ((g + 1) / 2) * (len - 1) : ((g + 1) * len - 1) / 2);
    /** Index of tap i along an axis of length len, or -1 when it reads the zero padding. */
    const tapIndex = (i: number, len: number, lo: number, hi: number): number => {
      if (i >= 0 && i < len) return i;
      if (padding === 'zeros') return -1;
      if (padding === 'border') return i < 0 ? 0 : len - 1;
      return Math.min(Math.max(Math.trunc(reflect(i, lo, hi)), 0), len - 1);
    };
    /** Border/reflection move out-of-range coordinates back inside before interpolating (ONNX reference). */
    const pad = (v: number, len: number, lo: number, hi: number): number => {
      if (v >= lo && v <= hi) return v;
      if (padding === 'border') return Math.min(Math.max(v, 0), len - 1);
      if (padding === 'reflection') return reflect(v, lo, hi);
      return v;
    };

    return {
      outputs: [{ dtype: x.dtype, shape: [N, C, Ho, Wo] }],
      run(inputs, outputs) {
        const xd = inputs[0] as NumericArray;
        const g = inputs[1] as NumericArray;
        const y = outputs[0] as NumericArray;
        const plane = H * W;
        const outPlane = Ho * Wo;
        for (let n = 0; n < N; n++) {
          for (let p = 0; p < outPlane; p++) {
            const gi = (n * outPlane + p) * 2;
            let sx = denormalize(g[gi]!, W);
            let sy = denormalize(g[gi + 1]!, H);
            if (mode === 'nearest') {
              sx = roundHalfEven(sx);
              sy = roundHalfEven(sy);
            }
            sx = pad(sx, W, xLo, xHi);
            sy = pad(sy, H, yLo, yHi);
            let x0: number;
            let y0: number;
            if (mode === 'nearest') {
              x0 = Math.trunc(sx);
              y0 = Math.trunc(sy);
              wx[0] = 1;
              wy[0] = 1;
            } else {
              const fx = Math.floor(sx);
              const fy = Math.floor(sy);
              if (mode === 'linear') {
                x0 = fx;
                y0 = fy;
                wx[0] = 1 - (sx - fx);
                wx[1] = sx - fx;
                wy[0] = 1 - (sy - fy);
                wy[1] = sy - fy;
              } else {
                x0 = fx - 1;
                y0 = fy - 1;
                cubicWeights(sx - fx, wx, 0);
                cubicWeights(sy - fy, wy, 0);
              }
            }
            for (let a = 0; a < taps; a++) {
              const r = tapIndex(y0 + a, H, yLo, yHi);
              for (let b = 0; b < taps; b++) {
                const c = tapIndex(x0 + b, W, xLo, xHi);
                offs[a * taps + b] = r < 0 || c < 0 ? -1 : r * W + c;
                wts[a * taps + b] = wy[a]! * wx[b]!;
              }
            }
            for (let ch = 0; ch < C; ch++) {
              const xb = (n * C + ch) * plane;
              let acc = 0;
              for (let t = 0; t < taps * taps; t++) if (offs[t]! >= 0) acc += wts[t]! * xd[xb + offs[t]!]!;
              y[(n * C + ch) * outPlane + p] = acc;
            }
          }
        }
      },
    };
  },
};
