import type { Activation } from '../gemm/activation.js';
import type { WasmContext } from '../../wasm/context.js';
import { activateInPlace } from './fused-activation.js';
import type { ConvProblem } from './reference.js';
import type { WasmDwconvGenericKernel } from './dwconv-generic.wasm.js';
import { uploadVector, type WasmVector } from './wasm-weights.js';

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
  for (let n = 0; n < p.batch; n++) {
    k.kernel(
      x.byteOffset + n * inItem, y.byteOffset + n * outItem, wPtr, bPtr, k.taps.offset, plan.T, plan.Cg, plan.Mg, p.group,
      H, W, OH, OW, g.strides[1]!, g.strides[2]!, g.padsBegin[1]!, g.padsBegin[2]!, padded.byteOffset, plan.Hp, plan.Wq,
      clamp ? 1 : 0, lo, hi,
    );
  }
  if (!clamp && act.kind !== 'none') activateInPlace(act, y, 0, y.length, k.ctx);
  return true;
}
