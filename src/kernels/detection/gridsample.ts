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

/** Per-axis sampling rules: where valid coordinates lie and how padding treats the rest. */
interface AxisRules {
  mode: SampleMode;
  padding: Padding;
  alignCorners: boolean;
}

/** Normalised g ∈ [-1, 1] to a pixel coordinate: pixel centres at ±1 with align_corners, pixel edges without. */
function denormalize(g: number, len: number, alignCorners: boolean): number {
  return alignCorners ? ((g + 1) / 2) * (len - 1) : ((g + 1) * len - 1) / 2;
}

/** Border/reflection move out-of-range coordinates back inside before interpolating (ONNX reference). */
function padCoordinate(v: number, len: number, lo: number, hi: number, padding: Padding): number {
  if (v >= lo && v <= hi) return v;
  if (padding === 'border') return Math.min(Math.max(v, 0), len - 1);
  if (padding === 'reflection') return reflect(v, lo, hi);
  return v;
}

/** Index of tap i along an axis of length len, or -1 when it reads the zero padding. */
function tapIndex(i: number, len: number, lo: number, hi: number, padding: Padding): number {
  if (i >= 0 && i < len) return i;
  if (padding === 'zeros') return -1;
  if (padding === 'border') return i < 0 ? 0 : len - 1;
  return Math.min(Math.max(Math.trunc(reflect(i, lo, hi)), 0), len - 1);
}

/**
 * The taps of one axis for normalised coordinate g: writes `taps` indices (-1 = zero pad) and weights
 * into idx/w at `at`.
 */
function axisTaps(g: number, len: number, r: AxisRules, taps: number, idx: Int32Array, w: Float64Array, at: number): void {
  // Valid coordinate range: pixel centres with align_corners, pixel edges without.
  const [lo, hi] = r.alignCorners ? [0, len - 1] : [-0.5, len - 0.5];
  let s = denormalize(g, len, r.alignCorners);
  if (r.mode === 'nearest') s = roundHalfEven(s);
  s = padCoordinate(s, len, lo, hi, r.padding);
  let first: number;
  if (r.mode === 'nearest') {
    first = Math.trunc(s);
    w[at] = 1;
  } else {
    const f = Math.floor(s);
    if (r.mode === 'linear') {
      first = f;
      w[at] = 1 - (s - f);
      w[at + 1] = s - f;
    } else {
      first = f - 1;
      cubicWeights(s - f, w, at);
    }
  }
  for (let a = 0; a < taps; a++) idx[at + a] = tapIndex(first + a, len, lo, hi, r.padding);
}

/**
 * GridSample (ONNX 16: 2-D; 20, 22: any number of spatial axes, bilinear/bicubic renamed linear/cubic):
 * samples X at the normalised [-1, 1] locations of `grid`, whose last dim lists the coordinates innermost
 * axis first (x, y, z...). Each output point mixes taps^r input points (1, 2 or 4 taps per axis).
 */
export const gridSampleKernel: KernelDef = {
  opType: 'GridSample',
  prepare(ctx) {
    // X (N, C, D1..Dr), grid (N, O1..Or, r) -> Y (N, C, O1..Or)
    const x = requireInput(ctx, 0);
    const grid = requireInput(ctx, 1);
    requireFloat(ctx, x.dtype);
    requireFloat(ctx, grid.dtype, 'grid');
    const r = x.shape.length - 2;
    if (r < 1 || (ctx.opset < 20 && r !== 2)) {
      throw new UnsupportedError(`${nodeLabel(ctx.node)}: input rank ${x.shape.length} is not supported at opset ${ctx.opset}`);
    }
    const [N, C] = [x.shape[0]!, x.shape[1]!];
    const dims = x.shape.slice(2);
    if (grid.shape.length !== r + 2 || grid.shape[0] !== N || grid.shape[r + 1] !== r) {
      throw kernelError(ctx, `grid shape [${grid.shape}] should be [${N}, ${dims.map((_, i) => `O${i + 1}`)}, ${r}]`);
    }
    const outDims = grid.shape.slice(1, r + 1);
    const modeAttr = attrString(ctx.node, 'mode', ctx.opset >= 20 ? 'linear' : 'bilinear');
    // Both spellings are accepted at every opset: they name the same interpolation.
    const modes: Record<string, SampleMode> = { nearest: 'nearest', bilinear: 'linear', linear: 'linear', bicubic: 'cubic', cubic: 'cubic' };
    const mode = modes[modeAttr];
    if (mode === undefined) throw new UnsupportedError(`${nodeLabel(ctx.node)}: mode '${modeAttr}' is not supported`);
    const padding = attrString(ctx.node, 'padding_mode', 'zeros') as Padding;
    if (padding !== 'zeros' && padding !== 'border' && padding !== 'reflection') {
      throw new UnsupportedError(`${nodeLabel(ctx.node)}: padding_mode '${padding}' is not supported`);
    }
    const rules: AxisRules = { mode, padding, alignCorners: attrInt(ctx.node, 'align_corners', 0) !== 0 };
    const taps = mode === 'nearest' ? 1 : mode === 'linear' ? 2 : 4;
    const combos = taps ** r;
    const strides = new Array<number>(r);
    for (let d = r - 1, acc = 1; d >= 0; d--) {
      strides[d] = acc;
      acc *= dims[d]!;
    }
    const plane = dims.reduce((a, b) => a * b, 1);
    const outPlane = outDims.reduce((a, b) => a * b, 1);
    // Per output point: taps per axis, then the taps^r flat offsets (-1 = zero pad) and weights, reused per channel.
    const idx = new Int32Array(r * taps);
    const w = new Float64Array(r * taps);
    const offs = new Int32Array(combos);
    const wts = new Float64Array(combos);

    /** Expands the per-axis taps into every combination (the tap of axis d is digit d of t in base `taps`). */
    const combine = (): void => {
      for (let t = 0; t < combos; t++) {
        let off = 0;
        let wt = 1;
        for (let d = r - 1, rest = t; d >= 0; d--, rest = Math.floor(rest / taps)) {
          const a = rest % taps;
          const i = idx[d * taps + a]!;
          if (i < 0 || off < 0) off = -1;
          else off += i * strides[d]!;
          wt *= w[d * taps + a]!;
        }
        offs[t] = off;
        wts[t] = wt;
      }
    };

    return {
      outputs: [{ dtype: x.dtype, shape: [N, C, ...outDims] }],
      run(inputs, outputs) {
        const xd = inputs[0] as NumericArray;
        const g = inputs[1] as NumericArray;
        const y = outputs[0] as NumericArray;
        for (let n = 0; n < N; n++) {
          for (let p = 0; p < outPlane; p++) {
            const gi = (n * outPlane + p) * r;
            // grid lists the innermost axis first: component k belongs to spatial axis r-1-k.
            for (let d = 0; d < r; d++) axisTaps(g[gi + r - 1 - d]!, dims[d]!, rules, taps, idx, w, d * taps);
            combine();
            for (let ch = 0; ch < C; ch++) {
              const xb = (n * C + ch) * plane;
              let acc = 0;
              for (let t = 0; t < combos; t++) if (offs[t]! >= 0) acc += wts[t]! * xd[xb + offs[t]!]!;
              y[(n * C + ch) * outPlane + p] = acc;
            }
          }
        }
      },
    };
  },
};
