import type { WasmContext } from './context.js';
import type { WinogradInputVariant } from './winograd-kernels.js';

/**
 * Winograd input transform V = Bᵀ d B on WebAssembly SIMD for `4·groups` channels of one interior tile
 * (every element inside X): channel c's n×n tile starts at x[xOff + c·planeStride] with row stride W, and
 * V_c[ξ] goes to v[vOff + ξ·xiStride + c] — the [ξ][tile][channel] layout of src/kernels/conv/winograd.ts
 * (vOff = plan.vOffset + t·C + c0, xiStride = C·tilesPerBlock). Channels past the last group of four, and
 * border tiles, stay with the caller. Returns false when x or v is not a view of ctx.memory.
 */
export function wasmWinogradInput(
  ctx: WasmContext, variant: WinogradInputVariant, x: Float32Array, xOff: number, W: number, planeStride: number,
  groups: number, v: Float32Array, vOff: number, xiStride: number,
): boolean {
  const buffer = ctx.memory.buffer;
  if (x.buffer !== buffer || v.buffer !== buffer) return false;
  if (groups <= 0) return true;
  ctx.kernels.winogradInput[variant](x.byteOffset + 4 * xOff, W, 4 * planeStride, groups, v.byteOffset + 4 * vOff, 4 * xiStride);
  return true;
}
