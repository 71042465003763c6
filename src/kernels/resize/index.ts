/**
 * The Resize family (Resize 10–19, Upsample 7/9): one problem reader (problem.ts), one variant table, reference
 * first. Every variant computes onnxruntime's bits (see reference.ts); the wasm ones run over the last two axes
 * of [planes, H, W] float32 with their tables uploaded at prepare:
 *   {dtype}_{op}__ref                       reference.ts: every mode, rank and dtype
 *   f32_{op}_nearest_2d__wasmsimd           nearest over the last two axes (outer axes unscaled)
 *   f32_{op}_linear_2d__wasmsimd            bilinear over [H, W] or [N, C, H, W]
 *   f32_{op}_cubic_2d__wasmsimd             bicubic over [H, W] or [N, C, H, W]
 */
import { sizeOf } from '../../dtype.js';
import type { WasmContext } from '../../wasm/context.js';
import {
  chooseVariant, onWasmOrReference, viewsInWasm, type Capabilities, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef,
} from '../kernel.js';
import { product, requireFloat } from '../reduce/common.js';
import { cubicAxis, linearAxis } from './coordinates.js';
import { readResize, readUpsample, type ResizeProblem } from './problem.js';
import { coordinatesOf, cubicColumns, nearestIndices, plane2d, prepareReference } from './reference.js';
import { SPLIT_MIN_ELEMENTS } from '../../wasm/context.js';
import { ArgCode } from '../../wasm/threads.js';
import { BICUBIC_ROW_BYTES, BILINEAR_ROW_BYTES, RESIZE_MODULE, type WasmResizeKernels } from './resize.wasm.js';

function dtypePrefix(p: ResizeProblem): string {
  const d = p.x.dtype;
  return d === 'float32' ? 'f32' : d === 'float16' ? 'f16' : d === 'float64' ? 'f64' : d;
}

const release: FinalizationRegistry<{ ctx: WasmContext; offset: number }> | undefined =
  typeof FinalizationRegistry === 'function' ? new FinalizationRegistry(({ ctx, offset }) => ctx.free(offset)) : undefined;

/**
 * Copies `bytes` into wasm memory (prepare only: it may grow the memory); the block is given back when `owner`
 * (the prepared kernel) is collected.
 */
function upload(ctx: WasmContext, bytes: Uint8Array, owner: object): number {
  const offset = ctx.alloc(Math.max(bytes.byteLength, 16));
  new Uint8Array(ctx.memory.buffer, offset, bytes.byteLength).set(bytes);
  release?.register(owner, { ctx, offset });
  return offset;
}

/** A little-endian table writer: i32 and f32 fields at byte offsets. */
class Table {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
  }
  i32(at: number, v: number): void { this.view.setInt32(at, v, true); }
  f32(at: number, v: number): void { this.view.setFloat32(at, v, true); }
}

const round4 = (n: number) => Math.ceil(n / 4) * 4;

/**
 * A 2-D resize kernel's call: fn(x, y, planes, inPlaneBytes, outPlaneBytes, …) with its arguments for views x, y
 * and the row buffer s, and the index of s's argument (undefined without one).
 */
interface ResizeCall {
  fn: (...args: number[]) => unknown;
  args: (x: Float32Array, y: Float32Array, s: Float32Array | undefined) => number[];
  scratchArg?: number;
}

/**
 * A wasm variant's prepared kernel: `call` (its tables uploaded by `tables`, owned by the kernel) runs it on views
 * of wasm memory; a call whose views lie elsewhere (never in a wasm plan; possible in hand-made runs) takes the
 * reference, which computes the same bits (see onWasmOrReference).
 */
