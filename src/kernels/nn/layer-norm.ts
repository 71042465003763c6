import { ONNX_DTYPE_CODES, sizeOf, type DType, type TensorType } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat, attrInt } from '../../graph/attributes.js';
import {
  chooseVariant, kernelError, onWasmOrReference, viewsInWasm, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef,
} from '../kernel.js';
import type { WasmContext } from '../../wasm/context.js';
import { LAYERNORM_NAME, MATH_KERNELS, type WasmMathKernels } from '../../wasm/math-kernels.js';
import { optionalFloat, requireFloat } from './float-input.js';
import { getOrCreate } from '../conv/wasm-weights.js';

type Vec = Float32Array | Float64Array;

/**
 * For a parameter of shape `param` broadcast (numpy, right-aligned) to `target`, the parameter's flat index
 * for every flat index of `target`; undefined when they are the same size (identity).
 */
export function broadcastIndexMap(ctx: PrepareContext, target: number[], param: number[]): Int32Array | undefined {
  const p = [...param];
  while (p.length > target.length && p[0] === 1) p.shift();
  if (p.length > target.length) throw kernelError(ctx, `[${param}] does not broadcast to [${target}]`);
  const padded = [...new Array<number>(target.length - p.length).fill(1), ...p];
  padded.forEach((d, i) => {
    if (d !== 1 && d !== target[i]) throw kernelError(ctx, `[${param}] does not broadcast to [${target}]`);
  });
  const total = sizeOf(target);
  if (sizeOf(padded) === total) return undefined;
  const map = new Int32Array(total);
  const idx = new Array<number>(target.length).fill(0);
  for (let t = 0; t < total; t++) {
    let o = 0;
    for (let d = 0; d < target.length; d++) o = o * padded[d]! + (padded[d] === 1 ? 0 : idx[d]!);
    map[t] = o;
    for (let d = target.length - 1; d >= 0; d--) {
      if (++idx[d]! < target[d]!) break;
      idx[d] = 0;
    }
  }
  return map;
}

// LayerNormalization (opset 17): X [A.., B..] (B.. from axis on), Scale, B broadcastable to [B..]
//   -> Y [A.., B..], Mean [A.., 1..]?, InvStdDev [A.., 1..]?
// Y = (X − mean) · InvStdDev · Scale + B with InvStdDev = 1 / sqrt(var + ε) over the normalised dims.
interface LayerNormProblem {
  x: TensorType;
  stash: DType;
  eps: number;
  /** Rows before the axis, and the normalised size per row. */
  outer: number;
  size: number;
  normShape: number[];
  statShape: number[];
  scaleMap: Int32Array | undefined;
  biasMap: Int32Array | undefined;
  /** The node asks for Mean or InvStdDev (the wasm rows kernel writes Y only). */
  wantsStats: boolean;
  /** Scale and B (when given) are known at prepare. */
  constantParams: boolean;
}

