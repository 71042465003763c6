import { attrInt, attrInts, attrString } from '../../graph/attributes.js';
import { UnsupportedError } from '../../errors.js';
import { kernelError, type PrepareContext } from '../kernel.js';

/**
 * The sliding-window geometry shared by Conv, ConvTranspose and the pools: per spatial dim the input and
 * output sizes, kernel, stride, dilation and the begin/end pads actually applied.
 */
export interface WindowGeometry {
  inSize: number[];
  outSize: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
}

export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

export interface WindowAttrs {
  autoPad: AutoPad;
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [x1_begin, x2_begin, ..., x1_end, x2_end, ...] as in the ONNX spec. */
  pads: number[];
}

export function readAutoPad(ctx: PrepareContext): AutoPad {
  const autoPad = attrString(ctx.node, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER' && autoPad !== 'VALID') {
    throw kernelError(ctx, `unknown auto_pad '${autoPad}'`);
  }
  return autoPad;
}

/** Reads kernel_shape/strides/dilations/pads/auto_pad with ONNX defaults, validating their lengths. */
export function readWindowAttrs(ctx: PrepareContext, rank: number, kernelFallback?: number[]): WindowAttrs {
  const node = ctx.node;
  const kernel = attrInts(node, 'kernel_shape') ?? kernelFallback;
  if (kernel === undefined) throw kernelError(ctx, 'attribute kernel_shape is required');
  const strides = attrInts(node, 'strides') ?? new Array<number>(rank).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(rank).fill(1);
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * rank).fill(0);
  checkWindowAttr(ctx, 'kernel_shape', kernel, rank, rank, 1);
  checkWindowAttr(ctx, 'strides', strides, rank, rank, 1);
  checkWindowAttr(ctx, 'dilations', dilations, rank, rank, 1);
  checkWindowAttr(ctx, 'pads', pads, 2 * rank, rank, 0);
  return { autoPad: readAutoPad(ctx), kernel, strides, dilations, pads };
}

function checkWindowAttr(ctx: PrepareContext, name: string, v: readonly number[], n: number, rank: number, min: number): void {
  if (v.length !== n) throw kernelError(ctx, `${name} has ${v.length} values, expected ${n} for ${rank} spatial dims`);
  for (const x of v) if (!Number.isInteger(x) || x < min) throw kernelError(ctx, `${name} [${v}] must be integers >= ${min}`);
}

/**
 * Output size and pads of a forward window op (Conv, pools), per ONNX Conv/MaxPool:
 * NOTSET: out = floor((in + pb + pe - dk) / s) + 1 (ceil for ceil_mode, with the last window required to
 * start inside the input or the begin pad, as PyTorch and onnx/reference op_pool_common do);
 * SAME_*: out = ceil(in / s), total pad = max(0, (out - 1)·s + dk - in), the odd pixel at the end (UPPER) or
 * begin (LOWER); VALID: no pads. dk = (k - 1)·d + 1 is the dilated kernel extent.
 */
export function forwardGeometry(ctx: PrepareContext, inSize: number[], a: WindowAttrs, ceilMode = false): WindowGeometry {
  const rank = inSize.length;
  const outSize: number[] = [];
  const padsBegin: number[] = [];
  const padsEnd: number[] = [];
  for (let i = 0; i < rank; i++) {
    const dk = (a.kernel[i]! - 1) * a.dilations[i]! + 1;
    const s = a.strides[i]!;
    const n = inSize[i]!;
    let pb = 0;
    let pe = 0;
    let out: number;
    if (a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER') {
      out = Math.ceil(n / s);
      const total = Math.max(0, (out - 1) * s + dk - n);
      const small = Math.floor(total / 2);
      pb = a.autoPad === 'SAME_UPPER' ? small : total - small;
      pe = total - pb;
    } else if (a.autoPad === 'VALID') {
      out = Math.floor((n - dk) / s) + 1;
    } else {
      pb = a.pads[i]!;
      pe = a.pads[i + rank]!;
      const span = n + pb + pe - dk;
      if (ceilMode) {
        out = Math.ceil(span / s) + 1;
        if ((out - 1) * s >= n + pb) out--;
      } else {
        out = Math.floor(span / s) + 1;
      }
    }
    if (!(out >= 1)) {
      throw kernelError(ctx, `spatial dim ${i}: input ${n} with kernel ${a.kernel[i]}, dilation ${a.dilations[i]}, pads ${pb}/${pe} gives an empty output`);
    }
    outSize.push(out);
    padsBegin.push(pb);
    padsEnd.push(pe);
  }
  return { inSize: inSize.slice(), outSize, kernel: a.kernel.slice(), strides: a.strides.slice(), dilations: a.dilations.slice(), padsBegin, padsEnd };
}

/** The geometry with leading dummy dims (size 1, kernel 1, stride 1, no pad) so it has exactly `n` spatial dims. */
export function liftGeometry(g: WindowGeometry, n: number): WindowGeometry {
  const extra = n - g.inSize.length;
  if (extra < 0) throw new UnsupportedError(`${g.inSize.length} spatial dims are not supported (at most ${n})`);
  const lift = (v: readonly number[], fill: number): number[] => {
    const out = new Array<number>(n);
    for (let i = 0; i < extra; i++) out[i] = fill;
    for (let i = 0; i < v.length; i++) out[extra + i] = v[i]!;
    return out;
  };
  return {
    inSize: lift(g.inSize, 1),
    outSize: lift(g.outSize, 1),
    kernel: lift(g.kernel, 1),
    strides: lift(g.strides, 1),
    dilations: lift(g.dilations, 1),
    padsBegin: lift(g.padsBegin, 0),
    padsEnd: lift(g.padsEnd, 0),
  };
}

/** Reads an optional int attribute that must be 0 or 1. */
export function attrFlag(ctx: PrepareContext, name: string, fallback: number): boolean {
  const v = attrInt(ctx.node, name, fallback);
  if (v !== 0 && v !== 1) throw kernelError(ctx, `attribute ${name} must be 0 or 1, got ${v}`);
  return v === 1;
}
