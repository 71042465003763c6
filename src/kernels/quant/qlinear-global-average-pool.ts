import { sizeOf, type DType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrInt } from '../../graph/attributes.js';
import {
  chooseVariant, kernelError, onWasmOrReference, requireInput, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef, viewsInWasm,
} from '../kernel.js';
import type { Int8Like } from './igemm.js';
import { scalarOf } from './lookup-table.js';
import { qlinearPoolKernels } from './qlinear-global-average-pool.wasm.js';
import { integerRange, requantize } from './rounding.js';

function requireInt8Like(ctx: PrepareContext, i: number, name: string) {
  const t = requireInput(ctx, i);
  if (t.dtype !== 'uint8' && t.dtype !== 'int8') {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${name} must be uint8 or int8, got ${t.dtype}`);
  }
  return t;
}

interface GlobalAveragePoolProblem {
  ctx: PrepareContext;
  dtype: DType;
  N: number;
  C: number;
  /** Elements averaged per channel: the product of the spatial dims. */
  S: number;
  channelsLast: boolean;
  outShape: number[];
}

/** The requantization multiplier f32(x_scale / f32(y_scale·S)), as MLAS's CheckQLinearGlobalAveragePoolScaleAndSize. */
function poolScale(xScale: number, yScale: number, S: number): number {
  return Math.fround(xScale / Math.fround(yScale * S));
}

// com.microsoft QLinearGlobalAveragePool: X [N, C, ...S] (or [N, ...S, C] with channels_last) -> Y [N, C, 1...] / [N, 1..., C].
// y = saturate(round((Σx - x_zp·|S|) · x_scale / (y_scale·|S|)) + y_zp), the scale in float32 as MLAS computes it.
function prepareReference(p: GlobalAveragePoolProblem): PreparedKernel {
  const { N, C, S, channelsLast } = p;
  const [lo, hi] = integerRange(p.dtype)!;
  return {
    outputs: [{ dtype: p.dtype, shape: p.outShape }],
    run(inputs, outputs) {
      const X = inputs[0] as Int8Like;
      const Y = outputs[0] as Int8Like;
      const scale = poolScale(scalarOf(inputs[1]), scalarOf(inputs[3]), S);
      const yZp = scalarOf(inputs[4]);
      const bias = -scalarOf(inputs[2]) * S;
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

// The NCHW planes on q8_gavgpool_nchw: every plane's sum in exact int32, four planes per requantized vector.
function prepareWasm(p: GlobalAveragePoolProblem): PreparedKernel {
  const reference = prepareReference(p);
  const wasm = p.ctx.options.wasm!;
  const kernel = qlinearPoolKernels(wasm)!.globalAverage[p.dtype === 'int8' ? 1 : 0];
  const [lo, hi] = integerRange(p.dtype)!;
  const { N, C, S } = p;
  return onWasmOrReference(reference, 'wasm q8 global average pool, NCHW planes (js for views outside wasm memory)', (inputs, outputs) => {
    const X = inputs[0] as Int8Like;
    const Y = outputs[0] as Int8Like;
    if (!viewsInWasm(wasm, X, Y)) return false;
    const scale = poolScale(scalarOf(inputs[1]), scalarOf(inputs[3]), S);
    kernel(X.byteOffset, Y.byteOffset, N * C, S, -scalarOf(inputs[2]) * S, scale, scalarOf(inputs[4]), lo, hi);
    return true;
  });
}

const name = (p: GlobalAveragePoolProblem) => (p.dtype === 'int8' ? 'i8' : 'u8');

const VARIANTS: readonly VariantDef<GlobalAveragePoolProblem>[] = [
  { name: (p) => `${name(p)}_qlinearglobalaveragepool__ref`, applies: () => true, placement: 'any', prepare: prepareReference },
  {
    name: (p) => `${name(p)}_qlinearglobalaveragepool_nchw__wasmsimd`,
    // Exact int32 sums: |Σx - x_zp·S| ≤ 255·S.
    applies: (p, caps) => !p.channelsLast && p.N * p.C > 0 && p.S > 0 && 255 * p.S < 2 ** 31 && qlinearPoolKernels(caps.wasm) !== undefined,
    placement: 'wasm',
    prepare: prepareWasm,
  },
];

function prepareQLinearGlobalAveragePool(ctx: PrepareContext): PreparedKernel {
  const x = requireInt8Like(ctx, 0, 'X');
  if (x.shape.length < 3) throw kernelError(ctx, `X must have rank >= 3, got [${x.shape}]`);
  const channelsLast = attrInt(ctx.node, 'channels_last', 0) !== 0;
  const rank = x.shape.length;
  const N = x.shape[0]!;
  const C = channelsLast ? x.shape[rank - 1]! : x.shape[1]!;
  const S = N * C === 0 ? 0 : sizeOf(x.shape) / (N * C);
  const outShape = x.shape.map((d, i) => (i === 0 ? d : (channelsLast ? i === rank - 1 : i === 1) ? d : 1));
  return chooseVariant(VARIANTS, { ctx, dtype: x.dtype, N, C, S, channelsLast, outShape }, ctx);
}

export const qlinearGlobalAveragePoolKernels: KernelDef[] = [
  { opType: 'QLinearGlobalAveragePool', domain: 'com.microsoft', prepare: prepareQLinearGlobalAveragePool },
];
