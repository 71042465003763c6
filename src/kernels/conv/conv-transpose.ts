import { attrInt, attrInts } from '../../graph/attributes.js';
import { chooseVariant, jsFallbacks, kernelError, ranOnWasm, withActivation, type Capabilities, type KernelDef, type PrepareContext, type PreparedKernel, type TensorType, type VariantDef } from '../kernel.js';
import type { Activation } from '../gemm/activation.js';
import type { WasmContext } from '../../wasm/context.js';
import { activateInPlace, prepareActivationOnWasm, readFusedActivation } from './fused-activation.js';
import { shapeTag } from './variants.js';
import { liftGeometry, readWindowAttrs, type WindowGeometry } from './geometry.js';
import { convOperands } from './conv.js';
import type { ConvProblem, FloatArray } from './reference.js';
import { col2imApplies, convTransposeCol2im, convTransposeCol2imWasm, planCol2im, planCol2imWasm, prepareCol2imWasm as col2imWasmFor } from './col2im.js';

/**
 * ConvTranspose output size and pads (ONNX ConvTranspose, as onnx/reference computes them):
 * full = s·(in − 1) + output_padding + (k − 1)·d + 1. With explicit pads (NOTSET/VALID) out = full − pb − pe
 * unless output_shape is given, which then wins. With SAME_UPPER/LOWER, out = output_shape or in·s, and the
 * total padding full − out is split with the odd pixel at the end (UPPER) or the begin (LOWER).
 */
function transposeGeometry(ctx: PrepareContext, inSize: number[], kernelFromW: number[]): WindowGeometry {
  const rank = inSize.length;
  const a = readWindowAttrs(ctx, rank, kernelFromW);
  const outputPadding = attrInts(ctx.node, 'output_padding') ?? new Array<number>(rank).fill(0);
  if (outputPadding.length < rank) throw kernelError(ctx, `output_padding has ${outputPadding.length} values, expected ${rank}`);
  let outputShape = attrInts(ctx.node, 'output_shape');
  if (outputShape !== undefined && outputShape.length === rank + 2) outputShape = outputShape.slice(2);
  if (outputShape !== undefined && outputShape.length !== rank) throw kernelError(ctx, `output_shape [${outputShape}] must have ${rank} values`);
  const same = a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER';
  const outSize: number[] = [];
  const padsBegin: number[] = [];
  const padsEnd: number[] = [];
  for (let i = 0; i < rank; i++) {
    const full = a.strides[i]! * (inSize[i]! - 1) + outputPadding[i]! + (a.kernel[i]! - 1) * a.dilations[i]! + 1;
    let pb: number;
    let pe: number;
    let out: number;
    if (same) {
      out = outputShape?.[i] ?? inSize[i]! * a.strides[i]!;
      const total = full - out;
      const half = Math.floor(total / 2);
      pb = a.autoPad === 'SAME_UPPER' ? half : total - half;
      pe = total - pb;
    } else {
      pb = a.autoPad === 'VALID' ? 0 : a.pads[i]!;
      pe = a.autoPad === 'VALID' ? 0 : a.pads[i + rank]!;
      out = outputShape?.[i] ?? full - pb - pe;
    }
    if (!(out >= 1)) throw kernelError(ctx, `spatial dim ${i}: output size ${out} is empty`);
    outSize.push(out);
    padsBegin.push(pb);
    padsEnd.push(pe);
  }
  return { inSize: [...inSize], outSize, kernel: a.kernel, strides: a.strides, dilations: a.dilations, padsBegin, padsEnd };
}

/**
 * Transposed convolution as a scatter, the adjoint of Conv: every input pixel i of channel c adds
 * X[n, c, i] · W[c, m, k] to Y[n, g·Mg + m, i·s − pb + k·d] (dropped when outside the output).
 * p.geo.inSize is X's spatial size and p.geo.outSize Y's, lifted to 3 dims.
 * X [N, C, D, H, W], W [C, M/group, KD, KH, KW], B [M] -> Y [N, M, OD, OH, OW]
 */
