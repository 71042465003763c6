/**
 * The per-axis arithmetic of Resize, in float32 exactly as onnxruntime's CPU kernel (upsamplebase.h, upsample.cc)
 * evaluates it, so tinfer's outputs are the same bits: every float operation below is one IEEE float32 operation
 * (Math.fround after each step; a double operation rounded once is the correctly rounded float32 result), and the
 * few steps onnxruntime does in double (half_pixel_symmetric's sum, tf_crop_and_resize's one-pixel case) stay in
 * double. ONNX Resize-19, coordinate_transformation_mode and nearest_mode.
 */

const fr = Math.fround;

export type CoordinateMode =
  | 'half_pixel'
  | 'half_pixel_symmetric'
  | 'pytorch_half_pixel'
  | 'align_corners'
  | 'asymmetric'
  | 'tf_half_pixel_for_nn'
  | 'tf_crop_and_resize';

export const COORDINATE_MODES: ReadonlySet<string> = new Set<CoordinateMode>([
  'half_pixel',
  'half_pixel_symmetric',
  'pytorch_half_pixel',
  'align_corners',
  'asymmetric',
  'tf_half_pixel_for_nn',
  'tf_crop_and_resize',
]);

/**
 * Output index j -> input coordinate along one axis. `scale` is the float32 scale, `resized` the resized length
 * the transform divides by (the output length; see ResizeProblem.lengthResized), `original` the input length,
 * `roiStart`/`roiEnd` the float32 roi of tf_crop_and_resize.
 */
export function originalCoordinate(
  mode: CoordinateMode, j: number, scale: number, resized: number, original: number, roiStart: number, roiEnd: number,
): number {
  switch (mode) {
    case 'asymmetric':
      return fr(j / scale);
    case 'pytorch_half_pixel':
      return resized > 1 ? fr(fr(fr(j + 0.5) / scale) - 0.5) : 0;
    case 'tf_half_pixel_for_nn':
      return fr(fr(j + 0.5) / scale);
    case 'align_corners':
      return resized === 1 ? 0 : fr(fr(j * fr(original - 1)) / fr(resized - 1));
    case 'tf_crop_and_resize':
      return resized > 1
        ? fr(fr(roiStart * fr(original - 1)) + fr(fr(fr(j * fr(roiEnd - roiStart)) * fr(original - 1)) / fr(resized - 1)))
        : fr(0.5 * fr(roiStart + roiEnd) * (original - 1));
    case 'half_pixel_symmetric': {
      // Centres the sampled window when the output length was rounded from scale·in (opset 19).
      const outputWidth = fr(scale * original);
      const adjustment = fr(resized / outputWidth);
      const offset = fr(fr(original / 2) * fr(1 - adjustment));
      return fr(offset + (j + 0.5) / scale - 0.5);
    }
    case 'half_pixel':
      return fr(fr(fr(j + 0.5) / scale) - 0.5);
  }
}

/** nearest_mode ('legacy': Resize-10 and Upsample, ceil when downsampling, truncation otherwise). */
export type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil' | 'legacy';

export const NEAREST_MODES: ReadonlySet<string> = new Set(['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']);

/**
 * The input index nearest to float32 coordinate x (before clamping). Halves round away from zero (std::round);
 * a negative x gives an index <= 0 whichever way it rounds, and the caller clamps it to 0.
 */
