import type { Activation } from '../gemm/activation.js';
import type { WasmContext } from '../../wasm/context.js';
import { activateInPlace } from './fused-activation.js';
import type { ConvProblem } from './reference.js';
import type { WasmDwconvGenericKernel } from './dwconv-generic.wasm.js';
import { uploadVector, type WasmVector } from './wasm-weights.js';
import { SPLIT_MIN_MACS } from '../../wasm/gemm.js';
import { MATH_KERNELS } from '../../wasm/math-kernels.js';
import { ArgCode } from '../../wasm/threads.js';

/**
 * The geometry of f32_dwconv_minmax_generic for one 2-D (or lifted 1-D) grouped conv: T taps per output channel,
 * the phase-split padded plane (Hp rows of sw phases of Wq floats) and the tap offsets into it.
 */
export interface DwconvGenericPlan {
  T: number;
  Cg: number;
  Mg: number;
  Hp: number;
  Wq: number;
  /** Byte offsets of the T taps from a padded output row start, in W's [Cg, KH, KW] order. */
  taps: Int32Array;
  /** Float32 scratch: Cg padded planes. */
  scratchLength: number;
}

/** True for the problems the generic kernel computes: 2-D (or 1-D), grouped (depthwise included). */
export function dwconvGenericApplies(p: ConvProblem): boolean {
  return p.group > 1 && p.geo.inSize[0] === 1 && p.geo.kernel[0] === 1;
}

export function planDwconvGeneric(p: ConvProblem): DwconvGenericPlan {
  const g = p.geo;
  const [KH, KW] = [g.kernel[1]!, g.kernel[2]!];
  const [sh, sw] = [g.strides[1]!, g.strides[2]!];
  const [dh, dw] = [g.dilations[1]!, g.dilations[2]!];
  const [OH, OW] = [g.outSize[1]!, g.outSize[2]!];
  const Cg = p.inChannels / p.group;
  const Mg = p.outChannels / p.group;
  const Hp = (OH - 1) * sh + (KH - 1) * dh + 1;
  const qMax = Math.floor(((KW - 1) * dw) / sw);
  const Wq = Math.ceil((Math.ceil(OW / 4) * 4 + qMax) / 4) * 4;
  const rowBytes = sw * Wq * 4;
  const planeBytes = Hp * rowBytes;
  const T = Cg * KH * KW;
  const taps = new Int32Array(T);
  let t = 0;
  for (let c = 0; c < Cg; c++) {
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const col = kw * dw;
        taps[t++] = c * planeBytes + kh * dh * rowBytes + (col % sw) * Wq * 4 + Math.floor(col / sw) * 4;
      }
    }
  }
  return { T, Cg, Mg, Hp, Wq, taps, scratchLength: Cg * Hp * sw * Wq };
}

/** The constants the kernel reads from wasm memory: weights [M, T] (as ONNX stores them), bias, tap table. */
export interface DwconvGenericWasm {
  readonly ctx: WasmContext;
  readonly kernel: WasmDwconvGenericKernel;
  readonly taps: WasmVector;
  readonly w?: WasmVector;
  readonly bias?: WasmVector;
}

/** Uploads the tap table and the constant weights and bias (call at prepare: it may grow the memory). */
export function uploadDwconvGeneric(
  ctx: WasmContext, kernel: WasmDwconvGenericKernel, plan: DwconvGenericPlan, w: Float32Array | undefined, bias: Float32Array | undefined,
): DwconvGenericWasm {
  return {
    ctx, kernel,
    taps: uploadVector(ctx, new Float32Array(plan.taps.buffer, plan.taps.byteOffset, plan.taps.length)),
    w: w === undefined ? undefined : uploadVector(ctx, w),
    bias: bias === undefined ? undefined : uploadVector(ctx, bias),
  };
}

/**
 * The grouped / depthwise conv on wasm, one kernel call per batch item, bias and Relu/Clip fused, other
 * activations over Y afterwards. x, y, padded (and w, bias when not uploaded constants) must be views of the
 * context's memory; returns false, doing nothing, otherwise.
 * X [N, C, 1, H, W], W [M, C/group, 1, KH, KW], B [M] -> Y [N, M, 1, OH, OW]
 */
