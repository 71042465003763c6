import { sizeOf, type Data, type DType, type TensorData } from '../../dtype.js';
import { attrFloat, attrInts, attrString } from '../../graph/attributes.js';
import {
  chooseVariant, kernelError, onWasmOrReference, requireConstant, requireInput, viewsInWasm, type KernelDef, type PrepareContext, type PreparedKernel,
  type VariantDef,
} from '../kernel.js';
import { PAD_MODULE } from './pad.wasm.js';
import { getOrCreate } from '../conv/wasm-weights.js';
import { elems, intValues, normalizeAxis, stridesOf } from './common.js';

type PadMode = 'constant' | 'reflect' | 'edge' | 'wrap';

/**
 * Source index along one axis for output position o, with `begin` elements padded before
 * (negative begin crops). -1 means "constant value". Reflect mirrors without repeating the edge
 * (numpy 'reflect', period 2(n-1)); wrap is periodic (numpy 'wrap').
 */
function sourceIndex(mode: PadMode, o: number, begin: number, n: number): number {
  const i = o - begin;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case 'constant':
      return -1;
    case 'edge':
      return i < 0 ? 0 : n - 1;
    case 'wrap':
      return ((i % n) + n) % n;
    case 'reflect': {
      if (n === 1) return 0;
      const period = 2 * (n - 1);
      const m = ((i % period) + period) % period;
      return m < n ? m : period - m;
    }
  }
}

/** pads [x1_begin, x2_begin, ..., x1_end, x2_end] for the listed axes (all axes by default). */
function padsOf(ctx: PrepareContext, rank: number): { pads: number[]; mode: PadMode; value: TensorData | number } {
  const mode = attrString(ctx.node, 'mode', 'constant') as PadMode;
  if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) throw kernelError(ctx, `unsupported mode '${mode}'`);
  if (ctx.opset < 11) {
    const pads = attrInts(ctx.node, 'pads') ?? attrInts(ctx.node, 'paddings');
    if (pads === undefined) throw kernelError(ctx, 'attribute pads is required');
    if (pads.length !== 2 * rank) throw kernelError(ctx, `pads has ${pads.length} entries for rank ${rank}`);
    return { pads, mode, value: attrFloat(ctx.node, 'value', 0) };
  }
  const raw = intValues(requireConstant(ctx, 1));
  const value = ctx.inputs[2] !== undefined ? requireConstant(ctx, 2) : 0;
  let axes = Array.from({ length: rank }, (_, i) => i);
  if (ctx.inputs[3] !== undefined) axes = intValues(requireConstant(ctx, 3)).map((a) => normalizeAxis(ctx, a, rank));
  if (raw.length !== 2 * axes.length) throw kernelError(ctx, `pads has ${raw.length} entries for ${axes.length} axes`);
  const pads = new Array<number>(2 * rank).fill(0);
  axes.forEach((a, i) => {
    pads[a] = raw[i]!;
    pads[a + rank] = raw[i + axes.length]!;
  });
  return { pads, mode, value };
}

// Pad: x [d...], pads [2r], constant_value? , axes? -> [d_k + begin_k + end_k ...]
const Pad: KernelDef = {
  opType: 'Pad',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const r = x.shape.length;
    const { pads, mode, value } = padsOf(ctx, r);
    const outShape = x.shape.map((d, k) => d + pads[k]! + pads[k + r]!);
    if (outShape.some((d) => d < 0)) throw kernelError(ctx, `pads ${JSON.stringify(pads)} crop more than input [${x.shape}]`);
    const inSize = sizeOf(x.shape);
    if (mode !== 'constant' && inSize === 0 && sizeOf(outShape) > 0) {
      throw kernelError(ctx, `mode '${mode}' cannot pad an empty input`);
    }
    let fill: unknown;
    if (typeof value === 'number') fill = x.dtype === 'int64' || x.dtype === 'uint64' ? BigInt(value) : x.dtype === 'string' ? '' : value;
    else fill = value.data.length > 0 ? value.data[0] : x.dtype === 'int64' || x.dtype === 'uint64' ? 0n : 0;
    return chooseVariant(PAD_VARIANTS, { dtype: x.dtype, inShape: x.shape, outShape, pads, mode, fill }, ctx);
  },
};

interface PadProblem {
  dtype: DType;
  inShape: readonly number[];
  outShape: number[];
  /** [x1_begin, ..., x1_end, ...] over every axis. */
  pads: readonly number[];
  mode: PadMode;
  fill: unknown;
}

