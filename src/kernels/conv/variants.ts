import { chooseVariant, isJsVariant, jsFallbacks, ranOnWasm, withActivation, type Capabilities, type KernelDef, type PrepareContext, type PreparedKernel, type TensorType, type VariantDef } from '../kernel.js';
import type { Activation } from '../gemm/activation.js';
import type { WasmContext } from '../../wasm/context.js';
import { autoWinogradVariant, convProblemOf, geometryTag } from './conv.js';
import { convDepthwise, convDepthwiseWasm, convDepthwiseWasmLayer, depthwiseApplies, depthwisePaddedApplies, depthwiseWasmApplies, depthwiseWasmLayerScratchLength, depthwiseWasmScratchLength, planDepthwise } from './depthwise.js';
import { DEPTHWISE_LAYER_WASM } from '../../wasm/depthwise.js';
import { IM2COL_SHORT_K_SCRATCH_BYTES, convIm2col, convIm2colPacked, im2colPackedScratchLength, packConvWeights, planIm2col, uploadConvWeights } from './im2col.js';
import { WINOGRAD_TILE, convWinograd, planWinograd, uploadWinogradFilters, winogradApplies, winogradScratchLength, type WinogradVariant } from './winograd.js';
import { activateInPlace, prepareActivationOnWasm, readFusedActivation } from './fused-activation.js';
import { WasmMemoryView, uploadVector } from './wasm-weights.js';
import { IM2COL_WASM, im2colWasmApplies } from './im2col-wasm.js';
import { convReference, type ConvProblem, type FloatArray } from './reference.js';
import { convDwconvGenericWasm, dwconvGenericApplies, planDwconvGeneric, uploadDwconvGeneric } from './dwconv-generic.js';
import { DWCONV_GENERIC_WASM } from './dwconv-generic.wasm.js';

/** One Conv node as the variants see it: sizes (geometry lifted to 3-D), dtype, fused activation, constants. */
export interface ConvCase {
  readonly p: ConvProblem;
  readonly kind: 'f32' | 'f64';
  readonly outputs: TensorType[];
  readonly act: Activation;
  /** W and B when known at prepare (initializers): the variants that pack weights need W. */
  readonly wConst?: Float32Array;
  readonly bConst?: Float32Array;
}

/**
 * A Conv variant; `auto` (default: always) says whether prepare may pick it unforced: a variant that applies but
 * does not pay off here (Winograd on few channels, grouped-direct on many channels per group) can still be forced.
 */
export interface ConvVariant extends VariantDef<ConvCase> {
  readonly auto?: (c: ConvCase, caps: Capabilities) => boolean;
}

/**
 * The shape part of a variant name: kernel and stride (`3x3s2x1` when the strides differ, `3x3s2` when equal),
 * `d2` when dilated; 1-D convs as `1x5s1`, 3-D as `3x3x3s1`.
 */
export function shapeTag(p: ConvProblem): string {
  const g = p.geo;
  const twoD = g.inSize[0] === 1 && g.kernel[0] === 1;
  const dims = twoD ? [1, 2] : [0, 1, 2];
  const k = dims.map((i) => g.kernel[i]).join('x');
  // 1-D (a row: H = 1, KH = 1): the stride and dilation of W alone.
  const oneD = twoD && g.inSize[1] === 1 && g.kernel[1] === 1 && g.strides[1] === 1;
  const s = (oneD ? [2] : dims).map((i) => g.strides[i]!);
  const d = (oneD ? [2] : dims).map((i) => g.dilations[i]!);
  const stride = s.every((v) => v === s[0]) ? `${s[0]}` : s.join('x');
  const dil = d.every((v) => v === 1) ? '' : d.every((v) => v === d[0]) ? `d${d[0]}` : `d${d.join('x')}`;
  return `${k}s${stride}${dil}`;
}

