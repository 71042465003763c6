import { sizeOf } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrInt, attrInts, attrString } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import type { Int8Like } from './igemm.js';
import { scalarOf } from './lookup-table.js';
import { integerRange, quantizeToRange } from './rounding.js';

/** Per spatial axis: output size and the window start (may be negative: padding) of each output position. */
interface PoolAxis {
  inSize: number;
  kernel: number;
  stride: number;
  padBegin: number;
  outSize: number;
  /** End of the padded input: windows are clipped here for count_include_pad. */
  paddedEnd: number;
}

/**
 * AveragePool geometry (Operators.md §AveragePool): out = ⌊(in + padB + padE - k) / s⌋ + 1, or ⌈…⌉ + 1 with
 * ceil_mode, dropping a last window that would start in the end padding; SAME_* and VALID as in Conv.
 */
function poolAxes(ctx: PrepareContext, inSize: number[]): PoolAxis[] {
  const r = inSize.length;
  const kernel = attrInts(ctx.node, 'kernel_shape');
  if (kernel === undefined || kernel.length !== r) throw kernelError(ctx, `kernel_shape must list ${r} spatial dims`);
  const strides = attrInts(ctx.node, 'strides', new Array<number>(r).fill(1));
  const pads = attrInts(ctx.node, 'pads', new Array<number>(2 * r).fill(0));
  const ceilMode = attrInt(ctx.node, 'ceil_mode', 0) !== 0;
  const autoPad = attrString(ctx.node, 'auto_pad', 'NOTSET');
  return inSize.map((n, i) => {
    const k = kernel[i]!;
    const s = strides[i]!;
    let padBegin = pads[i]!;
    let padEnd = pads[i + r]!;
    let outSize: number;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      outSize = Math.ceil(n / s);
      const total = Math.max(0, (outSize - 1) * s + k - n);
      padBegin = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
      padEnd = total - padBegin;
    } else if (autoPad === 'VALID') {
      padBegin = 0;
      padEnd = 0;
      outSize = Math.floor((n - k) / s) + 1;
    } else if (autoPad === 'NOTSET') {
      const span = n + padBegin + padEnd - k;
      outSize = (ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
      if (ceilMode && (outSize - 1) * s >= n + padBegin) outSize--;
    } else {
      throw kernelError(ctx, `auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
    }
    if (outSize <= 0) throw kernelError(ctx, `output spatial dim ${i} would be ${outSize}`);
    return { inSize: n, kernel: k, stride: s, padBegin, outSize, paddedEnd: n + padEnd };
  });
}

// com.microsoft QLinearAveragePool: X [N, C, ...S] (or [N, ...S, C] with channels_last), x_scale, x_zero_point?,
// y_scale, y_zero_point? -> Y. y = quantize(mean of dequantized window), the mean over the valid elements, or over
// the window clipped to the padded input with count_include_pad.
function prepareQLinearAveragePool(ctx: PrepareContext): PreparedKernel {
  const x = requireInput(ctx, 0);
  if (x.dtype !== 'uint8' && x.dtype !== 'int8') throw new UnsupportedError(`${nodeLabel(ctx.node)}: X must be uint8 or int8, got ${x.dtype}`);
  if (x.shape.length < 3) throw kernelError(ctx, `X must have rank >= 3, got [${x.shape}]`);
  const channelsLast = attrInt(ctx.node, 'channels_last', 0) !== 0;
  const includePad = attrInt(ctx.node, 'count_include_pad', 0) !== 0;
  const rank = x.shape.length;
  const N = x.shape[0]!;
  const C = channelsLast ? x.shape[rank - 1]! : x.shape[1]!;
  const spatial = channelsLast ? x.shape.slice(1, rank - 1) : x.shape.slice(2);
  const axes = poolAxes(ctx, spatial);
  const outSpatial = axes.map((a) => a.outSize);
  const outShape = channelsLast ? [N, ...outSpatial, C] : [N, C, ...outSpatial];
  const inPlane = sizeOf(spatial);
  const outPlane = sizeOf(outSpatial);
  // Each output position's window as a list of in-plane offsets, plus its divisor: built once here.
  const windowStart = new Int32Array(outPlane + 1);
  const offsets: number[] = [];
  const divisors = new Float32Array(outPlane);
  const pos = new Array<number>(axes.length).fill(0);
  for (let p = 0; p < outPlane; p++) {
    let rem = p;
    for (let d = axes.length - 1; d >= 0; d--) {
      pos[d] = rem % axes[d]!.outSize;
      rem = Math.floor(rem / axes[d]!.outSize);
    }
    windowStart[p] = offsets.length;
    let padded = 1;
    const ranges = axes.map((a, d) => {
      const begin = pos[d]! * a.stride - a.padBegin;
      const end = begin + a.kernel;
      padded *= Math.min(end, a.paddedEnd) - begin;
      return [Math.max(0, begin), Math.min(end, a.inSize)] as const;
    });
    const before = offsets.length;
    const visit = (d: number, base: number) => {
      if (d === axes.length) {
        offsets.push(base);
        return;
      }
      for (let i = ranges[d]![0]; i < ranges[d]![1]; i++) visit(d + 1, base * axes[d]!.inSize + i);
    };
    visit(0, 0);
    divisors[p] = includePad ? padded : offsets.length - before;
  }
  windowStart[outPlane] = offsets.length;
  const windowOffsets = Int32Array.from(offsets);
  const [lo, hi] = integerRange(x.dtype)!;
  return {
    outputs: [{ dtype: x.dtype, shape: outShape }],
    run(inputs, outputs) {
      const X = inputs[0] as Int8Like;
      const Y = outputs[0] as Int8Like;
      const xScale = scalarOf(inputs[1]);
      const xZp = scalarOf(inputs[2]);
      const yScale = scalarOf(inputs[3]);
      const yZp = scalarOf(inputs[4]);
      // channels_last: element (n, s, c) at (n·inPlane + s)·C + c; else (n·C + c)·inPlane + s.
      const step = channelsLast ? C : 1;
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) {
          const xBase = channelsLast ? n * inPlane * C + c : (n * C + c) * inPlane;
          const yBase = channelsLast ? n * outPlane * C + c : (n * C + c) * outPlane;
          for (let p = 0; p < outPlane; p++) {
            const w0 = windowStart[p]!;
            const w1 = windowStart[p + 1]!;
            let sum = 0;
            for (let w = w0; w < w1; w++) sum += X[xBase + windowOffsets[w]! * step]!;
            const mean = Math.fround(Math.fround(Math.fround(sum - xZp * (w1 - w0)) * xScale) / divisors[p]!);
            Y[yBase + p * step] = quantizeToRange(Math.fround(mean / yScale), yZp, lo, hi);
          }
        }
      }
    },
  };
}

export const qlinearAveragePoolKernels: KernelDef[] = [
  { opType: 'QLinearAveragePool', domain: 'com.microsoft', prepare: prepareQLinearAveragePool },
];
