/**
 * Comparisons and boolean logic: broadcasting binary ops with a bool output. The scalar functions
 * work unchanged on numbers, BigInts and strings (JS relational operators compare all three).
 */
import type { KernelDef } from '../kernel.js';
import { binaryKernels, type BinarySpec } from './binary.js';
import { BOOL, NUMERIC } from './dtypes.js';

function comparison(types: BinarySpec['types'], f: (a: any, b: any) => number): BinarySpec {
  return { types, out: 'bool', legacyBroadcast: true, make: () => ({ num: f }) };
}

const COMPARISONS: Record<string, BinarySpec> = {
  Equal: comparison([...NUMERIC, 'bool', 'string'], (a, b) => (a === b ? 1 : 0)),
  Less: comparison(NUMERIC, (a, b) => (a < b ? 1 : 0)),
  LessOrEqual: comparison(NUMERIC, (a, b) => (a <= b ? 1 : 0)),
  Greater: comparison(NUMERIC, (a, b) => (a > b ? 1 : 0)),
  GreaterOrEqual: comparison(NUMERIC, (a, b) => (a >= b ? 1 : 0)),
  And: comparison(BOOL, (a, b) => a & b),
  Or: comparison(BOOL, (a, b) => a | b),
  Xor: comparison(BOOL, (a, b) => a ^ b),
};

export const compareKernels: KernelDef[] = binaryKernels(COMPARISONS);