const dt = (c: ConvCase): string => (c.kind === 'f32' ? 'f32' : 'f64');
/** Bytes of X and Y (float32), live with the scratch while the node runs. */
const ioBytes = (c: ConvCase): number => {
  const g = c.p.geo;
  return 4 * c.p.batch * (c.p.inChannels * g.inSize[0]! * g.inSize[1]! * g.inSize[2]! + c.p.outChannels * g.outSize[0]! * g.outSize[1]! * g.outSize[2]!);
};
/** Bytes of the copy of W (and a constant B) a variant keeps: packed GEMM panels, or the weights uploaded to wasm. */
const keptWeights = (c: ConvCase): number => 4 * ((c.wConst?.length ?? 0) + (c.bConst?.length ?? 0));
/** Winograd F(m,3) keeps n² transformed filter matrices [C, M] (n = m + 2): n²/9 times the 3×3 weights (4× for F(4,3)). */
const winogradFilterBytes = (v: WinogradVariant) => (c: ConvCase): number =>
  4 * ((WINOGRAD_TILE[v] + 2) ** 2 * c.p.inChannels * c.p.outChannels + (c.bConst?.length ?? 0));
const f32 = (c: ConvCase): boolean => c.kind === 'f32';
const packed = (c: ConvCase): boolean => f32(c) && c.wConst !== undefined;
const onWasm = (caps: Capabilities): boolean => caps.wasm !== undefined;
const pointwise = (c: ConvCase): boolean => planIm2col(c.p).pointwise;
const twoD = (p: ConvProblem): boolean => p.geo.inSize[0] === 1 && p.geo.kernel[0] === 1;
/**
 * Grouped convs the direct kernel beats im2col + GEMM on: few input and output channels per group, where each
 * group's GEMM has few rows and a short K (3×3, 64 channels, 48×80: 2 in/2 out per group 5.0 vs 7.3 ms, 4/4
 * 3.9 vs 8.6, 8/8 13 vs 21; but 2 in/16 out per group 8.7 vs 3.8 ms: the GEMM's 4×8 tiles fill again).
 */
const fewPerGroup = (p: ConvProblem): boolean => p.inChannels / p.group <= 8 && p.outChannels / p.group <= 8;

/**
 * X, Y and the scratch are views of wasm memory (a plan's arena, eager staging): the condition of the packed wasm
 * variants to run there; a call whose views lie elsewhere takes their JS path, counted in jsFallbacks.
 */
function viewsOnWasm(wasm: WasmContext, x: Float32Array, y: Float32Array, scratch: Float32Array): boolean {
  const buffer = wasm.memory.buffer;
  return x.buffer === buffer && y.buffer === buffer && scratch.buffer === buffer;
}

// --- reference and JS variants -------------------------------------------------------------------------------

function prepareReference(c: ConvCase): PreparedKernel {
  const { p, act } = c;
  return {
    outputs: c.outputs,
    detail: withActivation(`js direct (reference loop), ${geometryTag(p)}`, act),
    run(inputs, outs) {
      const y = outs[0] as FloatArray;
      convReference(p, inputs[0] as FloatArray, inputs[1] as FloatArray, inputs[2] as FloatArray | undefined, y);
      activateInPlace(act, y, 0, y.length);
    },
  };
}

/** im2col + sgemm with weights only known at run (W an activation: rare, e.g. dynamic filters). */
function prepareIm2colSgemm(c: ConvCase): PreparedKernel {
  const { p, act } = c;
  const plan = planIm2col(p);
  return {
    outputs: c.outputs,
    detail: withActivation(`js im2col + sgemm (weights known only at run), ${geometryTag(p)}`, act),
    scratch: plan.scratchLength > 0 ? [{ dtype: 'float32', length: plan.scratchLength }] : [],
    run(inputs, outs, scratch) {
      convIm2col(p, plan, inputs[0] as Float32Array, inputs[1] as Float32Array, inputs[2] as Float32Array | undefined, outs[0] as Float32Array, scratch[0] as Float32Array | undefined, act);
    },
  };
}

