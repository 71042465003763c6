import { sizeOf, type Data, type DType } from '../../dtype.js';
import {
  blockCopyOk, chooseVariant, kernelError, onWasmOrReference, requireConstant, requireInput, viewsInWasm, type KernelDef, type PreparedKernel,
  type VariantDef,
} from '../kernel.js';
import { BCAST_MODULE, bcastCall, runBcast } from '../elementwise/binary.wasm.js';
import { planBroadcast } from '../elementwise/broadcast.js';
import { copyBlock, elems, intValues, stridesOf } from './common.js';

/**
 * out[p] = in[Σ_k (p_k mod inShape_k) · stride_k] for an input padded to the output rank:
 * broadcasting (Expand, where inShape_k ∈ {1, outShape_k}) and tiling (Tile) are both this map.
 * The innermost run is copied with a block copy when it is contiguous in the input.
 */
export function planRepeatCopy(inShape: readonly number[], outShape: readonly number[]): (src: Data, dst: Data) => void {
  const r = outShape.length;
  const total = sizeOf(outShape);
  if (total === 0) return () => {};
  if (r === 0) return (s, d) => void (elems(d)[0] = elems(s)[0]);
  const inStrides = stridesOf(inShape);
  const n = outShape[r - 1]!;
  const inN = inShape[r - 1]!;
  const outer = total / n;
  const idx = new Int32Array(r);
  return (s, d) => {
    const src = elems(s);
    const dst = elems(d);
    idx.fill(0);
    let base = 0;
    let o = 0;
    for (let row = 0; row < outer; row++) {
      if (inN === 1) {
        const v = src[base];
        for (let j = 0; j < n; j++) dst[o + j] = v;
      } else {
        for (let j = 0; j < n; j += inN) copyBlock(s, base, d, o + j, inN);
      }
      o += n;
      for (let k = r - 2; k >= 0; k--) {
        const id = ++idx[k]!;
        if (id < outShape[k]!) {
          // Wrap within the input dim (size 1 never advances; a tile restarts at the dim's end).
          if (id % inShape[k]! === 0) base -= inStrides[k]! * (inShape[k]! - 1);
          else base += inStrides[k]!;
          break;
        }
        base -= inStrides[k]! * ((outShape[k]! - 1) % inShape[k]!);
        idx[k] = 0;
      }
    }
  };
}

// Expand: x [d...], shape (int64 [k]) -> broadcast(d, shape)
const Expand: KernelDef = {
  opType: 'Expand',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const target = intValues(requireConstant(ctx, 1));
    const r = Math.max(x.shape.length, target.length);
    const inShape = [...new Array<number>(r - x.shape.length).fill(1), ...x.shape];
    const want = [...new Array<number>(r - target.length).fill(1), ...target];
    const outShape = inShape.map((d, k) => {
      const t = want[k]!;
      if (d === t || t === 1) return d;
      if (d === 1) return t;
      throw kernelError(ctx, `cannot broadcast input [${x.shape}] to shape [${target}]`);
    });
    return chooseVariant(EXPAND_VARIANTS, { dtype: x.dtype, inShape, outShape }, ctx);
  },
};

interface ExpandProblem {
  dtype: DType;
  /** x's shape padded with leading 1s to the output's rank. */
  inShape: number[];
  outShape: number[];
}

/** The reference: the input's blocks repeated along the broadcast axes in JS (any dtype). */
function prepareExpandJs(p: ExpandProblem): PreparedKernel {
  const copy = planRepeatCopy(p.inShape, p.outShape);
  return {
    outputs: [{ dtype: p.dtype, shape: p.outShape }],
    jsOk: blockCopyOk(sizeOf(p.inShape.slice(lastBroadcastAxis(p) + 1))),
    run(inputs, outputs) {
      copy(inputs[0]!, outputs[0]!);
    },
  };
}

const EXPAND_VARIANTS: readonly VariantDef<ExpandProblem>[] = [
  {
    name: (p) => `${p.dtype === 'float32' ? 'f32' : p.dtype}_expand__js`,
    applies: () => true,
    placement: 'any',
    prepare: prepareExpandJs,
  },
  {
    // The broadcast kernel with both operands x: max(x, x) is x exactly (NaN and -0 included).
    name: 'f32_expand_bcast__wasmsimd',
    applies: (p, caps) => caps.wasm !== undefined && p.dtype === 'float32' && caps.wasm.use(BCAST_MODULE) !== undefined,
    placement: 'wasm',
    prepare: (p, ctx) => {
      const plan = planBroadcast(p.outShape, [p.inShape, p.inShape]);
      const call = bcastCall(plan.dims, plan.strides[0]!, plan.strides[1]!)!;
      const max = ctx.options.wasm!.use(BCAST_MODULE)!.max;
      const wasm = ctx.options.wasm!;
      // X or Y outside wasm memory (a hand-made run): the JS repeat copy, counted (a wasm variant claims no jsOk).
      return onWasmOrReference({ ...prepareExpandJs(p), jsOk: undefined }, `wasm broadcast copy [${plan.dims.join('x')}]`, (inputs, outputs) => {
        const x = inputs[0] as Float32Array;
        const y = outputs[0] as Float32Array;
        if (!viewsInWasm(wasm, x, y)) return false;
        runBcast(max, call, x.byteOffset, x.byteOffset, y.byteOffset);
        return true;
      });
    },
  },
];