function wasmKernel(p: ResizeProblem, ctx: WasmContext, detail: string, scratchFloats: number, tables: (owner: object) => ResizeCall): PreparedKernel {
  const onWasm = onWasmOrReference(prepareReference(p), detail, (inputs, outputs, scratch) => {
    const x = inputs[0] as Float32Array;
    const y = outputs[0] as Float32Array;
    const s = scratch[0] as Float32Array | undefined;
    if (!viewsInWasm(ctx, x, y, s)) return false;
    runPlanes(ctx, call, call.args(x, y, s), 4 * scratchFloats, y.length);
    return true;
  });
  const kernel: PreparedKernel = {
    ...onWasm,
    outputs: [{ dtype: 'float32', shape: [...p.outShape] }],
    // One row buffer per thread: the planes split over the pool's threads.
    scratch: scratchFloats > 0 ? [{ dtype: 'float32', length: scratchFloats * ctx.threads }] : undefined,
  };
  // Made after the kernel, which owns the uploaded tables; run reads it only once prepare has returned.
  const call = tables(kernel);
  return kernel;
}

/**
 * The call, or with threads ranges of planes (args[2]) moving x and y by their plane bytes (args[3], args[4]),
 * each thread on its own row buffer.
 */
function runPlanes(ctx: WasmContext, call: ResizeCall, args: number[], scratchBytes: number, outputs: number): void {
  const pool = ctx.pool;
  const planes = args[2]!;
  const chunks = pool === undefined || pool.recording ? 1 : Math.min(planes, pool.threads * 2, Math.floor(outputs / SPLIT_MIN_ELEMENTS));
  if (chunks < 2) {
    call.fn(...args);
    return;
  }
  const codes: ArgCode[] = [];
  if (call.scratchArg !== undefined) codes[call.scratchArg] = ArgCode.StepScratch;
  for (let i = 0; i < codes.length; i++) codes[i] ??= ArgCode.Plain;
  pool!.batch(() => {
    for (let i = 0; i < chunks; i++) {
      const p0 = Math.floor((i * planes) / chunks);
      const p1 = Math.floor(((i + 1) * planes) / chunks);
      const chunk = args.slice();
      chunk[0] = args[0]! + p0 * args[3]!;
      chunk[1] = args[1]! + p0 * args[4]!;
      chunk[2] = p1 - p0;
      pool!.group();
      pool!.call(call.fn, chunk, codes, scratchBytes);
    }
  });
}

function prepareBilinear2d(p: ResizeProblem, ctx: WasmContext, k: WasmResizeKernels): PreparedKernel {
  const g = plane2d(p);
  const ya = linearAxis(coordinatesOf(p, g.hAxis), g.H, p.extrapolate);
  const xa = linearAxis(coordinatesOf(p, g.hAxis + 1), g.W, p.extrapolate);
  const colStride = 4 * round4(g.OW);
  return wasmKernel(p, ctx, 'wasm resize linear 2d', 4 * round4(g.OW) + 4, (owner) => {
    const rows = new Table(BILINEAR_ROW_BYTES * g.OH);
    for (let j = 0; j < g.OH; j++) {
      rows.i32(16 * j, ya.outside[j] ? -1 : ya.i1[j]!);
      rows.i32(16 * j + 4, ya.i2[j]!);
      rows.f32(16 * j + 8, ya.d1[j]!);
      rows.f32(16 * j + 12, ya.d2[j]!);
    }
    const cols = new Table(5 * colStride);
    for (let j = 0; j < g.OW; j++) {
      cols.i32(4 * j, 4 * xa.i1[j]!);
      cols.i32(colStride + 4 * j, 4 * xa.i2[j]!);
      cols.f32(2 * colStride + 4 * j, xa.d1[j]!);
      cols.f32(3 * colStride + 4 * j, xa.d2[j]!);
      cols.i32(4 * colStride + 4 * j, xa.outside[j] ? -1 : 0);
    }
    const rowsAt = upload(ctx, rows.bytes, owner);
    const colsAt = upload(ctx, cols.bytes, owner);
    const fn = p.extrapolate ? k.bilinearExtrapolate : k.bilinear;
    return { fn, args: (x, y, s) => [x.byteOffset, y.byteOffset, g.outer, 4 * g.H * g.W, 4 * g.OH * g.OW, g.W, g.OH, g.OW, rowsAt, colsAt, colStride, s!.byteOffset, p.extrapolation], scratchArg: 11 };
  });
}

