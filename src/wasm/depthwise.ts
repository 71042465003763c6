import type { WasmContext } from './context.js';

/**
 * The wasm twin of the depthwise interiors in src/kernels/conv/depthwise.ts (K×K, K = 3 or 5, stride 1 or 2,
 * dilation 1): outputs [rowLo, rowHi) × [colLo, colHi) of one plane,
 *   y[yc + oh·OW + ow] = bias + Σ w[wm + kh·K + kw] · x[xc + (S·oh − ph + kh)·W + S·ow − pw + kw],
 * every tap inside x (the caller keeps the border). The weights are passed by value, so only x and y must be
 * views of ctx.memory; returns false otherwise. Allocates nothing.
 */
export function wasmDepthwiseInterior(
  ctx: WasmContext, K: 3 | 5, stride: 1 | 2, x: Float32Array, xc: number, W: number, w: ArrayLike<number>, wm: number,
  bias: number, y: Float32Array, yc: number, OW: number, rowLo: number, rowHi: number, colLo: number, colHi: number,
  ph: number, pw: number,
): boolean {
  const buffer = ctx.memory.buffer;
  if (x.buffer !== buffer || y.buffer !== buffer) return false;
  if (rowLo >= rowHi || colLo >= colHi) return true;
  const kernel = ctx.kernels.depthwise[K][stride - 1];
  const xp = x.byteOffset + 4 * xc, yp = y.byteOffset + 4 * yc;
  if (K === 3) {
    kernel(xp, W, yp, OW, rowLo, rowHi, colLo, colHi, ph, pw, bias,
      w[wm]!, w[wm + 1]!, w[wm + 2]!, w[wm + 3]!, w[wm + 4]!, w[wm + 5]!, w[wm + 6]!, w[wm + 7]!, w[wm + 8]!);
  } else {
    kernel(xp, W, yp, OW, rowLo, rowHi, colLo, colHi, ph, pw, bias,
      w[wm]!, w[wm + 1]!, w[wm + 2]!, w[wm + 3]!, w[wm + 4]!, w[wm + 5]!, w[wm + 6]!, w[wm + 7]!, w[wm + 8]!,
      w[wm + 9]!, w[wm + 10]!, w[wm + 11]!, w[wm + 12]!, w[wm + 13]!, w[wm + 14]!, w[wm + 15]!, w[wm + 16]!,
      w[wm + 17]!, w[wm + 18]!, w[wm + 19]!, w[wm + 20]!, w[wm + 21]!, w[wm + 22]!, w[wm + 23]!, w[wm + 24]!);
  }
  return true;
}

/** wasmDepthwiseInterior for K = 3 (the signature src/kernels/conv/depthwise.ts calls). */
export function wasmDepthwise3x3Interior(
  ctx: WasmContext, stride: 1 | 2, x: Float32Array, xc: number, W: number, w: ArrayLike<number>, wm: number,
  bias: number, y: Float32Array, yc: number, OW: number, rowLo: number, rowHi: number, colLo: number, colHi: number,
  ph: number, pw: number,
): boolean {
  return wasmDepthwiseInterior(ctx, 3, stride, x, xc, W, w, wm, bias, y, yc, OW, rowLo, rowHi, colLo, colHi, ph, pw);
}
