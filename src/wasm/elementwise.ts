import type { WasmContext } from './context.js';
import type { BinaryOp } from './elementwise-kernels.js';

/**
 * TypeScript face of the elementwise wasm kernels. Each returns false, doing nothing, when a view is not in
 * ctx.memory (the caller then runs its JS loop); views are used whole (pass subarrays). Allocates nothing.
 */

function inMemory(ctx: WasmContext, ...views: Float32Array[]): boolean {
  const buffer = ctx.memory.buffer;
  for (const v of views) if (v.buffer !== buffer) return false;
  return true;
}

/** out = a op b elementwise (same shapes; out.length elements). out may be a or b. */
export function wasmBinary(ctx: WasmContext, op: BinaryOp, a: Float32Array, b: Float32Array, out: Float32Array): boolean {
  if (!inMemory(ctx, a, b, out)) return false;
  if (a.length < out.length || b.length < out.length) throw new RangeError('wasmBinary: inputs shorter than out');
  ctx.invokeRange(ctx.kernels.elementwise.binary[op], [a.byteOffset, b.byteOffset, out.byteOffset, out.length], out.length, [0, 1, 2], 3);
  return true;
}

/**
 * out[o·inner + i] = x[o·inner + i] op c[o mod channels] (or c[...] op x[...] when `channelOnLeft`, for sub/div):
 * a per-channel operand, as Add/Mul with a [C, 1, 1] bias broadcast over NCHW (outer = N·C, inner = H·W).
 */
export function wasmPerChannel(
  ctx: WasmContext, op: BinaryOp, x: Float32Array, c: Float32Array, out: Float32Array,
  outer: number, inner: number, channelOnLeft = false,
): boolean {
  if (!inMemory(ctx, x, c, out)) return false;
  if (x.length < outer * inner || out.length < outer * inner) throw new RangeError('wasmPerChannel: views shorter than outer·inner');
  const kernels = ctx.kernels.elementwise;
  const commutes = op === 'add' || op === 'mul';
  const kernel = channelOnLeft && !commutes ? kernels.channelReversed[op as 'sub' | 'div'] : kernels.channel[op];
  kernel(x.byteOffset, c.byteOffset, out.byteOffset, outer, inner, c.length);
  return true;
}

/** out = clamp(x, lo, hi) (NaN passes through); Relu is lo = 0, hi = Infinity. */
export function wasmClamp(ctx: WasmContext, x: Float32Array, out: Float32Array, lo: number, hi: number): boolean {
  if (!inMemory(ctx, x, out)) return false;
  const n = Math.min(x.length, out.length);
  ctx.invokeRange(ctx.kernels.elementwise.clamp, [x.byteOffset, out.byteOffset, n, lo, hi], n, [0, 1], 2);
  return true;
}

/** out = x < 0 ? alpha·x : x. */
export function wasmLeakyRelu(ctx: WasmContext, x: Float32Array, out: Float32Array, alpha: number): boolean {
  if (!inMemory(ctx, x, out)) return false;
  const n = Math.min(x.length, out.length);
  ctx.invokeRange(ctx.kernels.elementwise.leakyRelu, [x.byteOffset, out.byteOffset, n, alpha], n, [0, 1], 2);
  return true;
}
