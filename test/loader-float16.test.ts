import { describe, expect, it } from 'vitest';
import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  float32ToFloat8e4m3fnBits,
  float32ToFloat8e4m3fnuzBits,
  float32ToFloat8e5m2Bits,
  float32ToFloat8e5m2fnuzBits,
  float8e4m3fnBitsToFloat32,
  float8e4m3fnuzBitsToFloat32,
  float8e5m2BitsToFloat32,
  float8e5m2fnuzBitsToFloat32,
  roundToBfloat16,
  roundToFloat16,
} from '../src/loader/float16.js';

describe('float16', () => {
  it('decodes known bit patterns', () => {
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0xc000)).toBe(-2);
    expect(float16BitsToFloat32(0x7bff)).toBe(65504);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(float16BitsToFloat32(0x0400)).toBe(2 ** -14);
    expect(float16BitsToFloat32(0x3555)).toBe(0.333251953125);
    expect(float16BitsToFloat32(0x7c00)).toBe(Infinity);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    expect(float16BitsToFloat32(0x7e00)).toBeNaN();
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true);
  });

  it('encodes with round-to-nearest-even, overflow to inf, subnormals', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(1 / 3)).toBe(0x3555);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // halfway to 65536 rounds to even = overflow
    expect(float32ToFloat16Bits(-1e9)).toBe(0xfc00);
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16Bits(NaN) & 0x7fff).toBeGreaterThan(0x7c00);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(1e-8)).toBe(0);
    expect(float32ToFloat16Bits(3e-8)).toBe(0x0001);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0); // tie -> even (0)
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 -> 2
    expect(float32ToFloat16Bits(1023.5 * 2 ** -24)).toBe(0x0400); // subnormal rounds up into the first normal
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(float32ToFloat16Bits(2049)).toBe(0x6800);
    expect(float32ToFloat16Bits(2051)).toBe(0x6802);
    expect(roundToFloat16(0.1)).toBe(0.0999755859375);
  });

  it('round-trips every non-NaN pattern and rounds every midpoint to the even neighbour', () => {
    for (let b = 0; b < 0x7c00; b++) {
      const v = float16BitsToFloat32(b);
      expect(float32ToFloat16Bits(v)).toBe(b);
      expect(float32ToFloat16Bits(-v)).toBe(b | 0x8000);
      const next = float16BitsToFloat32(b + 1);
      const mid = (v + next) / 2;
      if (b + 1 < 0x7c00) expect(float32ToFloat16Bits(mid)).toBe(b % 2 === 0 ? b : b + 1);
    }
  });
});

describe('bfloat16', () => {
  /** Independent reference: float32 bits with round-to-nearest-even on the low 16 bits. */
  function refBf16(x: number): number {
    const u = new Uint32Array(new Float32Array([x]).buffer)[0]!;
    return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
  }

  it('decodes and encodes known patterns', () => {
    expect(bfloat16BitsToFloat32(0x3f80)).toBe(1);
    expect(bfloat16BitsToFloat32(0x4049)).toBe(3.140625);
    expect(bfloat16BitsToFloat32(0x7f80)).toBe(Infinity);
    expect(bfloat16BitsToFloat32(0x7fc0)).toBeNaN();
    expect(bfloat16BitsToFloat32(0x0001)).toBe(2 ** -133);
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(Math.PI)).toBe(0x4049);
    expect(float32ToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(roundToBfloat16(-2.5)).toBe(-2.5);
  });

  it('agrees with the bit-twiddling reference on float32 values', () => {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let i = 0; i < 20000; i++) {
      u[0] = (Math.imul(i, 2654435761) >>> 0) & 0x7f7fffff; // finite values
      const x = f[0]!;
      expect(float32ToBfloat16Bits(x)).toBe(refBf16(x));
    }
  });
});