function prepareNearest2d(p: ResizeProblem, ctx: WasmContext, k: WasmResizeKernels): PreparedKernel {
  const rank = p.x.shape.length;
  const idx = nearestIndices(p);
  const [rowIdx, colIdx] = [idx[rank - 2]!, idx[rank - 1]!];
  const [H, W] = [p.x.shape[rank - 2]!, p.x.shape[rank - 1]!];
  const [OH, OW] = [p.outShape[rank - 2]!, p.outShape[rank - 1]!];
  const planes = product(p.x.shape, 0, rank - 2);
  const colStride = 4 * round4(OW);
  return wasmKernel(p, ctx, 'wasm resize nearest 2d', 0, (owner) => {
    const rows = new Table(4 * OH);
    for (let j = 0; j < OH; j++) rows.i32(4 * j, rowIdx[j]!);
    const cols = new Table(2 * colStride);
    for (let j = 0; j < OW; j++) {
      cols.i32(4 * j, 4 * Math.max(colIdx[j]!, 0));
      cols.i32(colStride + 4 * j, colIdx[j]! < 0 ? -1 : 0);
    }
    const rowsAt = upload(ctx, rows.bytes, owner);
    const colsAt = upload(ctx, cols.bytes, owner);
    const fn = p.extrapolate ? k.nearestExtrapolate : k.nearest;
    return { fn, args: (x, y) => [x.byteOffset, y.byteOffset, planes, 4 * H * W, 4 * OH * OW, W, OH, OW, rowsAt, colsAt, colStride, p.extrapolation] };
  });
}

function prepareBicubic2d(p: ResizeProblem, ctx: WasmContext, k: WasmResizeKernels): PreparedKernel {
  const g = plane2d(p);
  const ya = cubicAxis(coordinatesOf(p, g.hAxis), g.H, p.cubicA, p.excludeOutside, p.extrapolate);
  const xa = cubicAxis(coordinatesOf(p, g.hAxis + 1), g.W, p.cubicA, p.excludeOutside, p.extrapolate);
  const cc = cubicColumns(xa, g.W);
  const colStride = 4 * round4(g.OW);
  return wasmKernel(p, ctx, 'wasm resize cubic 2d', 4 * round4(g.OW) + 4, (owner) => {
    const rows = new Table(BICUBIC_ROW_BYTES * g.OH);
    for (let j = 0; j < g.OH; j++) {
      const at = BICUBIC_ROW_BYTES * j;
      rows.i32(at, ya.first[j]! - 1);
      rows.i32(at + 4, ya.outside[j]!);
      rows.f32(at + 8, ya.sum[j]!);
      for (let t = 0; t < 4; t++) rows.f32(at + 16 + 4 * t, ya.coeff[4 * j + t]!);
    }
    const cols = new Table(9 * colStride);
    for (let j = 0; j < g.OW; j++) {
      for (let t = 0; t < 4; t++) {
        cols.i32(16 * j + 4 * t, 4 * cc.cols[4 * j + t]!);
        cols.f32(4 * colStride + 16 * j + 4 * t, cc.w[4 * j + t]!);
      }
      cols.i32(8 * colStride + 4 * j, xa.outside[j] ? -1 : 0);
    }
    const rowsAt = upload(ctx, rows.bytes, owner);
    const colsAt = upload(ctx, cols.bytes, owner);
    const fn = p.excludeOutside
      ? p.extrapolate ? k.bicubicExcludeExtrapolate : k.bicubicExclude
      : p.extrapolate ? k.bicubicExtrapolate : k.bicubic;
    return { fn, args: (x, y, s) => [x.byteOffset, y.byteOffset, g.outer, 4 * g.H * g.W, 4 * g.OH * g.OW, g.W, g.H, g.OH, g.OW, rowsAt, colsAt, colStride, s!.byteOffset, p.extrapolation], scratchArg: 12 };
  });
}

