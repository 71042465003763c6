/**
 * Clip: y = min(max(x, min), max). Opset < 11 takes min/max as float attributes; opset >= 11 as
 * optional scalar inputs (omitted = no bound), read at run so they may be computed values.
 */
import { attrFloat } from '../../graph/attributes.js';
import { sizeOf } from '../../dtype.js';
import { kernelError, requireInput, type KernelDef } from '../kernel.js';
import { FLOATS, NUMERIC, checkDtype, isBigIntDtype } from './dtypes.js';

export const clipKernel: KernelDef = {
  opType: 'Clip',
  prepare(ctx) {
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
  },
};
