import { SPLIT_MIN_MACS } from './gemm.js';
import { ArgCode } from './threads.js';
import type { WasmContext, WasmDepthwiseKernel, WasmModuleSpec } from './context.js';
import type { ModuleBuilder } from './emitter.js';
import { depthwiseLayerName, emitDepthwise, emitDepthwiseLayer } from './depthwise-kernels.js';

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

/** The 7×7 depthwise interiors (ConvNeXt), by stride − 1: a family of their own, off the default module. */
export const DEPTHWISE7_WASM: WasmModuleSpec<readonly [WasmDepthwiseKernel, WasmDepthwiseKernel]> = {
  key: 'dwconv-7x7',
  build(m: ModuleBuilder): void {
    m.addFunction(emitDepthwise(7, 1), 'f32_dwconv_7x7s1_interior__wasmsimd');
    m.addFunction(emitDepthwise(7, 2), 'f32_dwconv_7x7s2_interior__wasmsimd');
  },
  bind: (e) => [e.f32_dwconv_7x7s1_interior__wasmsimd as WasmDepthwiseKernel, e.f32_dwconv_7x7s2_interior__wasmsimd as WasmDepthwiseKernel],
};

/**
 * A dilated K×K depthwise interior (stride 1; DeepLab's and LR-ASPP's MobileNetV3 tail): one module per (K,
 * dilation), called like the 7×7 through an argument array (wasmDepthwiseArgsInterior).
 */
export function dilatedDepthwiseModule(K: 3 | 5 | 7, dilation: number): WasmModuleSpec<WasmDepthwiseKernel> {
  const name = `f32_dwconv_${K}x${K}s1d${dilation}_interior__wasmsimd`;
  return {
    key: name,
    build(m: ModuleBuilder): void {
      m.addFunction(emitDepthwise(K, 1, dilation), name);
    },
    bind: (e) => e[name] as WasmDepthwiseKernel,
  };
}

/**
 * wasmDepthwiseInterior through an argument array: K = 7 with `kernel` from DEPTHWISE7_WASM, or any dilated
 * kernel; its 11 + K² arguments go through `args` (reused by the caller across calls, so nothing is allocated
 * per plane).
 */