/**
 * im2col (or none for 1×1) + GEMM with W packed at prepare; on wasm the packs are uploaded and the GEMM (and 2-D copy)
 * run there. Under a memory budget whose scratch does not stretch to the usual column tile (whole images for long-K
 * layers), the columns stream through the short-K tile instead.
 */
function prepareIm2colPacked(c: ConvCase, ctx: PrepareContext): PreparedKernel {
  const { p, act } = c;
  const wConst = c.wConst!;
  const budget = ctx.options.memoryBudget;
  let plan = planIm2col(p);
  if (budget !== undefined && !budget.fitsStep(ioBytes(c) + 4 * plan.scratchLength)) plan = planIm2col(p, Math.min(IM2COL_SHORT_K_SCRATCH_BYTES, 4 * plan.scratchLength));
  // On wasm the packs are made in the wasm GEMM's tile for the upload only (the JS ones if a JS run needs them).
  const pack = packConvWeights(p, wConst, c.bConst, ctx.options.wasm === undefined);
  const wasm = ctx.options.wasm === undefined ? undefined : uploadConvWeights(ctx.options.wasm, p, pack, wConst, c.bConst);
  const wasmIm2col = !plan.pointwise && im2colWasmApplies(p) ? ctx.options.wasm?.use(IM2COL_WASM) : undefined;
  prepareActivationOnWasm(act, ctx.options.wasm);
  const how = plan.pointwise ? '1x1 gemm' : `im2col${wasmIm2col ? ' (wasm copy)' : ''} + gemm`;
  const fallbacks = jsFallbacks();
  return {
    outputs: c.outputs,
    detail: withActivation(`${wasm ? `wasm ${how} ${wasm.packs[0]?.kernels.name ?? ''}` : `js ${how}`}, weights packed at prepare, ${geometryTag(p)}`, act),
    scratch: [{ dtype: 'float32', length: im2colPackedScratchLength(p, plan, pack, ctx.options.wasm?.threads ?? 1) }],
    // W is read only in its packs; a constant B is packed too.
    unreadInputs: pack.biasPacked ? [1, 2] : [1],
    jsFallbacks: wasm !== undefined ? fallbacks : undefined,
    run(inputs, outs, scratch) {
      const x = inputs[0] as Float32Array;
      const y = outs[0] as Float32Array;
      const s = scratch[0] as Float32Array;
      // Views outside wasm memory (a hand-made run): the JS copies and GEMMs on the JS packs, counted.
      const onWasm = wasm !== undefined && ranOnWasm(fallbacks, viewsOnWasm(wasm.ctx, x, y, s));
      convIm2colPacked(p, plan, pack, x, inputs[2] as Float32Array | undefined, y, s, act, onWasm ? wasm : undefined, onWasm ? wasmIm2col : undefined);
    },
  };
}

function prepareWinograd(variant: WinogradVariant) {
  return (c: ConvCase, ctx: PrepareContext): PreparedKernel => {
    const { p, act } = c;
    const wConst = c.wConst!;
    const plan = planWinograd(p, variant, wConst);
    const wasm = ctx.options.wasm === undefined ? undefined : uploadWinogradFilters(ctx.options.wasm, plan, wConst, c.bConst);
    const name = `F(${plan.m},3)`;
    prepareActivationOnWasm(act, ctx.options.wasm);
    // On wasm the input padded to whole tiles (and the output in whole tiles) sit in the scratch, whole; a memory
    // budget that does not stretch to them keeps the tile-by-tile scratch (border tiles gathered per block).
    const budget = ctx.options.memoryBudget;
    // With threads, one copy per thread: tile blocks run on the threads' own V and M (convWinograd).
    let scratch = winogradScratchLength(p, plan, wasm !== undefined) * (ctx.options.wasm?.threads ?? 1);
    if (budget !== undefined && !budget.fitsStep(ioBytes(c) + 4 * scratch)) scratch = winogradScratchLength(p, plan, false);
    const fallbacks = jsFallbacks();
    return {
      outputs: c.outputs,
      detail: withActivation(`${wasm ? `wasm winograd ${name}, gemm ${wasm.weights.packs[0]?.kernels.name ?? ''}` : `js winograd ${name}`} ${geometryTag(p)}`, act),
      scratch: [{ dtype: 'float32', length: scratch }],
      // W is read only as its transformed filters.
      unreadInputs: [1],
      jsFallbacks: wasm !== undefined ? fallbacks : undefined,
      run(inputs, outs, scratch) {
        const x = inputs[0] as Float32Array;
        const y = outs[0] as Float32Array;
        const s = scratch[0] as Float32Array;
        // Views outside wasm memory (a hand-made run): transforms and products in JS (filters remade), counted.
        // Border tiles and leftover channels in JS on wasm are the kernel's own split, not a fallback.
        const onWasm = wasm !== undefined && ranOnWasm(fallbacks, viewsOnWasm(wasm.weights.ctx, x, y, s));
        convWinograd(p, plan, x, inputs[2] as Float32Array | undefined, y, s, act, onWasm ? wasm : undefined);
      },
    };
  };
}

