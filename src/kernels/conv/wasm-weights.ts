import { packB, packedLayout, type PackOptions } from '../gemm/packed.js';
import type { PackedTile } from '../gemm/microkernels.js';
import type { WasmContext } from '../../wasm/context.js';
import { freePackedWeights, packWeightsOnWasm, uploadPackedWeights, type WasmPackedWeights } from '../../wasm/gemm.js';

/**
 * Constant GEMM weights uploaded into a wasm context's memory for one prepared kernel: `packs[i]` is the
 * wasm twin of the kernel's JS pack i (per conv group, per Winograd position, or the single Gemm/MatMul B).
 */
export interface WasmWeights {
  readonly ctx: WasmContext;
  readonly packs: readonly WasmPackedWeights[];
  /** The weight tensor data: held so the panels (freed when it is collected) live as long as the kernel. */
  readonly source: object;
}

/**
 * Uploads are cached per (context, weight tensor data, bias tensor data, packing key) so that re-preparing a
 * node for new input shapes (the executor's plan cache, dynamic sequence lengths) reuses the uploaded panels
 * instead of growing the memory on every plan. The panels are given back when the weight tensor data is
 * collected (every kernel using them holds it through `source`). The maps are weak, so they keep nothing alive.
 */
type PerWeights = WeakMap<object, Map<string, WasmWeights>>;

/** The key object standing for "no bias" in the cache. */
const NO_BIAS = {};

interface Held {
  ctx: WasmContext;
  packs: readonly WasmPackedWeights[];
}

const release: FinalizationRegistry<Held> | undefined =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<Held>(({ ctx, packs }) => {
        for (const w of packs) freePackedWeights(ctx, w);
      })
    : undefined;

/**
 * Buffers for packs made only to be uploaded (in the wasm GEMM's tile), one per pack index, reused from layer to
 * layer while one synchronous prepare runs (a model's layers are prepared one after another) and dropped after it:
 * fresh memory costs a page fault per 4 KB, and at resnet18's size the JS copies were as large as the weights.
 */
let uploadBuffers: Float32Array[] | undefined;

export function uploadStorage(index: number, length: number): Float32Array {
  if (uploadBuffers === undefined) {
    uploadBuffers = [];
    queueMicrotask(() => (uploadBuffers = undefined));
  }
  const have = uploadBuffers[index];
  if (have !== undefined && have.length >= length) return have.subarray(0, length);
  const fresh = new Float32Array(length);
  uploadBuffers[index] = fresh;
  return fresh;
}

/** Pack options for a pack made only to be uploaded: the wasm GEMM's tile, into the reused buffer 0. */
export function uploadPackOptions(ctx: WasmContext): PackOptions {
  return { tile: uploadTile(ctx), storage: (length) => uploadStorage(0, length) };
}

/** The wasm GEMM's tile, for packs made only to be uploaded (the JS GEMM never runs them: it makes its own). */
export function uploadTile(ctx: WasmContext): PackedTile {
  const { mr, nr } = ctx.kernels.gemm;
  return { mr, nr, gemm: uploadOnly, gemminc: uploadOnly };
}

function uploadOnly(): void {
  throw new Error('gemm: a pack laid out for the wasm GEMM was run by the JS GEMM');
}

