import { isElementArray, sizeOf, storageBytes, type Data, type DType } from '../../dtype.js';
import { attrInts } from '../../graph/attributes.js';
import {
  blockCopyOk, chooseVariant, kernelError, onWasmOrReference, requireInput, viewsInWasm, type Capabilities, type KernelDef, type PrepareContext,
  type PreparedKernel, type VariantDef,
} from '../kernel.js';
import { MATH_KERNELS } from '../../wasm/math-kernels.js';
import { TRANSPOSE_GATHER_MODULE } from './transpose.wasm.js';
import { copyBlock, elems, stridesOf, type Elems } from './common.js';

/**
 * The source offset of the next plane: the odometer `idx` over the outer dims steps, the offset moving by the
 * stride of the dim that stepped and back to the start of those that wrapped.
 */
function nextPlane(idx: Int32Array | number[], dims: readonly number[], strides: readonly number[], offset: number): number {
  for (let k = dims.length - 1; k >= 0; k--) {
    offset += strides[k]!;
    if (++idx[k]! < dims[k]!) return offset;
    offset -= strides[k]! * dims[k]!;
    idx[k] = 0;
  }
  return offset;
}

/** Copies `src` (shape inShape) into `dst` laid out as the permuted shape. */
export type PermuteFn = (src: Data, dst: Data, srcOffset?: number, dstOffset?: number) => void;

const TILE = 32;

/**
 * A permute reduced to planes: out = outer dims (odometer) × rows × cols, out[i·cols + j] of a plane read from
 * in[i·rowStride + j·colStride] (element strides). mergeAxes drops size-1 dims and merges output axes that are
 * adjacent in the input too, so NCHW→NHWC becomes a batched 2-D transpose [N, C, HW]→[N, HW, C] and [0,2,1,3]
 * becomes row copies. `dims` has fewer than two entries when the order is kept (one block copy).
 */
interface PermutePlan {
  total: number;
  dims: number[];
  rows: number;
  cols: number;
  rowStride: number;
  colStride: number;
  outerDims: number[];
  outerStrides: number[];
}

function permutePlan(inShape: readonly number[], perm: readonly number[]): PermutePlan {
  const { dims, strides } = mergeAxes(inShape, perm);
  const r = dims.length;
  return {
    total: sizeOf(inShape),
    dims,
    rows: r >= 2 ? dims[r - 2]! : 1,
    cols: r >= 1 ? dims[r - 1]! : 1,
    rowStride: r >= 2 ? strides[r - 2]! : 0,
    colStride: r >= 1 ? strides[r - 1]! : 1,
    outerDims: dims.slice(0, Math.max(0, r - 2)),
    outerStrides: strides.slice(0, Math.max(0, r - 2)),
  };
}

/**
 * Plans out[i0..ir-1] = in[i_perm⁻¹...] (ONNX Transpose: out.shape[k] = in.shape[perm[k]]) in JS: an odometer over
 * the outer dims with a tiled 2-D inner transpose per plane, or block copies when the innermost axis is contiguous
 * in the input. Any dtype; offsets in elements. The wasm variants are in the Transpose table below.
 */
export function planPermute(inShape: readonly number[], perm: readonly number[]): PermuteFn {
  const p = permutePlan(inShape, perm);
  const { total, rows, cols, rowStride, colStride, outerDims, outerStrides } = p;
  if (total === 0) return () => {};
  if (p.dims.length <= 1) {
    return (src, dst, so = 0, dO = 0) => copyBlock(src, so, dst, dO, total);
  }
  const outer = sizeOf(outerDims);
  const idx = new Int32Array(Math.max(outerDims.length, 1));
  const plane = rows * cols;

  const inner =
    colStride === 1
      ? (s: Data, sOff: number, d: Data, dOff: number) => {
          for (let i = 0; i < rows; i++) copyBlock(s, sOff + i * rowStride, d, dOff + i * cols, cols);
        }
      : (s: Data, sOff: number, d: Data, dOff: number) => {
          if (s instanceof Float32Array) transposeTilesFloat32(s, sOff, rowStride, colStride, d as Float32Array, dOff, rows, cols);
          else transposeTiles(elems(s), sOff, rowStride, colStride, elems(d), dOff, rows, cols);
        };

  return (src, dst, srcOffset = 0, dstOffset = 0) => {
    idx.fill(0);
    let sOff = srcOffset;
    let dOff = dstOffset;
    for (let o = 0; o < outer; o++) {
      inner(src, sOff, dst, dOff);
      dOff += plane;
      sOff = nextPlane(idx, outerDims, outerStrides, sOff);
    }
  };
}