/** The last axis the expand stretches (-1 when none): the elements after it are copied as one block. */
function lastBroadcastAxis(p: ExpandProblem): number {
  for (let k = p.outShape.length - 1; k >= 0; k--) if (p.inShape[k] !== p.outShape[k]) return k;
  return -1;
}

// Tile: x [d...], repeats (int64 [r]) -> [d_k · repeats_k ...]
const Tile: KernelDef = {
  opType: 'Tile',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const repeats = intValues(requireConstant(ctx, 1));
    if (repeats.length !== x.shape.length) {
      throw kernelError(ctx, `repeats has ${repeats.length} entries for input rank ${x.shape.length}`);
    }
    if (repeats.some((v) => v < 0)) throw kernelError(ctx, `repeats ${JSON.stringify(repeats)} must be non-negative`);
    return chooseVariant(TILE_VARIANTS, { dtype: x.dtype, inShape: x.shape, repeats }, ctx);
  },
};

interface TileProblem {
  dtype: DType;
  inShape: readonly number[];
  repeats: readonly number[];
}

/** The reference: the input repeated block by block in JS (any dtype). */
function prepareTileJs(p: TileProblem): PreparedKernel {
  const outShape = p.inShape.map((d, k) => d * p.repeats[k]!);
  const copy = sizeOf(p.inShape) === 0 ? () => {} : planRepeatCopy(p.inShape, outShape);
  return {
    outputs: [{ dtype: p.dtype, shape: outShape }],
    // planRepeatCopy copies the input's last dim as one block (element by element when it is 1).
    jsOk: blockCopyOk(p.inShape.length === 0 ? 0 : p.inShape[p.inShape.length - 1]!),
    run(inputs, outputs) {
      copy(inputs[0]!, outputs[0]!);
    },
  };
}

const TILE_VARIANTS: readonly VariantDef<TileProblem>[] = [
  {
    name: (p) => `${p.dtype === 'float32' ? 'f32' : p.dtype}_tile__js`,
    applies: () => true,
    placement: 'any',
    prepare: prepareTileJs,
  },
  {
    // Tiling is a broadcast: axis k of the output, d_k · r_k long, is [r_k, d_k] with the input stepping over d_k
    // only, so the tile is an Expand of x viewed as [1, d_0, 1, d_1, ...] to [r_0, d_0, r_1, d_1, ...]: the
    // broadcast kernel with both operands x (max(x, x) is x exactly).
    name: 'f32_tile_bcast__wasmsimd',
    applies: (p, caps) => caps.wasm !== undefined && p.dtype === 'float32' && sizeOf(p.inShape) > 0 && caps.wasm.use(BCAST_MODULE) !== undefined,
    placement: 'wasm',
    prepare: (p, ctx) => {
      const inView = p.inShape.flatMap((d) => [1, d]);
      const outView = p.inShape.flatMap((d, k) => [p.repeats[k]!, d]);
      const plan = planBroadcast(outView, [inView, inView]);
      const call = bcastCall(plan.dims, plan.strides[0]!, plan.strides[1]!)!;
      const max = ctx.options.wasm!.use(BCAST_MODULE)!.max;
      const empty = sizeOf(outView) === 0;
      const wasm = ctx.options.wasm!;
      // X or Y outside wasm memory (a hand-made run): the JS repeat copy, counted (a wasm variant claims no jsOk).
      return onWasmOrReference({ ...prepareTileJs(p), jsOk: undefined }, `wasm broadcast copy [${plan.dims.join('x')}]`, (inputs, outputs) => {
        if (empty) return true;
        const x = inputs[0] as Float32Array;
        const y = outputs[0] as Float32Array;
        if (!viewsInWasm(wasm, x, y)) return false;
        runBcast(max, call, x.byteOffset, x.byteOffset, y.byteOffset);
        return true;
      });
    },
  },
];

export const expandTileKernels: KernelDef[] = [Expand, Tile];