export function wasmDepthwise7x7Interior(
  ctx: WasmContext, kernel: WasmDepthwiseKernel, args: number[], x: Float32Array, xc: number, W: number, w: ArrayLike<number>,
  wm: number, bias: number, y: Float32Array, yc: number, OW: number, rowLo: number, rowHi: number, colLo: number,
  colHi: number, ph: number, pw: number,
): boolean {
  const buffer = ctx.memory.buffer;
  if (x.buffer !== buffer || y.buffer !== buffer) return false;
  if (rowLo >= rowHi || colLo >= colHi) return true;
  args[0] = x.byteOffset + 4 * xc; args[1] = W; args[2] = y.byteOffset + 4 * yc; args[3] = OW;
  args[4] = rowLo; args[5] = rowHi; args[6] = colLo; args[7] = colHi; args[8] = ph; args[9] = pw; args[10] = bias;
  for (let t = 11; t < args.length; t++) args[t] = w[wm + t - 11]!;
  (kernel as (...a: number[]) => void).apply(undefined, args);
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

/** f32_dwconv_3x3s{S}_layer_minmax (see emitDepthwiseLayer); pointers are byte offsets. */
export type WasmDepthwiseLayerKernel = (
  x: number, y: number, w: number, bias: number, M: number, mult: number, H: number, W: number, OH: number, OW: number,
  ph: number, pw: number, padded: number, Hp: number, Wp: number, act: number, lo: number, hi: number,
) => void;

/** The whole-layer depthwise kernels, by stride − 1. */
export interface WasmDepthwiseLayer {
  readonly layer3x3: readonly [WasmDepthwiseLayerKernel, WasmDepthwiseLayerKernel];
}

/** The whole-layer depthwise family, compiled on first use per context (`ctx.use(DEPTHWISE_LAYER_WASM)`). */
export const DEPTHWISE_LAYER_WASM: WasmModuleSpec<WasmDepthwiseLayer> = {
  key: 'dwconv-layer',
  build(m: ModuleBuilder): void {
    m.addFunction(emitDepthwiseLayer(1), depthwiseLayerName(1));
    m.addFunction(emitDepthwiseLayer(2), depthwiseLayerName(2));
  },
  bind(exports: Record<string, unknown>): WasmDepthwiseLayer {
    return { layer3x3: [exports[depthwiseLayerName(1)] as WasmDepthwiseLayerKernel, exports[depthwiseLayerName(2)] as WasmDepthwiseLayerKernel] };
  },
};

/** Rows × columns of the zero-bordered plane the layer kernel reads for an OH×OW output at stride S (see emitDepthwiseLayer). */
export function depthwiseLayerPaddedSize(stride: 1 | 2, OH: number, OW: number): [Hp: number, Wp: number] {
  return [stride * (OH - 1) + 3, stride * Math.ceil(OW / 4) * 4 + 2];
}

/**
 * One batch item of a depthwise 3×3 layer (stride 1 or 2, dilation 1) in one wasm call:
 *   Y[m] = clamp(bias[m] + conv3x3(X[m / mult], w[m]), lo, hi)   (no clamp when `clamp` is false),
 * X [C, H, W] at x[xOff], Y [M, OH, OW] at y[yOff], w [M, 9], bias [M] or undefined, `padded` at least
 * depthwiseLayerPaddedSize floats. Returns false, doing nothing, unless every view is in ctx.memory.
 */
export function wasmDepthwiseLayer(
  ctx: WasmContext, k: WasmDepthwiseLayer, stride: 1 | 2, x: Float32Array, xOff: number, C: number, H: number, W: number,
  w: Float32Array, bias: Float32Array | undefined, y: Float32Array, yOff: number, M: number, OH: number, OW: number,
  ph: number, pw: number, padded: Float32Array, clamp: boolean, lo: number, hi: number,
): boolean {
  const buffer = ctx.memory.buffer;
  if (x.buffer !== buffer || y.buffer !== buffer || w.buffer !== buffer || padded.buffer !== buffer) return false;
  if (bias !== undefined && bias.buffer !== buffer) return false;
  const [Hp, Wp] = depthwiseLayerPaddedSize(stride, OH, OW);
  if (padded.length < Hp * Wp || w.length < 9 * M || M % C !== 0) return false;
  const kernel = k.layer3x3[stride - 1];
  const mult = M / C;
  const args = [
    x.byteOffset + 4 * xOff, y.byteOffset + 4 * yOff, w.byteOffset, bias?.byteOffset ?? 0, M, mult, H, W, OH, OW, ph, pw,
    padded.byteOffset, Hp, Wp, clamp ? 1 : 0, lo, hi,
  ];
  // With threads: channel ranges (whole input channels), each thread on its own padded plane.
  const pool = ctx.pool;
  const planes = Math.floor(padded.length / (Hp * Wp));
  const chunks = pool === undefined ? 1 : Math.min(C, pool.threads * 3, Math.floor((M * OH * OW * 9) / SPLIT_MIN_MACS));
  if (pool === undefined || chunks < 2 || planes < pool.threads) {
    (kernel as (...a: number[]) => void)(...args);
    return true;
  }
  pool.batch(() => {
    for (let i = 0; i < chunks; i++) {
      const c0 = Math.floor((i * C) / chunks);
      const c1 = Math.floor(((i + 1) * C) / chunks);
      const chunk = args.slice();
      chunk[0] = args[0]! + 4 * c0 * H * W;
      chunk[1] = args[1]! + 4 * c0 * mult * OH * OW;
      chunk[2] = args[2]! + 4 * 9 * c0 * mult;
      chunk[3] = args[3] === 0 ? 0 : args[3]! + 4 * c0 * mult;
      chunk[4] = (c1 - c0) * mult;
      pool.group();
      pool.call(kernel, chunk, LAYER_CODES, 4 * Hp * Wp);
    }
  });
  return true;
}

/** The padded plane (argument 12) is per thread: thread t's is t planes further. */
const LAYER_CODES: ArgCode[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ArgCode.StepScratch];