/** map.get(key), created by make() on first use. */
export function getOrCreate<K extends object, V>(map: WeakMap<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

/**
 * Constant op(B) (K×N: B [K, N] with row stride ldb, or [N, K] when transB) times alpha, with an optional
 * per-column bias, in the wasm GEMM's tile, once per (B, cacheBias, key) as cachedWasmWeights caches: packed in wasm
 * memory by the GEMM's own pack when alpha is 1 (packWeightsOnWasm: no JS pack, no copy of the panels), else packed
 * in JS and uploaded.
 */
export function uploadWeightsB(
  ctx: WasmContext, key: string, B: Float32Array, ldb: number, transB: boolean, K: number, N: number, alpha: number,
  bias: Float32Array | undefined, cacheBias: object | undefined,
): WasmWeights {
  return cachedWasmWeights(ctx, B, cacheBias, key, () => {
    const layout = packedLayout('B', N, K, bias !== undefined, { tile: uploadTile(ctx) });
    const onWasm = alpha === 1 ? packWeightsOnWasm(ctx, layout, B, 0, transB ? ldb : 1, transB ? 1 : ldb, bias, 0) : undefined;
    return [onWasm ?? uploadPackedWeights(ctx, packB(B, 0, ldb, transB, K, N, alpha, bias && { data: bias }, uploadPackOptions(ctx)))];
  });
}

/**
 * pack(g) for g < count (one per conv group): all of them, or none when one cannot be made (the ones made are freed).
 */
export function packEachOnWasm(ctx: WasmContext, count: number, pack: (g: number) => WasmPackedWeights | undefined): WasmPackedWeights[] | undefined {
  const packs: WasmPackedWeights[] = [];
  for (let g = 0; g < count; g++) {
    const packed = pack(g);
    if (packed === undefined) {
      for (const done of packs) freePackedWeights(ctx, done);
      return undefined;
    }
    packs.push(packed);
  }
  return packs;
}

/**
 * The wasm packs of (weights, bias, key) in `ctx`, made by `make` the first time (call at prepare only: making them
 * may grow the memory). `key` must name everything else the packing depends on (group count, transposes,
 * alpha/beta, Winograd variant); the cache is described above.
 */
export function cachedWasmWeights(
  ctx: WasmContext, weights: object, bias: object | undefined, key: string, make: () => readonly WasmPackedWeights[],
): WasmWeights {
  const perWeights = getOrCreate(ctx.uploads as WeakMap<object, PerWeights>, weights, (): PerWeights => new WeakMap());
  const byKey = getOrCreate(perWeights, bias ?? NO_BIAS, () => new Map<string, WasmWeights>());
  const hit = byKey.get(key);
  if (hit !== undefined) return hit;
  const uploaded: WasmWeights = { ctx, packs: make(), source: weights };
  byKey.set(key, uploaded);
  release?.register(weights, { ctx, packs: uploaded.packs });
  return uploaded;
}

/**
 * A constant vector (e.g. a conv bias) copied into a wasm context's memory once, for kernels that read it
 * from there. view() is a Float32Array on the current memory buffer, remade only after the memory grew.
 */
export class WasmVector {
  private cached: Float32Array;

  constructor(readonly ctx: WasmContext, readonly offset: number, readonly length: number, readonly source: object) {
    this.cached = ctx.f32(offset, length);
  }

  view(): Float32Array {
    if (this.cached.buffer !== this.ctx.memory.buffer) this.cached = this.ctx.f32(this.offset, this.length);
    return this.cached;
  }
}

const vectorCaches = new WeakMap<WasmContext, WeakMap<object, WasmVector>>();
const releaseVector: FinalizationRegistry<{ ctx: WasmContext; offset: number }> | undefined =
  typeof FinalizationRegistry === 'function' ? new FinalizationRegistry(({ ctx, offset }) => ctx.free(offset)) : undefined;

/** `data` in wasm memory, uploaded once per context and data object (call at prepare: it may grow the memory). */
export function uploadVector(ctx: WasmContext, data: Float32Array): WasmVector {
  const perContext = getOrCreate(vectorCaches, ctx, () => new WeakMap<object, WasmVector>());
  const hit = perContext.get(data);
  if (hit !== undefined) return hit;
  const offset = ctx.allocFloats(data);
  const v = new WasmVector(ctx, offset, data.length, data);
  perContext.set(data, v);
  releaseVector?.register(data, { ctx, offset });
  return v;
}

/**
 * A Float32Array over a wasm context's whole memory, remade only after the memory grew: lets a kernel move
 * floats between two views of that memory with copyWithin (a native memmove) and no per-run allocation.
 */
export class WasmMemoryView {
  private cached: Float32Array;

  constructor(readonly ctx: WasmContext) {
    this.cached = new Float32Array(ctx.memory.buffer);
  }

  f32(): Float32Array {
    if (this.cached.buffer !== this.ctx.memory.buffer) this.cached = new Float32Array(this.ctx.memory.buffer);
    return this.cached;
  }
}
