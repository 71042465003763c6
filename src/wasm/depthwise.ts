import type { WasmContext } from './context.js';

/**
 * The wasm twin of the 3×3 depthwise interiors (stride 1 and 2, dilation 1) in src/kernels/conv/depthwise.ts:
 * outputs [rowLo, rowHi) × [colLo, colHi) of one plane, y[yc + oh·OW + ow] = bias + Σ w[wm + kh·3 + kw] ·
 * x[xc + (S·oh − ph + kh)·W + S·ow − pw + kw], every tap inside x (the caller keeps the border).
 * The weights are passed by value, so only x and y must be views of ctx.memory; returns false otherwise.
 */
export function wasmDepthwise3x3Interior(
  ctx: WasmContext, stride: 1 | 2, x: Float32Array, xc: number, W: number, w: ArrayLike<number>, wm: number, bias: number,
  y: Float32Array, yc: number, OW: number, rowLo: number, rowHi: number, colLo: number, colHi: number,
  ph: number, pw: number,
): boolean {
  const buffer = ctx.memory.buffer;
  if (x.buffer !== buffer || y.buffer !== buffer) return false;
  if (rowLo >= rowHi || colLo >= colHi) return true;
  ctx.kernels.depthwise3x3[stride - 1](
    x.byteOffset + 4 * xc, W, y.byteOffset + 4 * yc, OW, rowLo, rowHi, colLo, colHi, ph, pw, bias,
    w[wm]!, w[wm + 1]!, w[wm + 2]!, w[wm + 3]!, w[wm + 4]!, w[wm + 5]!, w[wm + 6]!, w[wm + 7]!, w[wm + 8]!,
  );
  return true;
}