export function convTransposeReference(p: ConvProblem, x: FloatArray, w: FloatArray, bias: FloatArray | undefined, y: FloatArray): void {
  const [D, H, W] = p.geo.inSize as [number, number, number];
  const [OD, OH, OW] = p.geo.outSize as [number, number, number];
  const [KD, KH, KW] = p.geo.kernel as [number, number, number];
  const [sd, sh, sw] = p.geo.strides as [number, number, number];
  const [dd, dh, dw] = p.geo.dilations as [number, number, number];
  const [pd, ph, pw] = p.geo.padsBegin as [number, number, number];
  const Cg = p.inChannels / p.group;
  const Mg = p.outChannels / p.group;
  const outPlane = OD * OH * OW;
  for (let n = 0; n < p.batch; n++) {
    for (let m = 0; m < p.outChannels; m++) {
      const base = (n * p.outChannels + m) * outPlane;
      y.fill(bias === undefined ? 0 : bias[m]!, base, base + outPlane);
    }
    for (let ic = 0; ic < p.inChannels; ic++) {
      const g = Math.floor(ic / Cg);
      const xc = (n * p.inChannels + ic) * D * H * W;
      for (let id = 0; id < D; id++) {
        for (let ih = 0; ih < H; ih++) {
          for (let iw = 0; iw < W; iw++) {
            const v = x[xc + (id * H + ih) * W + iw]!;
            for (let m = 0; m < Mg; m++) {
              const yc = (n * p.outChannels + g * Mg + m) * outPlane;
              const wc = (ic * Mg + m) * KD * KH * KW;
              for (let kd = 0; kd < KD; kd++) {
                const od = id * sd - pd + kd * dd;
                if (od < 0 || od >= OD) continue;
                for (let kh = 0; kh < KH; kh++) {
                  const oh = ih * sh - ph + kh * dh;
                  if (oh < 0 || oh >= OH) continue;
                  for (let kw = 0; kw < KW; kw++) {
                    const ow = iw * sw - pw + kw * dw;
                    if (ow < 0 || ow >= OW) continue;
                    y[yc + (od * OH + oh) * OW + ow]! += v * w[wc + (kd * KH + kh) * KW + kw]!;
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

/** One ConvTranspose node as its variants see it (p.geo.inSize is X's spatial size, outSize Y's, lifted to 3-D). */
export interface ConvTransposeCase {
  readonly p: ConvProblem;
  readonly kind: 'f32' | 'f64';
  readonly outputs: TensorType[];
  readonly act: Activation;
  readonly wConst?: Float32Array;
}

function prepareReference(c: ConvTransposeCase): PreparedKernel {
  const { p, act } = c;
  return {
    outputs: c.outputs,
    detail: withActivation(`js scatter (reference loop), ${shapeTag(p)}`, act),
    run(inputs, outs) {
      const y = outs[0] as FloatArray;
      convTransposeReference(p, inputs[0] as FloatArray, inputs[1] as FloatArray, inputs[2] as FloatArray | undefined, y);
      activateInPlace(act, y, 0, y.length);
    },
  };
}

function prepareCol2imJs(c: ConvTransposeCase): PreparedKernel {
  const { p, act } = c;
  const plan = planCol2im(p);
  return {
    outputs: c.outputs,
    detail: withActivation(`js sgemm + col2im, ${shapeTag(p)}`, act),
    scratch: [{ dtype: 'float32', length: plan.scratchLength }],
    run(inputs, outs, scratch) {
      const y = outs[0] as Float32Array;
      convTransposeCol2im(p, plan, inputs[0] as Float32Array, inputs[1] as Float32Array, inputs[2] as Float32Array | undefined, y, scratch[0] as Float32Array);
      activateInPlace(act, y, 0, y.length);
    },
  };
}

/** Wᵀ packed at prepare for the wasm GEMM, the scatter by the wasm col2im; JS (counted) for views outside wasm memory. */
function prepareCol2imWasm(c: ConvTransposeCase, ctx: PrepareContext): PreparedKernel {
  const { p, act } = c;
  const k = col2imWasmFor(ctx.options.wasm! as WasmContext, p, c.wConst!);
  if (k === undefined) {
    // The engine refused the module (a browser's main thread before the async load): JS, named as such.
    return col2imApplies(p) ? { ...prepareCol2imJs(c), variant: `f32_convtranspose_col2im_${shapeTag(p)}__js` } : { ...prepareReference(c), variant: 'f32_convtranspose__ref' };
  }
  const plan = planCol2imWasm(p);
  // The JS fallback for views outside wasm memory: 2-D col2im in the same scratch (its tiles fit), else the loop.
  const jsPlan = col2imApplies(p) ? planCol2im(p, 4 * plan.scratchLength) : undefined;
  prepareActivationOnWasm(act, ctx.options.wasm);
  const fallbacks = jsFallbacks();
  return {
    outputs: c.outputs,
    detail: withActivation(`wasm gemm ${k.weights.packs[0]?.kernels.name ?? ''} + col2im, weights packed at prepare, ${shapeTag(p)}`, act),
    scratch: [{ dtype: 'float32', length: plan.scratchLength }],
    jsFallbacks: fallbacks,
    run(inputs, outs, scratch) {
      const x = inputs[0] as Float32Array;
      const b = inputs[2] as Float32Array | undefined;
      const y = outs[0] as Float32Array;
      if (ranOnWasm(fallbacks, convTransposeCol2imWasm(p, plan, k, x, b, y, scratch[0] as Float32Array, act))) return;
      if (jsPlan !== undefined) convTransposeCol2im(p, jsPlan, x, inputs[1] as Float32Array, b, y, scratch[0] as Float32Array);
      else convTransposeReference(p, x, inputs[1] as Float32Array, b, y);
      activateInPlace(act, y, 0, y.length);
    },
  };
}

const f32 = (c: ConvTransposeCase): boolean => c.kind === 'f32';

/**
 * The ConvTranspose variants, reference first (the last applicable wins; `variants: { ConvTranspose: … }`
 * forces one): the scatter loop (any rank, float64), JS sgemm + col2im (2-D/1-D float32 without wasm, or with
 * weights known only at run), and the wasm packed GEMM + col2im.
 */
export const CONV_TRANSPOSE_VARIANTS: readonly (VariantDef<ConvTransposeCase> & { auto?: (c: ConvTransposeCase, caps: Capabilities) => boolean })[] = [
  { name: (c) => `${c.kind}_convtranspose__ref`, applies: () => true, placement: 'any', prepare: prepareReference },
  {
    name: (c) => `f32_convtranspose_col2im_${shapeTag(c.p)}__wasmsimd`,
    applies: (c, caps) => f32(c) && caps.wasm !== undefined && c.wConst !== undefined,
    placement: 'wasm',
    prepare: prepareCol2imWasm,
  },
  {
    // Forcible on wasm too (A/B); picked unforced there only when W is known only at run.
    name: (c) => `f32_convtranspose_col2im_${shapeTag(c.p)}__js`,
    applies: (c) => f32(c) && col2imApplies(c.p),
    auto: (c, caps) => caps.wasm === undefined || c.wConst === undefined,
    placement: 'any',
    prepare: prepareCol2imJs,
  },
];

// ConvTranspose: X [N, C, D1..Dn], W [C, M/group, k1..kn], B [M]? -> Y [N, M, O1..On]   (n = 1..3)
function prepareConvTranspose(ctx: PrepareContext): PreparedKernel {
  const { x, w, b, kind, rank } = convOperands(ctx, 'ConvTranspose');
  const group = attrInt(ctx.node, 'group', 1);
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  if (group < 1 || C % group !== 0 || w.shape[0] !== C) throw kernelError(ctx, `group ${group} does not fit X channels ${C}, W [${w.shape}]`);
  const M = w.shape[1]! * group;
  if (b !== undefined && (b.shape.length !== 1 || b.shape[0] !== M)) throw kernelError(ctx, `B must be [${M}], got [${b.shape}]`);
  const wKernel = w.shape.slice(2);
  const geo = transposeGeometry(ctx, x.shape.slice(2), wKernel);
  if (geo.kernel.some((k, i) => k !== wKernel[i])) throw kernelError(ctx, `kernel_shape [${geo.kernel}] does not match W [${w.shape}]`);
  const p: ConvProblem = { batch: N, inChannels: C, outChannels: M, group, geo: liftGeometry(geo, 3) };
  const wConst = ctx.constants[1]?.data;
  const c: ConvTransposeCase = {
    p, kind, outputs: [{ dtype: x.dtype, shape: [N, M, ...geo.outSize] }], act: readFusedActivation(ctx.node),
    wConst: wConst instanceof Float32Array ? wConst : undefined,
  };
  // convAlgorithm: 'reference' is an alias of variants: { ConvTranspose: 'reference' } (as for Conv).
  const forced = ctx.options.variants?.[ctx.node.opType] ?? (ctx.options.convAlgorithm === 'reference' ? 'reference' : undefined);
  if (forced !== undefined) return chooseVariant(CONV_TRANSPOSE_VARIANTS, c, { ...ctx, options: { ...ctx.options, variants: { ...ctx.options.variants, [ctx.node.opType]: forced } } });
  const caps: Capabilities = { wasm: ctx.options.wasm };
  return chooseVariant(CONV_TRANSPOSE_VARIANTS.filter((v) => v.auto?.(c, caps) ?? true), c, ctx);
}

export const convTransposeKernel: KernelDef = { opType: 'ConvTranspose', prepare: prepareConvTranspose };