const resizeModule = (caps: Capabilities) => caps.wasm?.use(RESIZE_MODULE);

/** float32 nearest whose outer axes (all but the last two) map each index to itself. */
function nearest2dApplies(p: ResizeProblem): boolean {
  const rank = p.x.shape.length;
  if (p.kind !== 'nearest' || p.x.dtype !== 'float32' || rank < 2) return false;
  const idx = nearestIndices(p);
  for (let a = 0; a < rank - 2; a++) if (idx[a]!.some((v, j) => v !== j) || p.outShape[a] !== p.x.shape[a]) return false;
  return true;
}

/** Why a reference run is no missing wasm path: no arithmetic to vectorize, or too small to matter. */
function jsOkOf(p: ResizeProblem): string | undefined {
  if (p.kind === 'copy') return 'output shape equals input shape: a copy';
  if (p.x.dtype !== 'float32' && p.kind === 'nearest') return `nearest on ${p.x.dtype}: element copies`;
  if (sizeOf(p.outShape) <= 256) return 'tiny output';
  return undefined;
}

function wasmName(shape: string): (p: ResizeProblem) => string {
  return (p) => `f32_${p.opType.toLowerCase()}_${shape}__wasmsimd`;
}

/** Resize and Upsample share one table, reference first (chooseVariant takes the last that applies). */
export const RESIZE_VARIANTS: readonly VariantDef<ResizeProblem>[] = [
  {
    name: (p) => `${dtypePrefix(p)}_${p.opType.toLowerCase()}__ref`,
    applies: () => true,
    placement: 'any',
    prepare: (p) => {
      const k = prepareReference(p);
      k.jsOk = jsOkOf(p);
      return k;
    },
  },
  {
    name: wasmName('nearest_2d'),
    applies: (p, caps) => nearest2dApplies(p) && resizeModule(caps) !== undefined,
    placement: 'wasm',
    prepare: (p, ctx) => prepareNearest2d(p, ctx.options.wasm!, ctx.options.wasm!.use(RESIZE_MODULE)!),
  },
  {
    name: wasmName('linear_2d'),
    applies: (p, caps) => p.kind === 'bilinear' && p.x.dtype === 'float32' && plane2d(p).inner === 1 && resizeModule(caps) !== undefined,
    placement: 'wasm',
    prepare: (p, ctx) => prepareBilinear2d(p, ctx.options.wasm!, ctx.options.wasm!.use(RESIZE_MODULE)!),
  },
  {
    name: wasmName('cubic_2d'),
    applies: (p, caps) => p.kind === 'bicubic' && p.x.dtype === 'float32' && resizeModule(caps) !== undefined,
    placement: 'wasm',
    prepare: (p, ctx) => prepareBicubic2d(p, ctx.options.wasm!, ctx.options.wasm!.use(RESIZE_MODULE)!),
  },
];

function prepare(ctx: PrepareContext, p: ResizeProblem): PreparedKernel {
  if (p.mode !== 'nearest' && p.kind !== 'copy') requireFloat(ctx, p.x.dtype, `${p.mode} Resize of an input`);
  return chooseVariant(RESIZE_VARIANTS, p, ctx);
}

export const resizeKernel: KernelDef = { opType: 'Resize', prepare: (ctx) => prepare(ctx, readResize(ctx)) };
export const upsampleKernel: KernelDef = { opType: 'Upsample', prepare: (ctx) => prepare(ctx, readUpsample(ctx)) };

export const resizeKernels: KernelDef[] = [resizeKernel, upsampleKernel];