export function convDwconvGenericWasm(
  p: ConvProblem, plan: DwconvGenericPlan, k: DwconvGenericWasm, x: Float32Array, w: Float32Array, bias: Float32Array | undefined,
  y: Float32Array, padded: Float32Array, act: Activation,
): boolean {
  const buffer = k.ctx.memory.buffer;
  if (x.buffer !== buffer || y.buffer !== buffer || padded.buffer !== buffer) return false;
  const wPtr = k.w !== undefined ? k.w.offset : w.buffer === buffer ? w.byteOffset : -1;
  const bPtr = bias === undefined ? 0 : k.bias !== undefined ? k.bias.offset : bias.buffer === buffer ? bias.byteOffset : -1;
  if (wPtr < 0 || bPtr < 0) return false;
  const g = p.geo;
  const [H, W] = [g.inSize[1]!, g.inSize[2]!];
  const [OH, OW] = [g.outSize[1]!, g.outSize[2]!];
  const clamp = act.kind === 'relu' || act.kind === 'clip';
  const lo = act.kind === 'clip' ? act.min ?? -Infinity : act.kind === 'relu' ? 0 : -Infinity;
  const hi = act.kind === 'clip' ? act.max ?? Infinity : Infinity;
  const inItem = p.inChannels * H * W * 4;
  const outItem = p.outChannels * OH * OW * 4;
  const args = [
    0, 0, wPtr, bPtr, k.taps.offset, plan.T, plan.Cg, plan.Mg, p.group, H, W, OH, OW, g.strides[1]!, g.strides[2]!,
    g.padsBegin[1]!, g.padsBegin[2]!, padded.byteOffset, plan.Hp, plan.Wq, clamp ? 1 : 0, lo, hi,
  ];
  const after = clamp || act.kind === 'none' ? undefined : act;
  if (onThreads(p, plan, k, args, x.byteOffset, y.byteOffset, inItem, outItem, padded, after)) return true;
  for (let n = 0; n < p.batch; n++) {
    args[0] = x.byteOffset + n * inItem;
    args[1] = y.byteOffset + n * outItem;
    (k.kernel as (...a: number[]) => void)(...args);
  }
  if (after !== undefined) activateInPlace(after, y, 0, y.length, k.ctx);
  return true;
}

/**
 * With threads: ranges of groups of each batch item, each thread on its own padded planes (the scratch holds
 * one set per thread), a SiLU/sigmoid/tanh after the kernel applied per range in the same group. False when
 * there is no pool, the layer is too small to pay, or the scratch or the activation do not allow it.
 */
function onThreads(
  p: ConvProblem, plan: DwconvGenericPlan, k: DwconvGenericWasm, args: number[], x: number, y: number, inItem: number,
  outItem: number, padded: Float32Array, after: Activation | undefined,
): boolean {
  const pool = k.ctx.pool;
  if (pool === undefined || padded.length < plan.scratchLength * pool.threads) return false;
  const g = p.geo;
  const [H, W] = [g.inSize[1]!, g.inSize[2]!];
  const plane = g.outSize[1]! * g.outSize[2]!;
  const macs = p.outChannels * plane * plan.T;
  const chunks = Math.min(p.group, pool.threads * 3, Math.floor(macs / SPLIT_MIN_MACS));
  if (chunks < 2) return false;
  let unary: ((...a: number[]) => unknown) | undefined;
  if (after !== undefined) {
    const kind = after.kind;
    if (kind !== 'silu' && kind !== 'sigmoid' && kind !== 'tanh') return false;
    unary = k.ctx.use(MATH_KERNELS)?.unary[kind];
    if (unary === undefined) return false;
  }
  const { Cg, Mg, T } = plan;
  pool.batch(() => {
    for (let n = 0; n < p.batch; n++) {
      for (let i = 0; i < chunks; i++) {
        const g0 = Math.floor((i * p.group) / chunks);
        const g1 = Math.floor(((i + 1) * p.group) / chunks);
        const chunk = args.slice();
        chunk[0] = x + n * inItem + 4 * g0 * Cg * H * W;
        const yAt = y + n * outItem + 4 * g0 * Mg * plane;
        chunk[1] = yAt;
        chunk[2] = args[2]! + 4 * g0 * Mg * T;
        chunk[3] = args[3] === 0 ? 0 : args[3]! + 4 * g0 * Mg;
        chunk[8] = g1 - g0;
        pool.group();
        pool.call(k.kernel as (...a: number[]) => unknown, chunk, PADDED_CODES, 4 * plan.scratchLength);
        if (unary !== undefined) pool.call(unary, [yAt, yAt, (g1 - g0) * Mg * plane]);
      }
    }
  });
  return true;
}

/** The padded planes (argument 17) are per thread. */
const PADDED_CODES: ArgCode[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ArgCode.StepScratch];