/** The reference: the index-mapped copy in JS (any dtype, every mode). */
function preparePadJs(p: PadProblem): PreparedKernel {
  const pad = planPad(p.inShape, p.outShape, p.pads, p.mode, p.fill);
  return {
    outputs: [{ dtype: p.dtype, shape: p.outShape }],
    run(inputs, outputs) {
      pad(inputs[0]!, outputs[0]!);
    },
  };
}

const PAD_VARIANTS: readonly VariantDef<PadProblem>[] = [
  {
    name: (p) => `${p.dtype === 'float32' ? 'f32' : p.dtype}_pad__js`,
    applies: () => true,
    placement: 'any',
    prepare: preparePadJs,
  },
  {
    name: (p) => `f32_pad_${p.mode}__wasmsimd`,
    applies: (p, caps) =>
      caps.wasm !== undefined && p.dtype === 'float32' && sizeOf(p.inShape) > 0 && sizeOf(p.outShape) > 0 && caps.wasm.use(PAD_MODULE) !== undefined,
    placement: 'wasm',
    prepare: (p, ctx) => {
      const w = ctx.options.wasm!;
      const pad = w.use(PAD_MODULE)!;
      const { maps, dims, lo, hi } = padMaps4(p);
      // Uploaded once per context and problem: eager runs prepare again on every call.
      const cache = getOrCreate(w.uploads as WeakMap<object, Map<string, number>>, PAD_MAPS, () => new Map<string, number>());
      const key = `${p.mode}|${p.inShape.join(',')}|${p.pads.join(',')}`;
      let at = cache.get(key);
      if (at === undefined) {
        at = w.resident(maps);
        cache.set(key, at);
      }
      const fill = Number(p.fill);
      const [d0, d1, d2, d3] = dims;
      // X or Y outside wasm memory (a hand-made run): the JS pad, counted.
      return onWasmOrReference(preparePadJs(p), `wasm pad ${p.mode} [${dims.join('x')}]`, (inputs, outputs) => {
        const x = inputs[0] as Float32Array;
        const y = outputs[0] as Float32Array;
        if (!viewsInWasm(w, x, y)) return false;
        pad(x.byteOffset, y.byteOffset, at, d0, d1, d2, d3, lo, hi, fill);
        return true;
      });
    },
  },
];

/** The key of the map cache in WasmContext.uploads. */
const PAD_MAPS = {};

/**
 * The wasm kernel's four index maps (see pad.wasm.ts): axes beyond the last three are folded into the first map
 * (its entries sum their axes' byte offsets, -1 when any is in a border), fewer axes get leading maps of [0].
 */
function padMaps4(p: PadProblem): { maps: Int32Array; dims: [number, number, number, number]; lo: number; hi: number } {
  const r = p.inShape.length;
  const inStrides = stridesOf(p.inShape);
  const axisMap = (k: number): Int32Array => {
    const m = new Int32Array(p.outShape[k]!);
    for (let o = 0; o < m.length; o++) {
      const i = sourceIndex(p.mode, o, p.pads[k]!, p.inShape[k]!);
      m[o] = i < 0 ? -1 : 4 * i * inStrides[k]!;
    }
    return m;
  };
  /** The map of several consecutive axes as one (their output positions row-major). */
  const groupMap = (axes: number[]): Int32Array => {
    let m = Int32Array.of(0);
    for (const k of axes) {
      const a = axisMap(k);
      const next = new Int32Array(m.length * a.length);
      for (let i = 0; i < m.length; i++) {
        for (let j = 0; j < a.length; j++) next[i * a.length + j] = m[i]! < 0 || a[j]! < 0 ? -1 : m[i]! + a[j]!;
      }
      m = next;
    }
    return m;
  };
  const axes = Array.from({ length: r }, (_, k) => k);
  const groups = [axes.slice(0, Math.max(0, r - 3)), ...[r - 3, r - 2, r - 1].map((k) => (k >= 0 ? [k] : []))];
  const parts = groups.map(groupMap);
  const maps = new Int32Array(parts.reduce((n, m) => n + m.length, 0));
  let at = 0;
  for (const m of parts) {
    maps.set(m, at);
    at += m.length;
  }
  const dims = parts.map((m) => m.length) as [number, number, number, number];
  // The last axis reads the input contiguously on [begin, begin + n) ∩ [0, out).
  let lo = 0;
  let hi = 0;
  if (r > 0) {
    const begin = p.pads[r - 1]!;
    lo = Math.max(0, begin);
    hi = Math.min(p.outShape[r - 1]!, begin + p.inShape[r - 1]!);
    if (hi <= lo) lo = hi = 0;
  }
  return { maps, dims, lo, hi };
}

