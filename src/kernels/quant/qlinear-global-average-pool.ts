import { sizeOf } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import type { Int8Like } from './igemm.js';
import { scalarOf } from './lookup-table.js';
import { integerRange, requantize } from './rounding.js';

function requireInt8Like(ctx: PrepareContext, i: number, name: string) {
  const t = requireInput(ctx, i);
  if (t.dtype !== 'uint8' && t.dtype !== 'int8') {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${name} must be uint8 or int8, got ${t.dtype}`);
  }
  return t;
}

// com.microsoft QLinearGlobalAveragePool: X [N, C, ...S] (or [N, ...S, C] with channels_last) -> Y [N, C, 1...] / [N, 1..., C].
// y = saturate(round((Σx - x_zp·|S|) · x_scale / (y_scale·|S|)) + y_zp), the scale in float32 as MLAS computes it.
function prepareQLinearGlobalAveragePool(ctx: PrepareContext): PreparedKernel {
  const x = requireInt8Like(ctx, 0, 'X');
  if (x.shape.length < 3) throw kernelError(ctx, `X must have rank >= 3, got [${x.shape}]`);
  const channelsLast = attrInt(ctx.node, 'channels_last', 0) !== 0;
  const rank = x.shape.length;
  const N = x.shape[0]!;
  const C = channelsLast ? x.shape[rank - 1]! : x.shape[1]!;
  const S = sizeOf(x.shape) / (N * C);
  const outShape = x.shape.map((d, i) => (i === 0 ? d : (channelsLast ? i === rank - 1 : i === 1) ? d : 1));
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
      const scale = Math.fround(xScale / Math.fround(yScale * S));
      const bias = -xZp * S;
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) {
          let s = 0;
          if (channelsLast) for (let i = 0; i < S; i++) s += X[(n * S + i) * C + c]!;
          else for (let i = 0, base = (n * C + c) * S; i < S; i++) s += X[base + i]!;
          Y[n * C + c] = requantize(s + bias, scale, yZp, lo, hi);
        }
      }
    },
  };
}

export const qlinearGlobalAveragePoolKernels: KernelDef[] = [
  { opType: 'QLinearGlobalAveragePool', domain: 'com.microsoft', prepare: prepareQLinearGlobalAveragePool },
];
