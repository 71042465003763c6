import type { DType } from '../../dtype.js';

/**
 * Round half to even (IEEE roundTiesToEven), as the ONNX spec asks for QuantizeLinear and as
 * nearbyint / cvtps2dq do in onnxruntime. Math.round rounds ties up, so odd results of a tie step back.
 */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * v + ROUND_MAGIC - ROUND_MAGIC is v rounded half to even for |v| < ROUND_LIMIT: adding 1.5·2^52 leaves no
 * fraction bits, so the FPU's own round-to-nearest-even does the work (-0 becomes +0, harmless once a zero
 * point is added). Hot requantizing stores write it inline, where a call per element would dominate.
 */
export const ROUND_MAGIC = 2 ** 52 + 2 ** 51;
export const ROUND_LIMIT = 2 ** 51;

/** The integer range [min, max] of a quantized integer type, or undefined for other types. */
export function integerRange(dtype: DType): [number, number] | undefined {
  switch (dtype) {
    case 'int4':
      return [-8, 7];
    case 'uint4':
      return [0, 15];
    case 'int8':
      return [-128, 127];
    case 'uint8':
      return [0, 255];
    case 'int16':
      return [-32768, 32767];
    case 'uint16':
      return [0, 65535];
    case 'int32':
      return [-2147483648, 2147483647];
    default:
      return undefined;
  }
}

/** saturate(round(v) + zeroPoint) into [lo, hi]: the last step of every integer quantizer. */
export function quantizeToRange(v: number, zeroPoint: number, lo: number, hi: number): number {
  const q = roundHalfEven(v) + zeroPoint;
  return q < lo ? lo : q > hi ? hi : q;
}

/** The narrow float formats stored widened in Float32Array, described by the parameters rounding needs. */
interface NarrowFloatFormat {
  mantissaBits: number;
  /** Exponent of the smallest normal number; below it the spacing is fixed (subnormals). */
  minNormalExp: number;
  maxFinite: number;
  hasInfinity: boolean;
  /** The "fnuz" formats have a single zero (no -0). */
  hasNegativeZero: boolean;
}

const FLOAT8_FORMATS: Partial<Record<DType, NarrowFloatFormat>> = {
  float8e4m3fn: { mantissaBits: 3, minNormalExp: -6, maxFinite: 448, hasInfinity: false, hasNegativeZero: true },
  float8e4m3fnuz: { mantissaBits: 3, minNormalExp: -7, maxFinite: 240, hasInfinity: false, hasNegativeZero: false },
  float8e5m2: { mantissaBits: 2, minNormalExp: -14, maxFinite: 57344, hasInfinity: true, hasNegativeZero: true },
  float8e5m2fnuz: { mantissaBits: 2, minNormalExp: -15, maxFinite: 57344, hasInfinity: false, hasNegativeZero: false },
};

const HALF_FORMATS: Partial<Record<DType, NarrowFloatFormat>> = {
  float16: { mantissaBits: 10, minNormalExp: -14, maxFinite: 65504, hasInfinity: true, hasNegativeZero: true },
  bfloat16: { mantissaBits: 7, minNormalExp: -126, maxFinite: (2 - 2 ** -7) * 2 ** 127, hasInfinity: true, hasNegativeZero: true },
};

/**
 * Rounds a float32 result to the precision of its declared 16-bit type (ties to even, overflow to ±Inf),
 * as a cast to float16 / bfloat16 would; float32 values pass through.
 */
export function roundToStorageType(v: number, dtype: DType): number {
  const f = HALF_FORMATS[dtype];
  return f === undefined ? v : roundToFormat(v, f, false);
}

export function isFloat8(dtype: DType): boolean {
  return FLOAT8_FORMATS[dtype] !== undefined;
}

/**
 * Rounds v to the nearest value of a float8 format (ties to even), following the ONNX Cast table:
 * with saturate, out-of-range finite values and ±Inf clamp to ±max (Inf becomes NaN in the fnuz
 * formats); without it they become ±Inf (e5m2) or NaN.
 */
export function roundToFloat8(v: number, dtype: DType, saturate: boolean): number {
  const f = FLOAT8_FORMATS[dtype];
  if (f === undefined) throw new Error(`roundToFloat8: ${dtype} is not a float8 type`);
  return roundToFormat(v, f, saturate);
}

function roundToFormat(v: number, f: NarrowFloatFormat, saturate: boolean): number {
  if (Number.isNaN(v)) return NaN;
  const sign = v < 0 || Object.is(v, -0) ? -1 : 1;
  const a = Math.abs(v);
  if (a === Infinity) {
    if (!f.hasNegativeZero) return NaN; // the fnuz formats have no infinity and map it to NaN even when saturating
    if (saturate) return sign * f.maxFinite;
    return f.hasInfinity ? v : NaN;
  }
  let q = 0;
  if (a > 0) {
    let e = Math.floor(Math.log2(a));
    if (2 ** e > a) e--;
    else if (2 ** (e + 1) <= a) e++;
    const step = 2 ** (Math.max(e, f.minNormalExp) - f.mantissaBits);
    q = roundHalfEven(a / step) * step;
  }
  if (q > f.maxFinite) {
    if (saturate) q = f.maxFinite;
    else return f.hasInfinity ? sign * Infinity : NaN;
  }
  if (q === 0) return f.hasNegativeZero ? sign * 0 : 0;
  return sign * q;
}

/**
 * Requantizes an int32 accumulator: saturate(round(acc · multiplier) + zeroPoint), with the product taken
 * in float32 as onnxruntime's MlasRequantizeOutput does, so ties round the same way.
 */
export function requantize(acc: number, multiplier: number, zeroPoint: number, lo: number, hi: number): number {
  return quantizeToRange(Math.fround(Math.fround(acc) * multiplier), zeroPoint, lo, hi);
}