function prepareLayerNorm(ctx: PrepareContext): PreparedKernel {
  const x = requireFloat(ctx, 0);
  const scale = requireFloat(ctx, 1);
  const bias = optionalFloat(ctx, 2);
  const rank = x.shape.length;
  const rawAxis = attrInt(ctx.node, 'axis', -1);
  const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
  if (axis < 0 || axis >= rank) throw kernelError(ctx, `axis ${rawAxis} is out of range for rank ${rank}`);
  const stashCode = attrInt(ctx.node, 'stash_type', 1);
  const stash: DType | undefined = ONNX_DTYPE_CODES[stashCode];
  if (stash === undefined || !['float32', 'float64', 'float16', 'bfloat16'].includes(stash)) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: stash_type ${stashCode} is not supported`);
  }
  const normShape = x.shape.slice(axis);
  return chooseVariant(LAYER_NORM_VARIANTS, {
    x,
    stash,
    eps: attrFloat(ctx.node, 'epsilon', 1e-5),
    outer: sizeOf(x.shape.slice(0, axis)),
    size: sizeOf(normShape),
    normShape,
    statShape: [...x.shape.slice(0, axis), ...normShape.map(() => 1)],
    scaleMap: broadcastIndexMap(ctx, normShape, scale.shape),
    biasMap: bias === undefined ? undefined : broadcastIndexMap(ctx, normShape, bias.shape),
    wantsStats: ctx.node.outputs.slice(1).some((o) => o !== ''),
    constantParams: ctx.constants[1] !== undefined && (bias === undefined || ctx.constants[2] !== undefined),
  }, ctx);
}

function layerNormOutputs(p: LayerNormProblem): TensorType[] {
  return [
    { dtype: p.x.dtype, shape: [...p.x.shape] },
    { dtype: p.stash, shape: p.statShape },
    { dtype: p.stash, shape: p.statShape },
  ];
}

/** The reference: two passes per row (mean, then variance about it), any float dtype, Mean and InvStdDev when asked. */
function prepareLayerNormJs(p: LayerNormProblem): PreparedKernel {
  const { outer, size, eps, scaleMap, biasMap } = p;
  return {
    outputs: layerNormOutputs(p),
    detail: `js layer-norm${p.wantsStats ? ' with mean / inv std-dev' : ''}`,
    run(inputs, outs) {
      const xv = inputs[0] as Vec;
      const s = inputs[1] as Vec;
      const b = inputs[2] as Vec | undefined;
      const y = outs[0] as Vec;
      const meanOut = outs[1] as Vec | undefined;
      const invOut = outs[2] as Vec | undefined;
      for (let r = 0; r < outer; r++) {
        const base = r * size;
        let sum = 0;
        for (let i = 0; i < size; i++) sum += xv[base + i]!;
        const mean = sum / size;
        let sq = 0;
        for (let i = 0; i < size; i++) sq += (xv[base + i]! - mean) ** 2;
        const inv = 1 / Math.sqrt(sq / size + eps);
        for (let i = 0; i < size; i++) {
          const sc = s[scaleMap === undefined ? i : scaleMap[i]!]!;
          const bi = b === undefined ? 0 : b[biasMap === undefined ? i : biasMap[i]!]!;
          y[base + i] = (xv[base + i]! - mean) * inv * sc + bi;
        }
        if (meanOut !== undefined && meanOut.length > r) meanOut[r] = mean;
        if (invOut !== undefined && invOut.length > r) invOut[r] = inv;
      }
    },
  };
}

/** The wasm rows kernel, Scale and B expanded and uploaded at prepare. */
function prepareLayerNormWasm(p: LayerNormProblem, ctx: PrepareContext): PreparedKernel {
  const wasm = wasmLayerNorm(ctx, p.normShape, p.scaleMap, p.biasMap)!;
  const { outer, size, eps } = p;
  const [gamma, beta] = [wasm.gamma, wasm.gamma + 4 * size];
  const w = ctx.options.wasm!;
  // X or Y outside wasm memory (a hand-made run): the JS rows, counted.
  return onWasmOrReference(prepareLayerNormJs(p), 'wasm layer-norm rows', (inputs, outs) => {
    const x = inputs[0] as Float32Array;
    const y = outs[0] as Float32Array;
    if (!viewsInWasm(w, x, y)) return false;
    w.invokeRows(wasm.k.layerNorm, [x.byteOffset, y.byteOffset, outer, size, gamma, beta, eps], outer, 4 * size, [0, 1], 2);
    return true;
  });
}

const LAYER_NORM_VARIANTS: readonly VariantDef<LayerNormProblem>[] = [
  { name: (p) => `${p.x.dtype === 'float32' ? 'f32' : p.x.dtype}_layernorm__js`, applies: () => true, placement: 'any', prepare: prepareLayerNormJs },
  {
    name: LAYERNORM_NAME,
    // Y only, float32, Scale and B constant (they are expanded to the row and uploaded once).
    applies: (p, caps) => caps.wasm !== undefined && p.x.dtype === 'float32' && !p.wantsStats && p.constantParams && caps.wasm.use(MATH_KERNELS) !== undefined,
    placement: 'wasm',
    prepare: prepareLayerNormWasm,
  },
];

interface WasmLayerNorm {
  ctx: WasmContext;
  k: WasmMathKernels;
  /** Byte offset of [gamma (size floats), beta (size floats)], both expanded to the normalised size. */
  gamma: number;
}

/**
 * The wasm rows kernel with constant Scale and B expanded to the normalised size and uploaded once per context
 * and (scale, bias, normalised shape) (cached in ctx.uploads, keyed weakly by the constant data); undefined
 * without wasm or when Scale or B is a runtime input.
 */
function wasmLayerNorm(ctx: PrepareContext, normShape: number[], scaleMap: Int32Array | undefined, biasMap: Int32Array | undefined): WasmLayerNorm | undefined {
  const w = ctx.options.wasm;
  const scale = ctx.constants[1];
  const bias = ctx.inputs[2] === undefined ? undefined : ctx.constants[2];
  if (w === undefined || scale === undefined || (ctx.inputs[2] !== undefined && bias === undefined)) return undefined;
  const k = w.use(MATH_KERNELS);
  if (k === undefined) return undefined;
  const size = sizeOf(normShape);
  const byBias = getOrCreate(w.uploads as WeakMap<object, WeakMap<object, Map<string, number>>>, scale.data, () => new WeakMap());
  const byShape = getOrCreate(byBias, bias?.data ?? NO_BIAS, () => new Map<string, number>());
  const key = normShape.join(',');
  let gamma = byShape.get(key);
  if (gamma === undefined) {
    const params = new Float32Array(2 * size);
    for (let i = 0; i < size; i++) {
      params[i] = Number(scale.data[scaleMap === undefined ? i : scaleMap[i]!]);
      if (bias !== undefined) params[size + i] = Number(bias.data[biasMap === undefined ? i : biasMap[i]!]);
    }
    gamma = w.allocFloats(params);
    byShape.set(key, gamma);
  }
  return { ctx: w, k, gamma };
}

/** The cache key standing for "no B". */
const NO_BIAS = {};

export const layerNormKernel: KernelDef = { opType: 'LayerNormalization', prepare: prepareLayerNorm };