/**
 * Plans out[p] = in[src_0(p_0), ..., src_r(p_r)] with per-axis index maps from sourceIndex, or
 * `fill` where any axis falls in a constant border. Run walks the output rows with an odometer.
 */
export function planPad(
  inShape: readonly number[],
  outShape: readonly number[],
  pads: readonly number[],
  mode: PadMode,
  fill: unknown,
): (src: Data, dst: Data) => void {
  const r = inShape.length;
  // Per axis: output position -> input index (or -1), scaled by the input stride.
  const inStrides = stridesOf(inShape);
  const maps = outShape.map((n, k) => {
    const m = new Int32Array(n);
    for (let o = 0; o < n; o++) {
      const i = sourceIndex(mode, o, pads[k]!, inShape[k]!);
      m[o] = i < 0 ? -1 : i * inStrides[k]!;
    }
    return m;
  });
  const total = sizeOf(outShape);
  const idx = new Int32Array(r);
  // Running input offset per level; -1 marks "inside the constant border".
  const offs = new Float64Array(r + 1);
  return (s, d) => {
    const src = elems(s);
    const dst = elems(d);
    if (total === 0) return;
    if (r === 0) {
      dst[0] = src[0];
      return;
    }
    const n = outShape[r - 1]!;
    const last = maps[r - 1]!;
    idx.fill(0);
    offs[0] = 0;
    for (let k = 0; k < r - 1; k++) offs[k + 1] = offs[k]! < 0 || maps[k]![0]! < 0 ? -1 : offs[k]! + maps[k]![0]!;
    for (let o = 0; o < total; o += n) {
      const base = offs[r - 1]!;
      if (base < 0) for (let j = 0; j < n; j++) dst[o + j] = fill;
      else
        for (let j = 0; j < n; j++) {
          const m = last[j]!;
          dst[o + j] = m < 0 ? fill : src[base + m];
        }
      // Advance the odometer over the outer axes and recompute offsets below the changed level.
      let k = r - 2;
      for (; k >= 0; k--) {
        if (++idx[k]! < outShape[k]!) break;
        idx[k] = 0;
      }
      if (k < 0) break;
      for (let q = k; q < r - 1; q++) {
        const m = maps[q]![idx[q]!]!;
        offs[q + 1] = offs[q]! < 0 || m < 0 ? -1 : offs[q]! + m;
      }
    }
  };
}

// CenterCropPad: x [d...], shape (int [k]) -> x cropped or zero-padded, centred, to shape on the listed axes
const CenterCropPad: KernelDef = {
  opType: 'CenterCropPad',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const r = x.shape.length;
    const target = intValues(requireConstant(ctx, 1));
    const axes = (attrInts(ctx.node, 'axes') ?? Array.from({ length: r }, (_, i) => i)).map((a) => normalizeAxis(ctx, a, r));
    if (target.length !== axes.length) throw kernelError(ctx, `shape has ${target.length} entries for ${axes.length} axes`);
    const pads = new Array<number>(2 * r).fill(0);
    const outShape = x.shape.slice();
    axes.forEach((a, i) => {
      const want = target[i]!;
      const dim = x.shape[a]!;
      if (want < 0) throw kernelError(ctx, `invalid target size ${want}`);
      // Crop starts at floor((dim - want) / 2); a pad puts floor((want - dim) / 2) before.
      const begin = want < dim ? -Math.floor((dim - want) / 2) : Math.floor((want - dim) / 2);
      pads[a] = begin;
      pads[a + r] = want - dim - begin;
      outShape[a] = want;
    });
    const fill = x.dtype === 'int64' || x.dtype === 'uint64' ? 0n : x.dtype === 'string' ? '' : 0;
    const pad = planPad(x.shape, outShape, pads, 'constant', fill);
    return {
      outputs: [{ dtype: x.dtype, shape: outShape }],
      run(inputs, outputs) {
        pad(inputs[0]!, outputs[0]!);
      },
    };
  },
};

export const padKernels: KernelDef[] = [Pad, CenterCropPad];