/** Output axes without size-1 dims, adjacent ones that are adjacent in the input merged; input strides per axis. */
function mergeAxes(inShape: readonly number[], perm: readonly number[]): { dims: number[]; strides: number[] } {
  const inStrides = stridesOf(inShape);
  const dims: number[] = [];
  const strides: number[] = [];
  let lastAxis = -2;
  for (const a of perm) {
    const d = inShape[a]!;
    if (d === 1) continue;
    if (a === lastAxis + 1 && dims.length > 0) {
      // Output axis continues the previous one in the input: merge them.
      dims[dims.length - 1]! *= d;
      strides[strides.length - 1] = inStrides[a]!;
    } else {
      dims.push(d);
      strides.push(inStrides[a]!);
    }
    lastAxis = a;
  }
  return { dims, strides };
}

/** dst[dOff + i·cols + j] = src[sOff + i·rowStride + j·colStride], in tiles that keep both the strided reads and the contiguous writes in cache. */
function transposeTiles(src: Elems, sOff: number, rowStride: number, colStride: number, dst: Elems, dOff: number, rows: number, cols: number): void {
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(i0 + TILE, rows);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(j0 + TILE, cols);
      for (let i = i0; i < i1; i++) {
        const so = sOff + i * rowStride;
        const o = dOff + i * cols;
        for (let j = j0; j < j1; j++) dst[o + j] = src[so + j * colStride];
      }
    }
  }
}

/** transposeTiles for float32, the common case, kept separate so its element accesses stay monomorphic. */
function transposeTilesFloat32(src: Float32Array, sOff: number, rowStride: number, colStride: number, dst: Float32Array, dOff: number, rows: number, cols: number): void {
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(i0 + TILE, rows);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(j0 + TILE, cols);
      for (let i = i0; i < i1; i++) {
        const so = sOff + i * rowStride;
        const o = dOff + i * cols;
        for (let j = j0; j < j1; j++) dst[o + j] = src[so + j * colStride]!;
      }
    }
  }
}

// Transpose: [d0..dr-1] -> [d(perm[0])..d(perm[r-1])], perm defaults to reversed axes
const Transpose: KernelDef = {
  opType: 'Transpose',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const r = x.shape.length;
    const perm = attrInts(ctx.node, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    const seen = new Set(perm);
    if (perm.length !== r || seen.size !== r || perm.some((p) => p < 0 || p >= r || !Number.isInteger(p))) {
      throw kernelError(ctx, `perm ${JSON.stringify(perm)} is not a permutation of ${r} axes`);
    }
    return chooseVariant(TRANSPOSE_VARIANTS, { dtype: x.dtype, inShape: x.shape, perm, plan: permutePlan(x.shape, perm) }, ctx);
  },
};

interface TransposeProblem {
  dtype: DType;
  inShape: readonly number[];
  perm: readonly number[];
  plan: PermutePlan;
}

/** How the planes are moved: the innermost axis stays innermost (rows), the plane's rows are contiguous (4x4), neither (gather). */
type PlanePattern = 'rows' | '4x4' | 'gather';

function planePattern(p: PermutePlan): PlanePattern {
  return p.colStride === 1 ? 'rows' : p.rowStride === 1 ? '4x4' : 'gather';
}

function planeShape(p: PermutePlan): string {
  return `${sizeOf(p.outerDims)} x ${p.rows}x${p.cols}`;
}

/** Any 4-byte element (the wasm kernels copy bits), at least two merged axes (else it is one block copy). */
function wasmApplies(p: TransposeProblem, caps: Capabilities, pattern: PlanePattern): boolean {
  if (caps.wasm === undefined || storageBytes(p.dtype) !== 4 || isElementArray(p.dtype) || p.plan.total === 0) return false;
  if (p.plan.dims.length < 2 || planePattern(p.plan) !== pattern) return false;
  return pattern === 'gather' ? caps.wasm.use(TRANSPOSE_GATHER_MODULE) !== undefined : caps.wasm.use(MATH_KERNELS) !== undefined;
}

