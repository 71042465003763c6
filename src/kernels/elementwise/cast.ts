/**
 * Cast (opset 1..19) and CastLike. One element conversion function is chosen at prepare from the
 * source storage kind and the target dtype; run applies it elementwise.
 *
 * Rules (ONNX Cast): float -> int truncates toward zero (typed-array stores do exactly that, and wrap
 * out-of-range values); float -> float16/bfloat16/float8 rounds to nearest even, float8 saturating
 * by default; string <-> number parses/prints decimal and scientific forms and "NaN", "INF", "-INF".
 */
import { ONNX_DTYPE_CODES, storageBytes, type DType } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import { isNarrowFloat, roundToNarrowFloat } from '../../loader/float16.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { isBigIntDtype } from './dtypes.js';

type Convert = (v: any) => any;

/** Parses a numeric string as ONNX Cast does: decimal, scientific, and NaN/INF spellings. */
export function parseNumberString(s: string): number {
  const t = s.trim();
  if (/^[+]?inf(inity)?$/i.test(t)) return Infinity;
  if (/^-inf(inity)?$/i.test(t)) return -Infinity;
  if (/^[+-]?nan$/i.test(t)) return NaN;
  return t === '' ? NaN : Number(t);
}

/** The shortest decimal that reads back as the same float32 (how numpy prints float32). */
export function formatFloat32(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'INF';
  if (v === -Infinity) return '-INF';
  for (let p = 1; p < 17; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return String(s);
  }
  return String(v);
}

function formatNumber(v: number, from: DType): string {
  if (from === 'float64') {
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? 'INF' : '-INF';
    return String(v);
  }
  return formatFloat32(v);
}

const toBigInt = (v: number): bigint => (Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n);

/** The element conversion from `from` storage values to `to` storage values. */
function converter(ctx: PrepareContext, from: DType, to: DType, saturate: boolean): Convert {
  if (from === to) return (v) => v;
  const fromString = from === 'string';
  const fromBig = isBigIntDtype(from);
  if (to === 'string') {
    if (fromBig) return (v: bigint) => v.toString();
    if (from === 'bool') return (v: number) => (v ? 'True' : 'False');
    if (from === 'float32' || from === 'float64' || isNarrowFloat(from)) return (v: number) => formatNumber(v, from);
    return (v: number) => String(v);
  }
  // Every source as a JS number (or BigInt for int64 targets, to stay exact).
  if (isBigIntDtype(to)) {
    if (fromBig) return (v: bigint) => v; // the store wraps int64 <-> uint64
    if (fromString) {
      return (s: string) => (/^\s*[+-]?\d+\s*$/.test(s) ? BigInt(s.trim()) : toBigInt(parseNumberString(s)));
    }
    return toBigInt;
  }
  const toNumber: Convert = fromBig ? (v: bigint) => Number(v) : fromString ? parseNumberString : (v: number) => v;
  if (to === 'bool') {
    // Any nonzero (including NaN) is true.
    return (v) => {
      const n = toNumber(v);
      return n !== 0 ? 1 : 0;
    };
  }
  if (isNarrowFloat(to)) return (v) => roundToNarrowFloat(to, toNumber(v), saturate);
  if (to === 'float32' || to === 'float64') return toNumber;
  if (to === 'int4' || to === 'uint4') throw new UnsupportedError(`${nodeLabel(ctx.node)}: Cast to ${to} is not supported`);
  // Integer targets: typed-array stores truncate toward zero and wrap; a BigInt source is wrapped first.
  if (fromBig) {
    const bits = storageBytes(to) * 8;
    return (v: bigint) => Number(BigInt.asIntN(bits, v));
  }
  return toNumber;
}

function prepareCast(ctx: PrepareContext, to: DType): PreparedKernel {
  // input: any shape -> output: same shape, dtype `to`
  const x = requireInput(ctx, 0);
  const saturate = attrInt(ctx.node, 'saturate', 1) !== 0;
  const convert = converter(ctx, x.dtype, to, saturate);
  const sameStorage = x.dtype !== 'string' && to !== 'string' && storageBytes(x.dtype) === storageBytes(to);
  return {
    outputs: [{ dtype: to, shape: [...x.shape] }],
    // Each element is read before its slot is written, and both sides have the same element size.
    inPlace: sameStorage ? 0 : undefined,
    run(inputs, outputs) {
      const xs = inputs[0] as any;
      const ys = outputs[0] as any;
      for (let i = 0; i < xs.length; i++) ys[i] = convert(xs[i]);
    },
  };
}

function dtypeFromCode(ctx: PrepareContext, code: number | undefined): DType {
  if (code === undefined) throw kernelError(ctx, "attribute 'to' is required");
  const dtype = ONNX_DTYPE_CODES[code];
  if (dtype === undefined) throw new UnsupportedError(`${nodeLabel(ctx.node)}: Cast to ONNX type code ${code} is not supported`);
  return dtype;
}

export const castKernel: KernelDef = {
  opType: 'Cast',
  prepare(ctx) {
    // Opset 1-5 allowed 'to' as a string name ("FLOAT"); later it is the TensorProto code.
    const attr = ctx.node.attributes.get('to');
    if (attr?.type === 'string') {
      const byName: Record<string, DType> = {
        FLOAT: 'float32', DOUBLE: 'float64', FLOAT16: 'float16', INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
        UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64', BOOL: 'bool', STRING: 'string',
      };
      const to = byName[attr.value.toUpperCase()];
      if (to === undefined) throw new UnsupportedError(`${nodeLabel(ctx.node)}: Cast to '${attr.value}' is not supported`);
      return prepareCast(ctx, to);
    }
    return prepareCast(ctx, dtypeFromCode(ctx, attrInt(ctx.node, 'to')));
  },
};

export const castLikeKernel: KernelDef = {
  opType: 'CastLike',
  prepare(ctx) {
    // input: any shape, target_type: any -> output: input's shape, target_type's dtype
    return prepareCast(ctx, requireInput(ctx, 1).dtype);
  },
};