export function nearestPixel(mode: NearestMode, x: number, downsampling: boolean): number {
  switch (mode) {
    case 'round_prefer_floor':
      return x === fr(Math.trunc(x) + 0.5) ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil':
      return Math.round(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    case 'legacy':
      return downsampling ? Math.ceil(x) : Math.trunc(x);
  }
}

/**
 * Keys' cubic convolution weights (Keys 1981, ONNX cubic_coeff_a = A) of the four taps at distances 1+s, s, 1−s,
 * 2−s from a coordinate with fractional part s, in onnxruntime's float32 evaluation order.
 */
export function cubicCoefficients(s: number, A: number): [number, number, number, number] {
  const t = Math.abs(s);
  const far = (d: number) => fr(fr(fr(fr(fr(fr(A * d) - fr(5 * A)) * d) + fr(8 * A)) * d) - fr(4 * A));
  const near = (d: number) => fr(fr(fr(fr(fr(fr(A + 2) * d) - fr(A + 3)) * d) * d) + 1);
  return [far(fr(t + 1)), near(t), near(fr(1 - t)), far(fr(2 - t))];
}

/**
 * One axis of bilinear/trilinear interpolation as onnxruntime precomputes it: output j reads input indices
 * i1[j] and i2[j] = min(i1 + 1, len − 1) with weights d2[j] and d1[j] (the distances to the other tap; 0.5 each
 * at the clamped edge), and `outside[j]` marks coordinates outside the input (tf_crop_and_resize extrapolates).
 */
export interface LinearAxis {
  readonly i1: Int32Array;
  readonly i2: Int32Array;
  readonly d1: Float32Array;
  readonly d2: Float32Array;
  readonly outside: Uint8Array;
}

/** Input coordinate of every output index along one axis (scale 1 maps j to j, as onnxruntime does). */
export function axisCoordinates(
  mode: CoordinateMode, outLen: number, scale: number, resized: number, inLen: number, roiStart: number, roiEnd: number,
): Float32Array {
  const c = new Float32Array(outLen);
  for (let j = 0; j < outLen; j++) c[j] = scale === 1 ? j : originalCoordinate(mode, j, scale, resized, inLen, roiStart, roiEnd);
  return c;
}

export function linearAxis(coords: Float32Array, inLen: number, extrapolate: boolean): LinearAxis {
  const n = coords.length;
  const a: LinearAxis = { i1: new Int32Array(n), i2: new Int32Array(n), d1: new Float32Array(n), d2: new Float32Array(n), outside: new Uint8Array(n) };
  for (let j = 0; j < n; j++) {
    const orig = coords[j]!;
    a.outside[j] = extrapolate && (orig < 0 || orig > inLen - 1) ? 1 : 0;
    const v = Math.max(0, Math.min(orig, inLen - 1));
    const i1 = Math.min(Math.trunc(v), inLen - 1);
    const i2 = Math.min(i1 + 1, inLen - 1);
    a.i1[j] = i1;
    a.i2[j] = i2;
    a.d1[j] = i1 === i2 ? 0.5 : Math.abs(v - i1);
    a.d2[j] = i1 === i2 ? 0.5 : Math.abs(v - i2);
  }
  return a;
}

/**
 * One axis of bicubic interpolation: output j reads the four input indices first[j] − 1 .. first[j] + 2 (clamped
 * by the reader) with weights coeff[4j..4j+3] over sum[j] (1, or the sum of the weights left inside the input
 * under exclude_outside), and `outside[j]` marks coordinates outside the input (tf_crop_and_resize).
 */
export interface CubicAxis {
  readonly first: Int32Array;
  readonly coeff: Float32Array;
  readonly sum: Float32Array;
  readonly outside: Uint8Array;
}

export function cubicAxis(coords: Float32Array, inLen: number, A: number, excludeOutside: boolean, extrapolate: boolean): CubicAxis {
  const n = coords.length;
  const a: CubicAxis = { first: new Int32Array(n), coeff: new Float32Array(4 * n), sum: new Float32Array(n), outside: new Uint8Array(n) };
  for (let j = 0; j < n; j++) {
    const orig = coords[j]!;
    a.outside[j] = extrapolate && (orig < 0 || orig > inLen - 1) ? 1 : 0;
    const base = Math.floor(orig);
    a.first[j] = base;
    const c = cubicCoefficients(fr(orig - base), A);
    let sum = excludeOutside ? 0 : 1;
    for (let t = 0; t < 4; t++) {
      const k = base - 1 + t;
      const w = excludeOutside && (k < 0 || k >= inLen) ? 0 : c[t]!;
      a.coeff[4 * j + t] = w;
      if (excludeOutside) sum = fr(sum + w);
    }
    a.sum[j] = sum;
  }
  return a;
}
