/**
 * Narrow float formats: float16 (IEEE 754 binary16), bfloat16, and the four ONNX float8 formats
 * (ONNX IR spec "Float8 types"; Micikevicius et al. 2022 for E4M3FN/E5M2, Graphcore's FNUZ variants).
 * Decoders turn a bit pattern into a JS number; encoders round a number to the nearest representable
 * value, ties to even, and return its bit pattern.
 */

/** How a minifloat format spends its bits and its special values. */
interface MinifloatFormat {
  expBits: number;
  manBits: number;
  bias: number;
  /**
   * 'ieee': all-ones exponent is Inf (mantissa 0) or NaN (float16, bfloat16, E5M2).
   * 'fn': no Inf; only S.1111.111 is NaN (E4M3FN).
   * 'fnuz': no Inf, no negative zero; 0x80 is the only NaN (E4M3FNUZ, E5M2FNUZ).
   */
  special: 'ieee' | 'fn' | 'fnuz';
}

const FLOAT16: MinifloatFormat = { expBits: 5, manBits: 10, bias: 15, special: 'ieee' };
const BFLOAT16: MinifloatFormat = { expBits: 8, manBits: 7, bias: 127, special: 'ieee' };
const E4M3FN: MinifloatFormat = { expBits: 4, manBits: 3, bias: 7, special: 'fn' };
const E4M3FNUZ: MinifloatFormat = { expBits: 4, manBits: 3, bias: 8, special: 'fnuz' };
const E5M2: MinifloatFormat = { expBits: 5, manBits: 2, bias: 15, special: 'ieee' };
const E5M2FNUZ: MinifloatFormat = { expBits: 5, manBits: 2, bias: 16, special: 'fnuz' };

function signBit(f: MinifloatFormat): number {
  return 1 << (f.expBits + f.manBits);
}

function decodeMinifloat(bits: number, f: MinifloatFormat): number {
  const sign = bits & signBit(f) ? -1 : 1;
  const expMax = (1 << f.expBits) - 1;
  const manMask = (1 << f.manBits) - 1;
  const e = (bits >> f.manBits) & expMax;
  const m = bits & manMask;
  if (f.special === 'fnuz' && bits === signBit(f)) return NaN;
  if (f.special === 'fn' && e === expMax && m === manMask) return NaN;
  if (f.special === 'ieee' && e === expMax) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * m * 2 ** (1 - f.bias - f.manBits);
  return sign * (1 + m / (1 << f.manBits)) * 2 ** (e - f.bias);
}

/** The largest finite magnitude of a format. */
function maxFinite(f: MinifloatFormat): number {
  const expMax = (1 << f.expBits) - 1;
  const manMask = (1 << f.manBits) - 1;
  if (f.special === 'ieee') return (2 - 2 ** -f.manBits) * 2 ** (expMax - 1 - f.bias);
  if (f.special === 'fn') return decodeMinifloat((expMax << f.manBits) | (manMask - 1), f);
  return decodeMinifloat((expMax << f.manBits) | manMask, f);
}

function maxFiniteBits(f: MinifloatFormat): number {
  const expMax = (1 << f.expBits) - 1;
  const manMask = (1 << f.manBits) - 1;
  if (f.special === 'ieee') return ((expMax - 1) << f.manBits) | manMask;
  if (f.special === 'fn') return (expMax << f.manBits) | (manMask - 1);
  return (expMax << f.manBits) | manMask;
}

function nanBits(f: MinifloatFormat): number {
  if (f.special === 'fnuz') return signBit(f);
  const expMax = (1 << f.expBits) - 1;
  if (f.special === 'fn') return (expMax << f.manBits) | ((1 << f.manBits) - 1);
  return (expMax << f.manBits) | (1 << (f.manBits - 1)); // quiet NaN
}

function infBits(f: MinifloatFormat): number {
  return ((1 << f.expBits) - 1) << f.manBits;
}

/** Round half to even for a non-negative value whose fractional part is exact (v < 2^52). */
function roundHalfEven(v: number): number {
  const fl = Math.floor(v);
  const frac = v - fl;
  if (frac > 0.5) return fl + 1;
  if (frac < 0.5) return fl;
  return fl % 2 === 0 ? fl : fl + 1;
}

/** floor(log2(a)) for a finite a > 0, exact (Math.log2 may be off by one near powers of two). */
function exponentOf(a: number): number {
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  return e;
}

/**
 * Rounds x to the nearest value of format f (ties to even) and returns its bits. On overflow:
 * IEEE formats give Inf unless `saturate` (then the largest finite value); FN/FNUZ formats give NaN
 * unless `saturate`. Inf input saturates the same way, except in FNUZ formats where it is always NaN
 * (ONNX Cast, the float8 conversion tables).
 */