/** The JS depthwise: unrolled 3×3/5×5 interiors, the generic tap loop elsewhere (float32 and float64). */
function prepareDepthwiseJs(c: ConvCase): PreparedKernel {
  const { p, act } = c;
  const plan = planDepthwise(p);
  return {
    outputs: c.outputs,
    detail: withActivation(`js depthwise ${geometryTag(p)}`, act),
    run(inputs, outs) {
      convDepthwise(p, plan, inputs[0] as FloatArray, inputs[1] as FloatArray, inputs[2] as FloatArray | undefined, outs[0] as FloatArray, act);
    },
  };
}

// --- wasm depthwise / grouped variants ------------------------------------------------------------------------

/**
 * The 3×3 stride-1/2 depthwise as one wasm call per batch item (padding, bias and Relu/Clip inside), weights
 * uploaded once; a call whose views are outside wasm memory runs the padded-plane kernel or JS (counted).
 */
function prepareDepthwiseLayer(c: ConvCase, ctx: PrepareContext): PreparedKernel {
  const { p, act } = c;
  const wasm = ctx.options.wasm!;
  const plan = planDepthwise(p);
  const memory = new WasmMemoryView(wasm);
  const layer = wasm.use(DEPTHWISE_LAYER_WASM);
  prepareActivationOnWasm(act, wasm);
  const wWasm = layer !== undefined && c.wConst !== undefined ? uploadVector(wasm, c.wConst) : undefined;
  const bWasm = layer !== undefined && c.bConst !== undefined ? uploadVector(wasm, c.bConst) : undefined;
  const fallbacks = jsFallbacks();
  return {
    outputs: c.outputs,
    detail: withActivation(`${layer !== undefined ? 'wasm depthwise, whole layer per call' : 'wasm depthwise on padded planes'} ${geometryTag(p)}`, act),
    // One padded plane per thread: the layer kernel splits channels over the pool's threads.
    scratch: [{ dtype: 'float32', length: Math.max(depthwiseWasmScratchLength(p), wasm.threads * depthwiseWasmLayerScratchLength(p, plan)) }],
    jsFallbacks: fallbacks,
    run(inputs, outs, scratch) {
      const x = inputs[0] as FloatArray;
      const w = inputs[1] as FloatArray;
      const b = inputs[2] as FloatArray | undefined;
      const y = outs[0] as FloatArray;
      if (layer !== undefined && w instanceof Float32Array && (b === undefined || b instanceof Float32Array)) {
        const wView = wWasm?.view() ?? w;
        const bView = b === undefined ? undefined : bWasm?.view() ?? b;
        if (convDepthwiseWasmLayer(p, plan, x, wView, bView, y, scratch[0] as Float32Array, act, wasm, layer)) return;
      }
      if (ranOnWasm(fallbacks, convDepthwiseWasm(p, plan, x, w, b, y, scratch[0] as Float32Array, act, wasm, memory))) return;
      convDepthwise(p, plan, x, w, b, y, act, wasm);
    },
  };
}

