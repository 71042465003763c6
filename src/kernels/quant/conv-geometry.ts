import { attrInts, attrString } from '../../graph/attributes.js';
import { kernelError, type PrepareContext } from '../kernel.js';

/** Spatial geometry of a convolution: per spatial axis, input/kernel/output sizes, strides, dilations, begin pads. */
export interface ConvGeometry {
  inSize: number[];
  kernel: number[];
  outSize: number[];
  strides: number[];
  dilations: number[];
  padBegin: number[];
}

/**
 * Reads kernel_shape / strides / dilations / pads / auto_pad as Conv defines them (Operators.md §Conv):
 * out = ⌊(in + padB + padE - ((k-1)·d + 1)) / s⌋ + 1; SAME_* gives out = ⌈in / s⌉ with the odd pad at the
 * end (SAME_UPPER) or the beginning (SAME_LOWER); VALID pads nothing.
 */
export function convGeometry(ctx: PrepareContext, inSize: number[], weightKernel: number[]): ConvGeometry {
  const node = ctx.node;
  const r = inSize.length;
  const kernel = attrInts(node, 'kernel_shape', weightKernel);
  if (kernel.join(',') !== weightKernel.join(',')) {
    throw kernelError(ctx, `kernel_shape [${kernel}] does not match the weight's spatial dims [${weightKernel}]`);
  }
  const strides = attrInts(node, 'strides', new Array<number>(r).fill(1));
  const dilations = attrInts(node, 'dilations', new Array<number>(r).fill(1));
  const pads = attrInts(node, 'pads', new Array<number>(2 * r).fill(0));
  if (strides.length !== r || dilations.length !== r || pads.length !== 2 * r) {
    throw kernelError(ctx, `strides/dilations/pads do not match ${r} spatial dims`);
  }
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const outSize: number[] = [];
  const padBegin: number[] = [];
  for (let i = 0; i < r; i++) {
    const span = (kernel[i]! - 1) * dilations[i]! + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const out = Math.ceil(inSize[i]! / strides[i]!);
      const total = Math.max(0, (out - 1) * strides[i]! + span - inSize[i]!);
      padBegin.push(autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2));
      outSize.push(out);
    } else if (autoPad === 'VALID') {
      padBegin.push(0);
      outSize.push(Math.floor((inSize[i]! - span) / strides[i]!) + 1);
    } else if (autoPad === 'NOTSET') {
      padBegin.push(pads[i]!);
      outSize.push(Math.floor((inSize[i]! + pads[i]! + pads[i + r]! - span) / strides[i]!) + 1);
    } else {
      throw kernelError(ctx, `auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
    }
    if (outSize[i]! <= 0) throw kernelError(ctx, `output spatial dim ${i} would be ${outSize[i]} (input ${inSize[i]}, kernel span ${span})`);
  }
  return { inSize, kernel, outSize, strides, dilations, padBegin };
}

/**
 * True when im2col is the identity (what `im2colIndexMap(g)` maps every p to p for): a 1×…×1 kernel, stride 1, no
 * padding before, and the output the input's size.
 */
export function isPointwiseGeometry(g: ConvGeometry): boolean {
  return g.kernel.every((k) => k === 1) && g.strides.every((s) => s === 1) && g.padBegin.every((p) => p === 0) && g.outSize.every((o, i) => o === g.inSize[i]);
}

/**
 * For every (output position p, kernel position r), the flat offset of the input element it reads within one
 * channel plane, or -1 where it falls in the padding. Laid out [P, KS] so im2col walks it linearly.
 */
export function im2colIndexMap(g: ConvGeometry): Int32Array {
  const r = g.inSize.length;
  const P = g.outSize.reduce((a, b) => a * b, 1);
  const KS = g.kernel.reduce((a, b) => a * b, 1);
  const map = new Int32Array(P * KS);
  const outIdx = new Array<number>(r).fill(0);
  const kIdx = new Array<number>(r).fill(0);
  for (let p = 0; p < P; p++) {
    let rem = p;
    for (let d = r - 1; d >= 0; d--) {
      outIdx[d] = rem % g.outSize[d]!;
      rem = Math.floor(rem / g.outSize[d]!);
    }
    for (let k = 0; k < KS; k++) {
      let krem = k;
      for (let d = r - 1; d >= 0; d--) {
        kIdx[d] = krem % g.kernel[d]!;
        krem = Math.floor(krem / g.kernel[d]!);
      }
      let offset = 0;
      for (let d = 0; d < r; d++) {
        const pos = outIdx[d]! * g.strides[d]! - g.padBegin[d]! + kIdx[d]! * g.dilations[d]!;
        if (pos < 0 || pos >= g.inSize[d]!) {
          offset = -1;
          break;
        }
        offset = offset * g.inSize[d]! + pos;
      }
      map[p * KS + k] = offset;
    }
  }
  return map;
}