/** The reference: row copies, tiled transposes or one block copy in JS (any dtype). */
function prepareTransposeJs(p: TransposeProblem): PreparedKernel {
  const permute = planPermute(p.inShape, p.perm);
  const { dims, cols, colStride } = p.plan;
  // One block copy (the order is kept), or JS row copies of 16+ elements: memcpy speed.
  const blocks = dims.length <= 1 ? p.plan.total : colStride === 1 ? cols : 0;
  const how = dims.length <= 1 ? 'block copy (order kept)' : colStride === 1 ? 'row copies' : 'tiled transposes';
  return {
    outputs: [{ dtype: p.dtype, shape: p.perm.map((a) => p.inShape[a]!) }],
    detail: dims.length <= 1 ? `js ${how}` : `js ${how}, ${planeShape(p.plan)}`,
    jsOk: blockCopyOk(blocks),
    run(inputs, outputs) {
      permute(inputs[0]!, outputs[0]!);
    },
  };
}

/**
 * The wasm variant: the outer dims walked by an odometer over byte offsets, one kernel call per plane (the gather
 * kernel takes the innermost outer dim itself, so a batch of planes is one call).
 */
function prepareTransposeWasm(pattern: PlanePattern) {
  return (p: TransposeProblem, ctx: PrepareContext): PreparedKernel => {
    const { rows, cols, rowStride, colStride } = p.plan;
    let outerDims = p.plan.outerDims;
    let outerStrides = p.plan.outerStrides;
    let call: (src: number, dst: number) => void;
    let planeBytes = 4 * rows * cols;
    if (pattern === 'gather') {
      const gather = ctx.options.wasm!.use(TRANSPOSE_GATHER_MODULE)!;
      const d0 = outerDims[outerDims.length - 1] ?? 1;
      const s0 = outerStrides[outerStrides.length - 1] ?? 0;
      outerDims = outerDims.slice(0, -1);
      outerStrides = outerStrides.slice(0, -1);
      planeBytes *= d0;
      call = (src, dst) => gather(src, dst, d0, rows, cols, s0, rowStride, colStride);
    } else {
      const k = ctx.options.wasm!.use(MATH_KERNELS)!;
      call = pattern === 'rows' ? (src, dst) => k.copyRows(src, rowStride, dst, rows, cols) : (src, dst) => k.transposePlane(src, colStride, dst, rows, cols);
    }
    const outer = sizeOf(outerDims);
    const idx = new Int32Array(Math.max(outerDims.length, 1));
    const byteStrides = outerStrides.map((s) => 4 * s);
    const kernelName = pattern === 'rows' ? 'row copies' : pattern === '4x4' ? '4x4 plane transposes' : 'strided gathers';
    const wasm = ctx.options.wasm!;
    // X or Y outside wasm memory (a hand-made run): the JS permute, counted (a wasm variant claims no jsOk).
    const reference = { ...prepareTransposeJs(p), jsOk: undefined };
    return onWasmOrReference(reference, `wasm ${kernelName}, ${planeShape(p.plan)}`, (inputs, outputs) => {
      const x = inputs[0] as Float32Array;
      const y = outputs[0] as Float32Array;
      if (!viewsInWasm(wasm, x, y)) return false;
      let src = x.byteOffset;
      let dst = y.byteOffset;
      idx.fill(0);
      for (let o = 0; o < outer; o++) {
        call(src, dst);
        dst += planeBytes;
        src = nextPlane(idx, outerDims, byteStrides, src);
      }
      return true;
    });
  };
}

const TRANSPOSE_VARIANTS: readonly VariantDef<TransposeProblem>[] = [
  {
    name: (p) => `${p.dtype === 'float32' ? 'f32' : p.dtype}_transpose__js`,
    applies: () => true,
    placement: 'any',
    prepare: prepareTransposeJs,
  },
  ...(['rows', '4x4', 'gather'] as const).map(
    (pattern): VariantDef<TransposeProblem> => ({
      name: `x32_transpose_${pattern}__wasmsimd`,
      applies: (p, caps) => wasmApplies(p, caps, pattern),
      placement: 'wasm',
      prepare: prepareTransposeWasm(pattern),
    }),
  ),
];

export const transposeKernels: KernelDef[] = [Transpose];