/** 5×5 / 7×7 depthwise at equal strides 1 or 2, and dilated 3×3/5×5/7×7 at stride 1: unrolled interiors over padded planes. */
function prepareDepthwisePadded(c: ConvCase, ctx: PrepareContext): PreparedKernel {
  const { p, act } = c;
  const wasm = ctx.options.wasm!;
  const plan = planDepthwise(p);
  const memory = new WasmMemoryView(wasm);
  prepareActivationOnWasm(act, wasm);
  const fallbacks = jsFallbacks();
  return {
    outputs: c.outputs,
    detail: withActivation(`wasm depthwise on padded planes ${geometryTag(p)}`, act),
    scratch: [{ dtype: 'float32', length: depthwiseWasmScratchLength(p) }],
    jsFallbacks: fallbacks,
    run(inputs, outs, scratch) {
      const x = inputs[0] as FloatArray;
      const w = inputs[1] as FloatArray;
      const b = inputs[2] as FloatArray | undefined;
      const y = outs[0] as FloatArray;
      if (ranOnWasm(fallbacks, convDepthwiseWasm(p, plan, x, w, b, y, scratch[0] as Float32Array, act, wasm, memory))) return;
      convDepthwise(p, plan, x, w, b, y, act, wasm);
    },
  };
}

/**
 * Any grouped conv with few channels per group (depthwise included) at any kernel, stride, dilation and pads:
 * f32_dwconv_minmax_generic, one call per batch item (see dwconv-generic.wasm.ts).
 */
function prepareDwconvGeneric(c: ConvCase, ctx: PrepareContext): PreparedKernel {
  const { p, act } = c;
  const wasm = ctx.options.wasm!;
  const kernel = wasm.use(DWCONV_GENERIC_WASM);
  // The engine refused the module (a browser's main thread before the async load): JS, named as such.
  if (kernel === undefined) return depthwiseApplies(p) ? { ...prepareDepthwiseJs(c), variant: `f32_dwconv_${shapeTag(p)}__js` } : { ...prepareReference(c), variant: 'f32_conv__ref' };
  const plan = planDwconvGeneric(p);
  prepareActivationOnWasm(act, wasm);
  const k = uploadDwconvGeneric(wasm, kernel, plan, c.wConst, c.bConst);
  const fallbacks = jsFallbacks();
  const jsPlan = depthwiseApplies(p) ? planDepthwise(p) : undefined;
  return {
    outputs: c.outputs,
    detail: withActivation(`wasm ${depthwiseApplies(p) ? 'depthwise' : 'grouped direct'} (any kernel/stride/dilation), ${geometryTag(p)}`, act),
    // One set of padded planes per thread: the kernel splits groups over the pool's threads.
    scratch: [{ dtype: 'float32', length: plan.scratchLength * wasm.threads }],
    jsFallbacks: fallbacks,
    run(inputs, outs, scratch) {
      const x = inputs[0] as Float32Array;
      const w = inputs[1] as Float32Array;
      const b = inputs[2] as Float32Array | undefined;
      const y = outs[0] as Float32Array;
      if (ranOnWasm(fallbacks, convDwconvGenericWasm(p, plan, k, x, w, b, y, scratch[0] as Float32Array, act))) return;
      if (jsPlan !== undefined) {
        convDepthwise(p, jsPlan, x, w, b, y, act);
      } else {
        convReference(p, x, w, b, y);
        activateInPlace(act, y, 0, y.length);
      }
    },
  };
}

/**
 * A JS variant's prepare with the wasm context hidden: forced on the wasm backend (A/B runs, `{ Conv: 'js' }`) it
 * runs in JS as its name says.
 */
