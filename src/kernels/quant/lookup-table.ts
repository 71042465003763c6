import type { Data } from '../../dtype.js';
import { quantizeToRange } from './rounding.js';
import type { Int8Like } from './igemm.js';

/**
 * An 8-bit → 8-bit function as a 256-entry table, the way onnxruntime evaluates QLinear unary ops:
 * dequantize each possible input ((v - zx)·sx in float32), apply f, quantize (round(y / sy) + zy, saturated).
 * table[v & 0xff] holds the output for input v, so int8 and uint8 inputs index it alike.
 */
export function buildLookupTable(
  table: Int32Array,
  signedIn: boolean,
  xScale: number,
  xZeroPoint: number,
  yScale: number,
  yZeroPoint: number,
  lo: number,
  hi: number,
  fn: (x: number) => number,
): void {
  for (let byte = 0; byte < 256; byte++) {
    const v = signedIn && byte > 127 ? byte - 256 : byte;
    const x = Math.fround((v - xZeroPoint) * xScale);
    table[byte] = quantizeToRange(Math.fround(Math.fround(fn(x)) / yScale), yZeroPoint, lo, hi);
  }
}

/** y[i] = table[x[i] & 0xff] for count elements. */
export function applyLookupTable(table: Int32Array, x: Int8Like, xOff: number, y: Int8Like, yOff: number, count: number): void {
  for (let i = 0; i < count; i++) y[yOff + i] = table[x[xOff + i]! & 0xff]!;
}

/** The value of a scalar quantization parameter input (an omitted zero point is 0). */
export function scalarOf(data: Data | undefined): number {
  return data === undefined ? 0 : Number(data[0]);
}