function encodeMinifloat(x: number, f: MinifloatFormat, saturate: boolean): number {
  const negative = x < 0 || Object.is(x, -0);
  const sign = negative && f.special !== 'fnuz' ? signBit(f) : 0;
  if (Number.isNaN(x)) return f.special === 'fnuz' ? nanBits(f) : sign | nanBits(f);
  const a = Math.abs(x);
  const overflow = (): number => {
    const s = negative ? signBit(f) : 0;
    if (saturate) return s | maxFiniteBits(f);
    return f.special === 'ieee' ? s | infBits(f) : nanBits(f);
  };
  // ONNX Cast's float8 table: FNUZ formats turn ±Inf into NaN even when saturating.
  if (a === Infinity) return f.special === 'fnuz' ? nanBits(f) : overflow();
  if (a === 0) return sign;
  const minNormalExp = 1 - f.bias;
  const e = Math.max(exponentOf(a), minNormalExp);
  const quantum = 2 ** (e - f.manBits);
  const n = roundHalfEven(a / quantum); // a / quantum is exact: quantum is a power of two
  const rounded = n * quantum;
  if (rounded === 0) return f.special === 'fnuz' ? 0 : sign;
  if (rounded > maxFinite(f)) return overflow();
  const s = negative ? signBit(f) : 0;
  if (rounded < 2 ** minNormalExp) return s | n; // subnormal: exponent field 0, mantissa n
  // n is in [2^man, 2^(man+1)]; n = 2^(man+1) means rounding carried into the next exponent.
  const carry = n === 1 << (f.manBits + 1) ? 1 : 0;
  const biasedExp = e + carry + f.bias;
  const mantissa = carry ? 0 : n - (1 << f.manBits);
  return s | (biasedExp << f.manBits) | mantissa;
}

// float16

export function float16BitsToFloat32(bits: number): number {
  return decodeMinifloat(bits & 0xffff, FLOAT16);
}

/** Nearest float16 (ties to even); overflow gives ±Inf, NaN stays NaN. */
export function float32ToFloat16Bits(x: number): number {
  return encodeMinifloat(x, FLOAT16, false);
}

export function roundToFloat16(x: number): number {
  return float16BitsToFloat32(float32ToFloat16Bits(x));
}

// bfloat16

export function bfloat16BitsToFloat32(bits: number): number {
  return decodeMinifloat(bits & 0xffff, BFLOAT16);
}

/** Nearest bfloat16 (ties to even); overflow gives ±Inf, NaN stays NaN. */
export function float32ToBfloat16Bits(x: number): number {
  return encodeMinifloat(x, BFLOAT16, false);
}

export function roundToBfloat16(x: number): number {
  return bfloat16BitsToFloat32(float32ToBfloat16Bits(x));
}

// float8 (ONNX Cast: saturate defaults to true)

export function float8e4m3fnBitsToFloat32(bits: number): number {
  return decodeMinifloat(bits & 0xff, E4M3FN);
}
export function float32ToFloat8e4m3fnBits(x: number, saturate = true): number {
  return encodeMinifloat(x, E4M3FN, saturate);
}

export function float8e4m3fnuzBitsToFloat32(bits: number): number {
  return decodeMinifloat(bits & 0xff, E4M3FNUZ);
}
export function float32ToFloat8e4m3fnuzBits(x: number, saturate = true): number {
  return encodeMinifloat(x, E4M3FNUZ, saturate);
}

export function float8e5m2BitsToFloat32(bits: number): number {
  return decodeMinifloat(bits & 0xff, E5M2);
}
export function float32ToFloat8e5m2Bits(x: number, saturate = true): number {
  return encodeMinifloat(x, E5M2, saturate);
}

export function float8e5m2fnuzBitsToFloat32(bits: number): number {
  return decodeMinifloat(bits & 0xff, E5M2FNUZ);
}
export function float32ToFloat8e5m2fnuzBits(x: number, saturate = true): number {
  return encodeMinifloat(x, E5M2FNUZ, saturate);
}

export type NarrowFloatDType =
  | 'float16'
  | 'bfloat16'
  | 'float8e4m3fn'
  | 'float8e4m3fnuz'
  | 'float8e5m2'
  | 'float8e5m2fnuz';

const FORMATS: Readonly<Record<NarrowFloatDType, MinifloatFormat>> = {
  float16: FLOAT16,
  bfloat16: BFLOAT16,
  float8e4m3fn: E4M3FN,
  float8e4m3fnuz: E4M3FNUZ,
  float8e5m2: E5M2,
  float8e5m2fnuz: E5M2FNUZ,
};

export function isNarrowFloat(dtype: string): dtype is NarrowFloatDType {
  return Object.prototype.hasOwnProperty.call(FORMATS, dtype);
}

/** Decodes the bits of any narrow float dtype. */
export function narrowFloatBitsToNumber(dtype: NarrowFloatDType, bits: number): number {
  const f = FORMATS[dtype];
  return decodeMinifloat(bits & ((signBit(f) << 1) - 1), f);
}

/**
 * Encodes x in a narrow float dtype. `saturate` applies to float8 only (ONNX Cast/QuantizeLinear);
 * float16/bfloat16 always overflow to Inf.
 */
export function numberToNarrowFloatBits(dtype: NarrowFloatDType, x: number, saturate = true): number {
  const f = FORMATS[dtype];
  return encodeMinifloat(x, f, f.expBits + f.manBits === 7 ? saturate : false);
}

/** x rounded to the nearest value of a narrow float dtype (what storing it and reading it back gives). */
export function roundToNarrowFloat(dtype: NarrowFloatDType, x: number, saturate = true): number {
  return narrowFloatBitsToNumber(dtype, numberToNarrowFloatBits(dtype, x, saturate));
}