const inJs = (prepare: (c: ConvCase, ctx: PrepareContext) => PreparedKernel) => (c: ConvCase, ctx: PrepareContext): PreparedKernel =>
  prepare(c, ctx.options.wasm === undefined ? ctx : { ...ctx, options: { ...ctx.options, wasm: undefined } });

/** JS variants with a wasm twin are picked unforced only without wasm. */
const jsAuto = (c: ConvCase, caps: Capabilities): boolean => !onWasm(caps);

const winograd = (v: WinogradVariant, isa: 'js' | 'wasmsimd'): ConvVariant => ({
  name: `f32_conv_winograd_${v}_3x3s1__${isa}`,
  applies: (c, caps) => packed(c) && winogradApplies(c.p) && (isa === 'js' || onWasm(caps)),
  auto: (c, caps) => autoWinogradVariant(c.p) === v && (isa === 'wasmsimd' || jsAuto(c, caps)),
  placement: isa === 'js' ? 'any' : 'wasm',
  prepare: isa === 'js' ? inJs(prepareWinograd(v)) : prepareWinograd(v),
  memory: winogradFilterBytes(v),
});

const layer3x3 = (p: ConvProblem): boolean => depthwiseApplies(p) && depthwiseWasmApplies(planDepthwise(p));

/**
 * The Conv variants, reference first; prepare picks the last applicable one that `auto` allows, or the one
 * forced by `variants: { Conv: … }` (or the `convAlgorithm` alias). JS variants with a wasm twin apply on the wasm
 * backend too (forcing `{ Conv: 'js' }` there runs JS) but are picked unforced only without wasm.
 */
export const CONV_VARIANTS: readonly ConvVariant[] = [
  { name: (c) => `${dt(c)}_conv__ref`, applies: () => true, placement: 'any', prepare: prepareReference },
  { name: (c) => `f32_conv_im2col_sgemm_${shapeTag(c.p)}__js`, applies: (c) => f32(c) && c.wConst === undefined, placement: 'any', prepare: prepareIm2colSgemm },
  // Each wasm variant precedes its JS twin, so a forced name part ('im2col', 'winograd') finds the wasm one first on wasm.
  {
    name: (c) => (pointwise(c) ? 'f32_conv_gemm_1x1__wasmsimd' : `f32_conv_im2col_${shapeTag(c.p)}__wasmsimd`),
    applies: (c, caps) => packed(c) && onWasm(caps), placement: 'wasm', prepare: prepareIm2colPacked, memory: keptWeights,
  },
  {
    name: (c) => (pointwise(c) ? 'f32_conv_gemm_1x1__js' : `f32_conv_im2col_${shapeTag(c.p)}__js`),
    applies: packed, auto: jsAuto, placement: 'any', prepare: inJs(prepareIm2colPacked), memory: keptWeights,
  },
  winograd('f43', 'wasmsimd'), winograd('f23', 'wasmsimd'), winograd('f63', 'wasmsimd'),
  winograd('f43', 'js'), winograd('f23', 'js'), winograd('f63', 'js'),
  { name: (c) => `${dt(c)}_dwconv_${shapeTag(c.p)}__js`, applies: (c) => depthwiseApplies(c.p), auto: (c, caps) => jsAuto(c, caps) || !f32(c), placement: 'any', prepare: prepareDepthwiseJs },
  {
    name: (c) => `f32_${depthwiseApplies(c.p) ? 'dwconv' : 'gconv'}_${shapeTag(c.p)}__wasmsimd`,
    applies: (c, caps) => f32(c) && onWasm(caps) && dwconvGenericApplies(c.p),
    auto: (c) => depthwiseApplies(c.p) || fewPerGroup(c.p),
    placement: 'wasm',
    prepare: prepareDwconvGeneric,
    memory: keptWeights,
  },
  {
    name: (c) => `f32_dwconv_${shapeTag(c.p)}_padded__wasmsimd`,
    applies: (c, caps) => f32(c) && onWasm(caps) && depthwiseApplies(c.p) && !layer3x3(c.p) && depthwisePaddedApplies(c.p, planDepthwise(c.p)),
    // The generic kernel measured as fast or faster on 64 channels (5×5 s2 on 48×320: 1.4 vs 1.9 ms; 7×7 s1 and
    // 5×5 s1 on 40×40: 1.7 vs 2.1, 1.6 vs 1.9; 3×3 d2 even): kept for forcing and A/B, not picked unforced.
    auto: () => false,
    placement: 'wasm',
    prepare: prepareDepthwisePadded,
    memory: keptWeights,
  },
  {
    name: (c) => `f32_dwconv_${shapeTag(c.p)}_layer__wasmsimd`,
    applies: (c, caps) => f32(c) && onWasm(caps) && layer3x3(c.p),
    placement: 'wasm',
    prepare: prepareDepthwiseLayer,
    memory: keptWeights,
  },
];

