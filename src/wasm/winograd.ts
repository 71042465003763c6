import type { Activation } from '../kernels/gemm/activation.js';
import type { WasmContext } from './context.js';
import { epilogue } from './gemm.js';
import type { WinogradInputVariant } from './winograd-kernels.js';

/**
 * Winograd input transform V = Bᵀ d B on WebAssembly SIMD for `4·groups` channels of one interior tile
 * (every element inside X): channel c's n×n tile starts at x[xOff + c·planeStride] with row stride W, and
 * V_c[ξ] goes to v[vOff + ξ·xiStride + c] — the [ξ][tile][channel] layout of src/kernels/conv/winograd.ts
 * (vOff = plan.vOffset + t·C + c0, xiStride = C·tilesPerBlock). Channels past the last group of four, and
 * border tiles, stay with the caller. Returns false when x or v is not a view of ctx.memory.
 * The variant's module is generated on its first use: call ctx.winograd(variant) (or, on a browser's main
 * thread, await ctx.loadWinograd(variant)) at prepare to pay that there.
 */
export function wasmWinogradInput(
  ctx: WasmContext, variant: WinogradInputVariant, x: Float32Array, xOff: number, W: number, planeStride: number,
  groups: number, v: Float32Array, vOff: number, xiStride: number,
): boolean {
  const buffer = ctx.memory.buffer;
  if (x.buffer !== buffer || v.buffer !== buffer) return false;
  const kernels = ctx.winograd(variant);
  if (kernels === undefined) return false;
  if (groups <= 0) return true;
  ctx.invoke(kernels.input, ...winogradInputArgs(x.byteOffset + 4 * xOff, W, planeStride, groups, v.byteOffset + 4 * vOff, xiStride));
  return true;
}

/** The input transform's arguments: tile at byte x (row stride W, plane stride in floats), V at byte v. */
export function winogradInputArgs(x: number, W: number, planeStride: number, groups: number, v: number, xiStride: number): number[] {
  return [x, W, 4 * planeStride, groups, v, 4 * xiStride];
}

/**
 * Winograd output transform Y = act(Aᵀ M A + bias) on WebAssembly SIMD for `4·groups` output channels of one
 * interior output tile (all m×m inside Y): M_o[ξ] is m[mOff + ξ·xiStride + o] (the [ξ][tile][channel] layout,
 * mOff = plan.mOffset + t·M + o0, xiStride = M·tilesPerBlock), output channel o's tile starts at
 * y[yOff + o·planeStride] with row stride OW. `bias` (if given) is a view of ctx.memory read at biasOff + o.
 * Activations other than none/relu/clip/leakyrelu/hardswish return false (the caller runs its JS path), as
 * do views outside ctx.memory.
 */
export function wasmWinogradOutput(
  ctx: WasmContext, variant: WinogradInputVariant, m: Float32Array, mOff: number, xiStride: number, groups: number,
  bias: Float32Array | undefined, biasOff: number, y: Float32Array, yOff: number, OW: number, planeStride: number,
  act: Activation,
): boolean {
  const buffer = ctx.memory.buffer;
  if (m.buffer !== buffer || y.buffer !== buffer || (bias !== undefined && bias.buffer !== buffer)) return false;
  if (!epilogue(act)[3]) return false;
  const kernels = ctx.winograd(variant);
  if (kernels === undefined) return false;
  if (groups <= 0) return true;
  ctx.invoke(
    kernels.output,
    ...winogradOutputArgs(m.byteOffset + 4 * mOff, xiStride, groups, bias === undefined ? 0 : bias.byteOffset + 4 * biasOff, y.byteOffset + 4 * yOff, OW, planeStride, act),
  );
  return true;
}

/**
 * The output transform's arguments: M at byte m, bias at byte `bias` (0: none), the tile at byte y (row stride OW,
 * plane stride in floats), the activation as the store's epilogue (fused kinds only).
 */
export function winogradOutputArgs(
  m: number, xiStride: number, groups: number, bias: number, y: number, OW: number, planeStride: number, act: Activation,
): number[] {
  const [code, p0, p1] = epilogue(act);
  return [m, 4 * xiStride, groups, bias, y, OW, 4 * planeStride, code, p0, p1];
}