describe('float8', () => {
  it('E4M3FN', () => {
    expect(float8e4m3fnBitsToFloat32(0x38)).toBe(1);
    expect(float8e4m3fnBitsToFloat32(0x7e)).toBe(448);
    expect(float8e4m3fnBitsToFloat32(0xfe)).toBe(-448);
    expect(float8e4m3fnBitsToFloat32(0x7f)).toBeNaN();
    expect(float8e4m3fnBitsToFloat32(0x78)).toBe(256); // exponent 15 is a normal exponent
    expect(float8e4m3fnBitsToFloat32(0x01)).toBe(2 ** -9);
    expect(float8e4m3fnBitsToFloat32(0x08)).toBe(2 ** -6);
    expect(float32ToFloat8e4m3fnBits(1)).toBe(0x38);
    expect(float32ToFloat8e4m3fnBits(1000)).toBe(0x7e);
    expect(float32ToFloat8e4m3fnBits(1000, false)).toBe(0x7f);
    expect(float32ToFloat8e4m3fnBits(Infinity)).toBe(0x7e);
    expect(float32ToFloat8e4m3fnBits(-Infinity)).toBe(0xfe);
    expect(float32ToFloat8e4m3fnBits(460, false)).toBe(0x7e); // rounds down to 448
    expect(float32ToFloat8e4m3fnBits(-0)).toBe(0x80);
    expect(float32ToFloat8e4m3fnBits(1.0625)).toBe(0x38); // tie -> even mantissa
    expect(float32ToFloat8e4m3fnBits(1.1875)).toBe(0x3a);
  });

  it('E4M3FNUZ', () => {
    expect(float8e4m3fnuzBitsToFloat32(0x40)).toBe(1);
    expect(float8e4m3fnuzBitsToFloat32(0x7f)).toBe(240);
    expect(float8e4m3fnuzBitsToFloat32(0x80)).toBeNaN();
    expect(float8e4m3fnuzBitsToFloat32(0x01)).toBe(2 ** -10);
    expect(float32ToFloat8e4m3fnuzBits(-0)).toBe(0x00);
    expect(float32ToFloat8e4m3fnuzBits(-1e-6)).toBe(0x00);
    expect(float32ToFloat8e4m3fnuzBits(-1)).toBe(0xc0);
    expect(float32ToFloat8e4m3fnuzBits(1000)).toBe(0x7f);
    expect(float32ToFloat8e4m3fnuzBits(1000, false)).toBe(0x80);
    expect(float32ToFloat8e4m3fnuzBits(NaN)).toBe(0x80);
    expect(float32ToFloat8e4m3fnuzBits(Infinity)).toBe(0x80); // spec table: Inf -> NaN even when saturating
    expect(float32ToFloat8e4m3fnuzBits(-Infinity, false)).toBe(0x80);
  });

  it('E5M2', () => {
    expect(float8e5m2BitsToFloat32(0x3c)).toBe(1);
    expect(float8e5m2BitsToFloat32(0x7b)).toBe(57344);
    expect(float8e5m2BitsToFloat32(0x7c)).toBe(Infinity);
    expect(float8e5m2BitsToFloat32(0x7d)).toBeNaN();
    expect(float8e5m2BitsToFloat32(0x01)).toBe(2 ** -16);
    expect(float32ToFloat8e5m2Bits(1e6)).toBe(0x7b);
    expect(float32ToFloat8e5m2Bits(1e6, false)).toBe(0x7c);
    expect(float32ToFloat8e5m2Bits(-1e6, false)).toBe(0xfc);
    expect(float32ToFloat8e5m2Bits(Infinity, false)).toBe(0x7c);
  });

  it('E5M2FNUZ', () => {
    expect(float8e5m2fnuzBitsToFloat32(0x40)).toBe(1);
    expect(float8e5m2fnuzBitsToFloat32(0x7f)).toBe(57344);
    expect(float8e5m2fnuzBitsToFloat32(0x80)).toBeNaN();
    expect(float8e5m2fnuzBitsToFloat32(0x01)).toBe(2 ** -17);
    expect(float32ToFloat8e5m2fnuzBits(1e6)).toBe(0x7f);
    expect(float32ToFloat8e5m2fnuzBits(-1e6)).toBe(0xff);
    expect(float32ToFloat8e5m2fnuzBits(1e6, false)).toBe(0x80);
    expect(float32ToFloat8e5m2fnuzBits(-Infinity)).toBe(0x80);
  });

  it('round-trips every non-NaN pattern of every float8 format', () => {
    const formats: [(b: number) => number, (x: number) => number][] = [
      [float8e4m3fnBitsToFloat32, (x) => float32ToFloat8e4m3fnBits(x)],
      [float8e4m3fnuzBitsToFloat32, (x) => float32ToFloat8e4m3fnuzBits(x)],
      [float8e5m2BitsToFloat32, (x) => float32ToFloat8e5m2Bits(x, false)],
      [float8e5m2fnuzBitsToFloat32, (x) => float32ToFloat8e5m2fnuzBits(x)],
    ];
    for (const [dec, enc] of formats) {
      for (let b = 0; b < 256; b++) {
        const v = dec(b);
        if (Number.isNaN(v)) continue;
        expect(enc(v)).toBe(b);
      }
    }
  });
});