/** What the old `convAlgorithm` values force, as name parts (the first that has an applicable variant wins). */
const ALIASES: Record<string, readonly string[]> = {
  reference: ['reference'],
  im2col: ['im2col', 'gemm'],
  direct: ['dwconv', 'gconv'],
};

/**
 * The variant name to force: `variants.Conv` as given (chooseVariant errors when it does not apply), else the
 * `convAlgorithm` alias resolved to the fastest applicable variant it names, or nothing when none applies (the
 * alias has always fallen back to the automatic choice).
 */
function forcedName(c: ConvCase, ctx: PrepareContext): string | undefined {
  const forced = ctx.options.variants?.[ctx.node.opType];
  if (forced !== undefined) return forced;
  const alias = ctx.options.convAlgorithm;
  if (alias === undefined || alias === 'auto') return undefined;
  if (alias === 'reference') return 'reference';
  const caps: Capabilities = { wasm: ctx.options.wasm };
  const names = CONV_VARIANTS.filter((v) => v.applies(c, caps)).map((v) => (typeof v.name === 'string' ? v.name : v.name(c)));
  const parts = alias === 'winograd' ? [`winograd_${autoWinogradVariant(c.p) ?? 'f43'}`] : ALIASES[alias] ?? [];
  for (const part of parts) {
    const hit = names.filter((n) => n.includes(part));
    // On wasm, its variants first (the alias never meant "run it in JS").
    const preferred = hit.filter((n) => !isJsVariant(n));
    const pick = caps.wasm !== undefined && preferred.length > 0 ? preferred : hit;
    if (pick.length > 0) return pick[pick.length - 1];
  }
  return undefined;
}

/** Reads a Conv node and prepares its variant (see CONV_VARIANTS). */
export function prepareConv(ctx: PrepareContext): PreparedKernel {
  const { p, kind, outputs } = convProblemOf(ctx);
  const wConst = ctx.constants[1]?.data;
  const bConst = ctx.constants[2]?.data;
  const c: ConvCase = {
    p, kind, outputs, act: readFusedActivation(ctx.node),
    wConst: wConst instanceof Float32Array ? wConst : undefined,
    bConst: bConst instanceof Float32Array ? bConst : undefined,
  };
  const forced = forcedName(c, ctx);
  const caps: Capabilities = { wasm: ctx.options.wasm };
  const table = forced !== undefined ? CONV_VARIANTS : CONV_VARIANTS.filter((v) => v.auto?.(c, caps) ?? true);
  // chooseVariant forces what ctx.options.variants names for the op type: the resolved name, or nothing.
  const given = ctx.options.variants?.[ctx.node.opType];
  if (given === forced) return chooseVariant(table, c, ctx);
  const variants: Record<string, string> = {};
  for (const [op, name] of Object.entries(ctx.options.variants ?? {})) if (op !== ctx.node.opType) variants[op] = name;
  if (forced !== undefined) variants[ctx.node.opType] = forced;
  return chooseVariant(table, c, { ...ctx, options: { ...ctx.options, variants } });
}

export const convKernel: KernelDef = { opType: 'Conv', prepare: prepareConv };
