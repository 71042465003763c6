/**
 * Clip: y = min(max(x, min), max). Opset < 11 takes min/max as float attributes; opset >= 11 as
 * optional scalar inputs (omitted = no bound), read at run so they may be computed values.
 */
import { attrFloat } from '../../graph/attributes.js';
import { sizeOf, type TensorType } from '../../dtype.js';
import {
  chooseVariant, kernelError, onWasmOrReference, requireInput, viewsInWasm, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef,
} from '../kernel.js';
import { FLOATS, NUMERIC, checkDtype, isBigIntDtype } from './dtypes.js';

/**
 * float32 on wasm SIMD (the clamp kernel: x < lo ? lo : hi < x ? hi : x, NaN passing through): bounds from the
 * attributes (opset < 11) or read from the scalar inputs at run (they may be computed values).
 */
function prepareClipWasm(x: TensorType, ctx: PrepareContext): PreparedKernel {
  const wasm = ctx.options.wasm!;
  const clamp = wasm.kernels.elementwise.clamp;
  const attrs = ctx.opset < 11;
  const lo0 = attrs ? attrFloat(ctx.node, 'min', -Infinity) : -Infinity;
  const hi0 = attrs ? attrFloat(ctx.node, 'max', Infinity) : Infinity;
  // X or Y outside wasm memory (a hand-made run): the JS clip, counted. The bounds are read in JS either way.
  const kernel = onWasmOrReference(prepareClipJs(ctx), 'wasm clamp', (inputs, outs) => {
    const xs = inputs[0] as Float32Array;
    const y = outs[0] as Float32Array;
    if (!viewsInWasm(wasm, xs, y)) return false;
    const lo = attrs || inputs[1] === undefined ? lo0 : (inputs[1] as Float32Array)[0]!;
    const hi = attrs || inputs[2] === undefined ? hi0 : (inputs[2] as Float32Array)[0]!;
    // min > max gives max everywhere (numpy clip): clamping to [max, max] does that.
    clamp(xs.byteOffset, y.byteOffset, y.length, lo > hi ? hi : lo, hi);
    return true;
  });
  return { ...kernel, outputs: [{ dtype: 'float32', shape: [...x.shape] }], inPlace: 0, jsOk: undefined };
}

export const clipKernel: KernelDef = {
  opType: 'Clip',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    prepareClipJs(ctx); // validates dtypes and bound shapes for every variant
    return chooseVariant(CLIP_VARIANTS, x, ctx);
  },
};

const CLIP_VARIANTS: readonly VariantDef<TensorType>[] = [
  { name: (x) => `${x.dtype === 'float32' ? 'f32' : x.dtype}_clip__js`, applies: () => true, placement: 'any', prepare: (_x, ctx) => prepareClipJs(ctx) },
  { name: 'f32_clip__wasmsimd', applies: (x, caps) => caps.wasm !== undefined && x.dtype === 'float32', placement: 'wasm', prepare: prepareClipWasm },
];

function prepareClipJs(ctx: PrepareContext): PreparedKernel {
    // x: any shape, min/max: scalars -> y: x's shape
    const x = requireInput(ctx, 0);
    checkDtype(ctx, x.dtype, ctx.opset >= 12 ? NUMERIC : FLOATS);
    const outputs = [{ dtype: x.dtype, shape: [...x.shape] }];
    if (ctx.opset < 11) {
      const lo = attrFloat(ctx.node, 'min', -Infinity);
      const hi = attrFloat(ctx.node, 'max', Infinity);
      return {
        outputs,
        inPlace: 0,
        run(inputs, outs) {
          const xs = inputs[0] as Float32Array;
          const ys = outs[0] as Float32Array;
          for (let i = 0; i < xs.length; i++) ys[i] = Math.min(Math.max(xs[i], lo), hi);
        },
      };
    }
    for (const i of [1, 2]) {
      const t = ctx.inputs[i];
      if (t === undefined) continue;
      if (t.dtype !== x.dtype) throw kernelError(ctx, `input ${i} has dtype ${t.dtype}, expected ${x.dtype}`);
      if (sizeOf(t.shape) !== 1) throw kernelError(ctx, `input ${i} must be a scalar, got shape [${t.shape.join(',')}]`);
    }
    const big = isBigIntDtype(x.dtype);
    return {
      outputs,
      inPlace: 0,
      run(inputs, outs) {
        const xs = inputs[0] as any;
        const ys = outs[0] as any;
        const lo = inputs[1]?.[0];
        const hi = inputs[2]?.[0];
        // Bounds compare with NaN-safe ternaries so a NaN x stays NaN; min > max gives max (numpy clip).
        if (big) {
          for (let i = 0; i < xs.length; i++) {
            let v = xs[i];
            if (lo !== undefined && v < lo) v = lo;
            if (hi !== undefined && v > hi) v = hi;
            ys[i] = v;
          }
          return;
        }
        const l = lo === undefined ? -Infinity : (lo as number);
        const h = hi === undefined ? Infinity : (hi as number);
        for (let i = 0; i < xs.length; i++) {
          const v = xs[i];
          ys[i] = v < l ? (l > h ? h : l) : v > h ? h : v;
        }
      },
    };
}

