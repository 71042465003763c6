import { sizeOf, storageBytes, type Data } from '../../dtype.js';
import { attrInts } from '../../graph/attributes.js';
import { blockCopyOk, jsFallbacks, kernelError, requireInput, type JsFallbacks, type KernelDef } from '../kernel.js';
import type { WasmContext } from '../../wasm/context.js';
import { MATH_KERNELS, type WasmMathKernels } from '../../wasm/math-kernels.js';
import { copyBlock, elems, stridesOf, type Elems } from './common.js';

/** Copies `src` (shape inShape) into `dst` laid out as the permuted shape. */
export type PermuteFn = (src: Data, dst: Data, srcOffset?: number, dstOffset?: number) => void;

/** The wasm context and its math kernels (row copies, 4×4 SIMD plane transposes) for 32-bit data in its memory. */
export interface WasmPermute {
  ctx: WasmContext;
  k: WasmMathKernels;
}

const TILE = 32;

/**
 * Plans out[i0..ir-1] = in[i_perm⁻¹...] (ONNX Transpose: out.shape[k] = in.shape[perm[k]]).
 * At plan time: drop size-1 dims and merge output axes that are adjacent in the input too, so
 * NCHW→NHWC becomes a batched 2-D transpose [N, C, HW]→[N, HW, C] and [0,2,1,3] becomes
 * row copies. Run is then an odometer over the outer dims with a tiled 2-D inner transpose
 * (or block copies when the innermost axis is contiguous in the input). With `wasm`, 32-bit data whose views
 * are in its memory goes through its kernels plane by plane: row copies when the innermost axis stays
 * innermost, 4×4 SIMD transposes when the plane's rows are contiguous in the input.
 */
export function planPermute(inShape: readonly number[], perm: readonly number[], wasm?: WasmPermute, fallbacks?: JsFallbacks): PermuteFn {
  const { dims, strides } = mergeAxes(inShape, perm);
  const total = sizeOf(inShape);
  if (total === 0) return () => {};
  if (dims.length <= 1) {
    return (src, dst, so = 0, dO = 0) => copyBlock(src, so, dst, dO, total);
  }
  while (dims.length < 2) {
    dims.unshift(1);
    strides.unshift(0);
  }
  const r = dims.length;
  const rows = dims[r - 2]!;
  const cols = dims[r - 1]!;
  const rowStride = strides[r - 2]!;
  const colStride = strides[r - 1]!;
  const outerDims = dims.slice(0, r - 2);
  const outerStrides = strides.slice(0, r - 2);
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

  const wasmInner = wasm === undefined ? undefined : wasmPlane(wasm.k, rows, cols, rowStride, colStride);
  return (src, dst, srcOffset = 0, dstOffset = 0) => {
    idx.fill(0);
    let sOff = srcOffset;
    let dOff = dstOffset;
    const onWasm = wasmInner !== undefined && inWasm32(wasm!.ctx, src) && inWasm32(wasm!.ctx, dst);
    if (wasmInner !== undefined && !onWasm && fallbacks !== undefined) fallbacks.calls++;
    for (let o = 0; o < outer; o++) {
      if (onWasm) wasmInner((src as Float32Array).byteOffset + 4 * sOff, (dst as Float32Array).byteOffset + 4 * dOff);
      else inner(src, sOff, dst, dOff);
      dOff += plane;
      for (let k = outerDims.length - 1; k >= 0; k--) {
        sOff += outerStrides[k]!;
        if (++idx[k]! < outerDims[k]!) break;
        sOff -= outerStrides[k]! * outerDims[k]!;
        idx[k] = 0;
      }
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

/** How planPermute moves the data (for profiles): one block copy, row copies, or plane transposes; wasm or js. */
function permuteDetail(inShape: readonly number[], perm: readonly number[], wasm32: boolean): string {
  const { dims, strides } = mergeAxes(inShape, perm);
  if (dims.length <= 1) return 'js block copy (order kept)';
  const [rowStride, colStride] = [strides[dims.length - 2]!, strides[dims.length - 1]!];
  const planes = sizeOf(dims.slice(0, -2));
  const shape = `${planes} x ${dims[dims.length - 2]}x${dims[dims.length - 1]}`;
  if (colStride === 1) return `${wasm32 ? 'wasm' : 'js'} row copies, ${shape}`;
  if (rowStride === 1 && wasm32) return `wasm 4x4 plane transposes, ${shape}`;
  return `js tiled transposes, ${shape}`;
}

/** The wasm kernel for one rows×cols plane (byte addresses), or undefined when neither layout applies. */
function wasmPlane(k: WasmMathKernels, rows: number, cols: number, rowStride: number, colStride: number): ((src: number, dst: number) => void) | undefined {
  if (colStride === 1) return (src, dst) => k.copyRows(src, rowStride, dst, rows, cols);
  if (rowStride === 1) return (src, dst) => k.transposePlane(src, colStride, dst, rows, cols);
  return undefined;
}

/** A typed array of 4-byte elements viewing the wasm memory (the kernels copy bits, so any 32-bit dtype). */
function inWasm32(ctx: WasmContext, d: Data): boolean {
  return !Array.isArray(d) && (d as Float32Array).BYTES_PER_ELEMENT === 4 && (d as Float32Array).buffer === ctx.memory.buffer;
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
    const k = ctx.options.wasm?.use(MATH_KERNELS);
    const fallbacks = jsFallbacks();
    // Only 4-byte elements can take the wasm copies, so only they count as falling back.
    const wasm32 = k !== undefined && storageBytes(x.dtype) === 4;
    const permute = planPermute(x.shape, perm, k === undefined ? undefined : { ctx: ctx.options.wasm!, k }, wasm32 ? fallbacks : undefined);
    const { dims, strides } = mergeAxes(x.shape, perm);
    // One block copy (the order is kept), or JS row copies of 16+ elements: memcpy speed.
    const blocks = dims.length <= 1 ? sizeOf(x.shape) : strides[dims.length - 1] === 1 ? dims[dims.length - 1]! : 0;
    return {
      outputs: [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }],
      detail: permuteDetail(x.shape, perm, wasm32),
      jsOk: blockCopyOk(blocks),
      jsFallbacks: fallbacks,
      run(inputs, outputs) {
        permute(inputs[0]!, outputs[0]!);
      },
    };
  },
};

export const transposeKernels: KernelDef[] = [Transpose];
