import type { BigIntArray, NumericArray } from '../dtype.js';
import { hasRelaxedSimd, hasWasmSimd, ModuleBuilder } from './emitter.js';
import {
  addElementwiseKernels, BINARY_OPS, binaryName, channelName, CLAMP_NAME, LEAKYRELU_NAME, type BinaryOp,
} from './elementwise-kernels.js';
import { addDepthwiseKernels, DW3X3S1_NAME, DW3X3S2_NAME, DW5X5S1_NAME, DW5X5S2_NAME } from './depthwise-kernels.js';
import { addWinogradKernels, winogradFilterName, winogradInputName, winogradOutputName, type WinogradInputVariant } from './winograd-kernels.js';
import { addGemmKernels, gemmExportNames, packName, TILE_BUFFER_BYTES, type GemmExports, type GemmTile, type SimdVariant } from './gemm-kernels.js';
import { moduleKey, prebuiltModule } from './prebuilt.js';
import { onBrowserMainThread, startPoolWorkers, type PoolWorkers } from './pool-workers.js';
import { poolBlockBytes, ThreadPool, type PoolLayout } from './threads.js';

/** The tile the wasm GEMM uses, picked by bench/wasm-gemm.mjs (see src/wasm/README.md). */
export const WASM_GEMM_TILE = '4x8';
/** Every tile the generator is exercised with (tester and benchmark). */
export const WASM_GEMM_TILES: readonly string[] = ['4x8', '5x8', '6x8', '4x16', '8x8', '4x4', '2x8', '1x8'];

const PAGE = 65536;
const MAX_PAGES = 65536;
/** Bytes at the bottom of memory never handed out: offset 0 means "none" to the kernels; the tile buffer lives here. */
const RESERVED_BYTES = 1024;

/** A generated driver: (M, N, K, ...) as documented in gemm-kernels.ts. */
export type WasmGemmDriver = (
  M: number, N: number, K: number, p3: number, p4: number, p5: number, p6: number, p7: number, c: number,
  ldc: number, scratch: number, kcMax: number, block: number, accumulate: number, act: number, p0: number,
  p1: number, tmp: number,
) => void;

export type WasmMicrokernel = (
  kc: number, a: number, b: number, c: number, ldcBytes: number, rows: number, cols: number, flags: number,
  rowBias: number, colBias: number, act: number, p0: number, p1: number, tmp: number,
) => void;

/** One instantiated tile: its micro-kernel and both whole-product drivers. */
export interface WasmGemmKernels {
  readonly name: string;
  readonly mr: number;
  readonly nr: number;
  readonly variant: SimdVariant;
  readonly micro: WasmMicrokernel;
  /** f32_gemm_packed_b: (M, N, K, a, aRow, aCol, b, colBias, c, ldc, scratch, kcMax, mcMax, acc, act, p0, p1, tmp). */
  readonly packedB: WasmGemmDriver;
  /** f32_gemm_packed_a: (M, N, K, a, rowBias, b, bRow, bCol, c, ldc, scratch, kcMax, ncMax, acc, act, p0, p1, tmp). */
  readonly packedA: WasmGemmDriver;
}

/** f32_v{op}(a, b, out, n) */
export type WasmBinaryKernel = (a: number, b: number, out: number, n: number) => void;
/** f32_v{r}{op}c(a, b, out, outer, inner, channels) */
export type WasmChannelKernel = (a: number, b: number, out: number, outer: number, inner: number, channels: number) => void;

/** The elementwise kernels of elementwise-kernels.ts. */
export interface WasmElementwiseKernels {
  readonly binary: Readonly<Record<BinaryOp, WasmBinaryKernel>>;
  readonly channel: Readonly<Record<BinaryOp, WasmChannelKernel>>;
  /** Channel value on the left: c − x, c / x. */
  readonly channelReversed: Readonly<Record<'sub' | 'div', WasmChannelKernel>>;
  readonly clamp: (x: number, out: number, n: number, lo: number, hi: number) => void;
  readonly leakyRelu: (x: number, out: number, n: number, alpha: number) => void;
}

/**
 * f32_dwconv_{K}x{K}s{S}_interior (see depthwise-kernels.ts): (x, W, y, OW, rowLo, rowHi, colLo, colHi, ph, pw,
 * b, then the K² weights).
 */
export type WasmDepthwiseKernel = (
  x: number, W: number, y: number, OW: number, rowLo: number, rowHi: number, colLo: number, colHi: number,
  ph: number, pw: number, b: number, ...weights: number[]
) => void;

/** f32_winograd_f{m}3_input (see winograd-kernels.ts). */
export type WasmWinogradInputKernel = (x: number, W: number, planeBytes: number, groups: number, v: number, xiStrideBytes: number) => void;

/** f32_winograd_f{m}3_output (see winograd-kernels.ts). */
export type WasmWinogradOutputKernel = (
  mp: number, xiStrideBytes: number, groups: number, bias: number, y: number, OW: number, planeBytes: number,
  act: number, p0: number, p1: number,
) => void;

/** f32_winograd_f{m}3_filter (see winograd-kernels.ts). */
export type WasmWinogradFilterKernel = (w: number, C: number, o0: number, pairs: number, table: number, nr: number) => void;

export interface WasmKernels {
  /** The GEMM the runtime uses: WASM_GEMM_TILE, relaxed when the engine has it. */
  readonly gemm: WasmGemmKernels;
  /** Every generated tile, keyed `${MR}x${NR}__${variant}`. */
  readonly gemmTiles: Readonly<Record<string, WasmGemmKernels>>;
  readonly elementwise: WasmElementwiseKernels;
  /** Depthwise interiors by kernel size and stride: depthwise[K][stride − 1], K = 3 or 5. */
  readonly depthwise: Readonly<Record<3 | 5, readonly [WasmDepthwiseKernel, WasmDepthwiseKernel]>>;
  /** depthwise[3] (the same array), by stride: [stride 1, stride 2]. */
  readonly depthwise3x3: readonly [WasmDepthwiseKernel, WasmDepthwiseKernel];
  /** The GEMM drivers' panel packs by panel width (each tile's MR and NR): see emitPack in gemm-kernels.ts. */
  readonly pack: Readonly<Record<number, WasmPackPanels>>;
}

/** f32_pack_panels_x{T}(src, tStride, kStride, count, kc, dst): byte offsets, strides in elements. */
export type WasmPackPanels = (src: number, tStride: number, kStride: number, count: number, kc: number, dst: number) => void;

/** The Winograd transforms of one variant (see WasmContext.winograd). */
export interface WasmWinogradKernels {
  readonly input: WasmWinogradInputKernel;
  /** Output transform with bias and activation fused. */
  readonly output: WasmWinogradOutputKernel;
  /** Filter transform into the n² packed GEMM operands, at prepare (see emitWinogradFilter). */
  readonly filter: WasmWinogradFilterKernel;
}

/**
 * A family of kernels compiled as its own small module on the context's memory, on first use. Each operator
 * family (softmax, pooling, recurrent steps, int8 GEMM…) declares one, so the default module stays small and a
 * session pays only for the families its graph runs. Modules under 4 KB also compile synchronously on browsers'
 * main threads.
 */
export interface WasmModuleSpec<T> {
  /** Unique name of the family, e.g. 'pool'. */
  readonly key: string;
  /** Adds the family's functions to `m` (memory already imported); `relaxed` when relaxed SIMD may be used. */
  build(m: ModuleBuilder, relaxed: boolean): void;
  /** Picks the typed functions out of the instance's exports. */
  bind(exports: Record<string, unknown>): T;
}

export interface WasmContextOptions {
  /** Tiles to generate ('MRxNR'); default [WASM_GEMM_TILE]. The first is `kernels.gemm`. */
  tiles?: readonly string[];
  /** Use relaxed SIMD when the engine validates it (default true). */
  relaxed?: boolean;
  /** Also generate the plain-SIMD variant when relaxed is used (tester, benchmark). */
  bothVariants?: boolean;
  /** Initial memory size in 64 KiB pages (default 16). */
  initialPages?: number;
  /**
   * Threads to run split kernels on, the calling thread included (default 1). Above 1 the memory is shared and
   * worker threads start (createAsync on Node only; elsewhere, or without SharedArrayBuffer, the context stays
   * single-threaded and `threadsNote` says why).
   */
  threads?: number;
}

export function parseTile(name: string): GemmTile {
  const m = /^(\d+)x(\d+)$/.exec(name);
  if (m === null) throw new RangeError(`wasm: bad tile name '${name}'`);
  return { mr: Number(m[1]), nr: Number(m[2]) };
}

/**
 * WebAssembly kernels generated at load and the one memory they run on. The memory grows on demand
 * (growing detaches memory.buffer: keep byte offsets, make views fresh after any alloc).
 */
export class WasmContext {
  readonly memory: WebAssembly.Memory;
  readonly relaxedSimd: boolean;
  readonly kernels: WasmKernels;
  /** Milliseconds spent generating + compiling + instantiating the module. */
  readonly compileMs: number;
  /** True when the default module's bytes were pre-built (src/wasm/prebuilt.ts), false when generated here. */
  readonly prebuilt: boolean;
  /** Byte offset of the MR×NR float buffer edge tiles go through. */
  readonly tileBuffer = 64;
  /**
   * Per-context cache of uploaded constant weights, owned by the kernels that upload them (keyed weakly by the
   * weight tensor data, so it keeps nothing alive). Lives here so the cache dies with the context.
   */
  readonly uploads = new WeakMap<object, unknown>();
  private readonly residents = new WeakMap<object, number>();
  private top = RESERVED_BYTES;
  private readonly freeList: Array<{ offset: number; size: number }> = [];
  private readonly live = new Map<number, number>();
  private scratchOffset = 0;
  private readonly winogradModules = new Map<WinogradInputVariant, WasmWinogradKernels>();
  private scratchBytes = 0;
  private readonly familyModules = new Map<string, unknown>();
  /** Families whose synchronous compile the engine refused (browsers' main threads refuse modules over 4 KB). */
  private readonly refused = new Map<string, WasmModuleSpec<unknown>>();

  /** True when the memory is a shared one (its modules are compiled with a shared import). */
  readonly shared: boolean;
  /** The intra-op pool when the context runs on more than one thread. */
  pool: ThreadPool | undefined;
  /** Why the context runs single-threaded although more threads were asked for (undefined otherwise). */
  threadsNote: string | undefined;
  private workers: PoolWorkers | undefined;

  private constructor(memory: WebAssembly.Memory, relaxedSimd: boolean, kernels: WasmKernels, compileMs: number, prebuilt: boolean) {
    this.memory = memory;
    this.prebuilt = prebuilt;
    this.shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    this.relaxedSimd = relaxedSimd;
    this.kernels = kernels;
    this.compileMs = compileMs;
  }

  /** Threads kernels may split over (1 without a pool). */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }


  /** Instantiates `module` on this memory, making its functions callable by the pool's threads. */
  private instantiate(module: WebAssembly.Module): WebAssembly.Instance {
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.pool?.addModule(module, instance);
    return instance;
  }

  private async instantiateAsync(module: WebAssembly.Module): Promise<WebAssembly.Instance> {
    const instance = await WebAssembly.instantiate(module, { env: { memory: this.memory } });
    this.pool?.addModule(module, instance);
    return instance;
  }

  /**
   * Starts `threads − 1` workers on this (shared) memory and the pool that feeds them; the modules instantiated
   * so far are posted to them. Node only.
   */
  private async startPool(threads: number, mainModule: WebAssembly.Module, mainInstance: WebAssembly.Instance): Promise<void> {
    const tileBytes = TILE_BUFFER_BYTES;
    const base = this.alloc(poolBlockBytes());
    const tiles = this.alloc(tileBytes * (threads - 1));
    const layout: PoolLayout = { base, threads, tiles, tileBytes, tile0: this.tileBuffer };
    const workers = await startPoolWorkers(this.memory, layout);
    if (typeof workers === 'string') {
      this.threadsNote = workers;
      this.free(tiles);
      this.free(base);
      return;
    }
    this.workers = workers;
    this.pool = new ThreadPool(this.memory, layout, (m) => workers.post(m), !onBrowserMainThread());
    this.pool.addModule(mainModule, mainInstance);
    const failed = await workers.ready();
    if (failed !== undefined) {
      this.threadsNote = failed;
      await this.close();
    }
  }

  /**
   * Calls the wasm function `fn` now, or, while the pool records a batch, records it as a group of its own (it
   * then runs when the batch ends: the caller must not read what it writes before that).
   */
  invoke(fn: (...args: number[]) => unknown, ...args: number[]): void {
    const pool = this.pool;
    if (pool !== undefined && pool.recording) {
      pool.group();
      pool.call(fn, args);
    } else fn(...args);
  }

  /**
   * fn(...args) over n elements, split into element ranges over the pool's threads when n is large: each range
   * moves the byte-offset arguments listed in `pointers` by 4·start (float32 elements) and sets args[countArg]
   * to its length (ranges start on multiples of 4). Runs fn once, now, without a pool or for small n.
   */
  invokeRange(fn: (...args: number[]) => unknown, args: number[], n: number, pointers: readonly number[], countArg: number): void {
    const pool = this.pool;
    const chunks = pool === undefined || pool.recording ? 1 : Math.min(pool.threads * 2, Math.floor(n / SPLIT_MIN_ELEMENTS));
    if (chunks < 2) {
      fn(...args);
      return;
    }
    pool!.batch(() => {
      for (let i = 0; i < chunks; i++) {
        const s = Math.floor((i * n) / chunks / 4) * 4;
        const e = i + 1 === chunks ? n : Math.floor(((i + 1) * n) / chunks / 4) * 4;
        const chunk = args.slice();
        for (const p of pointers) chunk[p] = args[p]! + 4 * s;
        chunk[countArg] = e - s;
        pool!.group();
        pool!.call(fn, chunk);
      }
    });
  }

  /**
   * fn(...args) over `rows` independent rows of `rowBytes` bytes each (softmax, LayerNorm), split into row ranges
   * over the pool's threads when rows · elementsPerRow is large; `pointers` move by rowBytes per row.
   */
  invokeRows(fn: (...args: number[]) => unknown, args: number[], rows: number, rowBytes: number, pointers: readonly number[], rowsArg: number): void {
    this.invokePlanes(fn, args, rows, rowsArg, pointers.map((p) => [p, rowBytes] as const), rowBytes / 4);
  }

  /**
   * fn(...args) over `planes` independent planes (args[planesArg] of them), split into plane ranges over the
   * pool's threads when planes · elementsPerPlane is large: each range moves argument i of `moves` [i, bytes]
   * by bytes per plane. Runs fn once, now, without a pool or for small work.
   */
  invokePlanes(
    fn: (...args: number[]) => unknown, args: number[], planes: number, planesArg: number,
    moves: readonly (readonly [number, number])[], elementsPerPlane: number,
  ): void {
    const pool = this.pool;
    const chunks = pool === undefined || pool.recording ? 1 : Math.min(pool.threads * 2, planes, Math.floor((planes * elementsPerPlane) / SPLIT_MIN_ELEMENTS));
    if (chunks < 2) {
      fn(...args);
      return;
    }
    pool!.batch(() => {
      for (let i = 0; i < chunks; i++) {
        const p0 = Math.floor((i * planes) / chunks);
        const p1 = Math.floor(((i + 1) * planes) / chunks);
        const chunk = args.slice();
        for (const [at, bytes] of moves) chunk[at] = args[at]! + p0 * bytes;
        chunk[planesArg] = p1 - p0;
        pool!.group();
        pool!.call(fn, chunk);
      }
    });
  }

  /** Runs `body` as one batch on the pool's threads (see ThreadPool.batch), or just runs it without a pool. */
  parallel<T>(body: () => T): T {
    return this.pool === undefined ? body() : this.pool.batch(body);
  }

  /** Stops the pool's workers (the memory stays usable on the calling thread). */
  close(): Promise<void> {
    const workers = this.workers;
    if (workers !== undefined) {
      this.workers = undefined;
      this.pool?.stop();
      this.pool = undefined;
      this.closing = workers.terminate();
    }
    return this.closing;
  }

  private closing: Promise<void> = Promise.resolve();

  /**
   * A context, or undefined when this engine lacks WebAssembly or its SIMD, or refuses to compile synchronously
   * (Chrome's main thread refuses modules over 4 KB: use createAsync there). Callers then use the JS kernels.
   */
  static create(options: WasmContextOptions = {}): WasmContext | undefined {
    if (!hasWasmSimd()) return undefined;
    const t0 = now();
    const build = buildMainModule(options);
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(new WebAssembly.Module(build.bytes), { env: { memory: build.memory } });
    } catch {
      return undefined;
    }
    return fromInstance(build, instance, now() - t0);
  }

  /** As create, compiling and instantiating asynchronously (needed on browsers' main threads). */
  static async createAsync(options: WasmContextOptions = {}): Promise<WasmContext | undefined> {
    if (!hasWasmSimd()) return undefined;
    const t0 = now();
    const threads = Math.max(1, Math.floor(options.threads ?? 1));
    let note: string | undefined;
    let memory: WebAssembly.Memory | undefined;
    if (threads > 1) {
      if (typeof SharedArrayBuffer === 'undefined') note = 'SharedArrayBuffer is not available (a page that is not cross-origin isolated?)';
      else memory = sharedMemory(options.initialPages ?? 16);
      if (memory === undefined) note ??= 'this engine refused a shared WebAssembly.Memory';
    }
    const build = buildMainModule(options, memory);
    let module: WebAssembly.Module;
    let instance: WebAssembly.Instance;
    try {
      module = await WebAssembly.compile(build.bytes);
      instance = await WebAssembly.instantiate(module, { env: { memory: build.memory } });
    } catch {
      return undefined;
    }
    const ctx = fromInstance(build, instance, now() - t0);
    ctx.threadsNote = note;
    if (memory !== undefined) await ctx.startPool(threads, module, instance);
    return ctx;
  }

  /** @internal */
  static fromParts(memory: WebAssembly.Memory, relaxedSimd: boolean, kernels: WasmKernels, compileMs: number, prebuilt = false): WasmContext {
    return new WasmContext(memory, relaxedSimd, kernels, compileMs, prebuilt);
  }

  /**
   * The Winograd transforms of `variant`, generated on first use as a second module on the same memory (they
   * are large, 10–25 KB each, so a session that never runs Winograd does not pay for them). Allocates nothing.
   * Undefined when the engine refuses to compile synchronously, unless loadWinograd ran first.
   */
  winograd(variant: WinogradInputVariant): WasmWinogradKernels | undefined {
    let k = this.winogradModules.get(variant);
    if (k === undefined) {
      try {
        const module = compiledModule(winogradModuleKey(variant, this.shared), () => winogradModuleBytes(variant, this.shared));
        const instance = this.instantiate(module);
        k = winogradKernels(variant, instance);
      } catch {
        return undefined;
      }
      this.winogradModules.set(variant, k);
    }
    return k;
  }

  /** Compiles the Winograd transforms of `variant` asynchronously (browsers' main threads), for winograd(). */
  async loadWinograd(variant: WinogradInputVariant): Promise<WasmWinogradKernels | undefined> {
    const have = this.winogradModules.get(variant);
    if (have !== undefined) return have;
    try {
      const module = await compiledModuleAsync(winogradModuleKey(variant, this.shared), () => winogradModuleBytes(variant, this.shared));
      const instance = await this.instantiateAsync(module);
      const k = winogradKernels(variant, instance);
      this.winogradModules.set(variant, k);
      return k;
    } catch {
      return undefined;
    }
  }

  /**
   * The kernels of `spec`, compiled synchronously on first use and cached for the context's life; undefined when
   * the engine refuses (callers then keep their JS kernel). Allocates no wasm memory.
   */
  use<T>(spec: WasmModuleSpec<T>): T | undefined {
    if (this.familyModules.has(spec.key)) return this.familyModules.get(spec.key) as T | undefined;
    let k: T | undefined;
    try {
      const module = compiledModule(familyModuleKey(spec, this.relaxedSimd, this.shared), () => familyModuleBytes(spec, this.relaxedSimd, this.shared));
      const instance = this.instantiate(module);
      k = spec.bind(instance.exports as Record<string, unknown>);
    } catch {
      k = undefined;
      this.refused.set(spec.key, spec);
    }
    this.familyModules.set(spec.key, k);
    return k;
  }

  /** True when some family was refused synchronously and may still load asynchronously (see loadRefused). */
  get hasRefused(): boolean {
    return this.refused.size > 0;
  }

  /**
   * Compiles asynchronously the families use() could not compile synchronously; true when any now loaded (plans
   * made before then run those kernels in JS: re-plan to use them).
   */
  async loadRefused(): Promise<boolean> {
    const specs = [...this.refused.values()];
    this.refused.clear();
    const loaded = await Promise.all(specs.map((s) => this.load(s)));
    return loaded.some((k) => k !== undefined);
  }

  /** As use, compiling asynchronously (browsers' main threads); a later use() returns the same kernels. */
  async load<T>(spec: WasmModuleSpec<T>): Promise<T | undefined> {
    const have = this.familyModules.get(spec.key) as T | undefined;
    if (have !== undefined) return have;
    try {
      const module = await compiledModuleAsync(familyModuleKey(spec, this.relaxedSimd, this.shared), () => familyModuleBytes(spec, this.relaxedSimd, this.shared));
      const instance = await this.instantiateAsync(module);
      const k = spec.bind(instance.exports as Record<string, unknown>);
      this.familyModules.set(spec.key, k);
      return k;
    } catch {
      return undefined;
    }
  }

  /**
   * Runs the GEMM drivers on small products so the engine tiers them up (V8 starts in its baseline compiler,
   * several times slower for SIMD) before the first real inference; ~5 ms. Call right after create, before
   * making views: it allocates (and frees) a little memory.
   */
  warmUp(rounds = 200): void {
    const n = 32;
    const bytes = n * n * 4;
    const blocks = [this.alloc(bytes), this.alloc(bytes), this.alloc(bytes), this.alloc(bytes)];
    for (const at of blocks) this.f32(at, n * n).fill(0);
    const [a, b, c, s] = blocks as [number, number, number, number];
    const { packedA, packedB } = this.kernels.gemm;
    for (let r = 0; r < rounds; r++) {
      packedB(n, n, n, a, n, 1, b, 0, c, n, s, n, n, 0, 0, 0, 0, this.tileBuffer);
      packedA(n, n, n, a, 0, b, n, 1, c, n, s, n, n, 0, 0, 0, 0, this.tileBuffer);
    }
    for (const at of blocks) this.free(at);
  }

  /** Reserves `bytes` (aligned to `align`, a power of two) and returns its byte offset; grows memory if needed. */
  alloc(bytes: number, align = 64): number {
    const size = Math.max(align, Math.ceil(bytes / align) * align);
    for (let i = 0; i < this.freeList.length; i++) {
      const block = this.freeList[i]!;
      const start = alignUp(block.offset, align);
      if (start + size <= block.offset + block.size) {
        this.freeList.splice(i, 1);
        if (start > block.offset) this.release(block.offset, start - block.offset);
        const end = block.offset + block.size;
        if (end > start + size) this.release(start + size, end - start - size);
        this.live.set(start, size);
        return start;
      }
    }
    const start = alignUp(this.top, align);
    this.ensureBytes(start + size);
    if (start > this.top) this.release(this.top, start - this.top);
    this.top = start + size;
    this.live.set(start, size);
    return start;
  }

  /** Returns a block from alloc to the allocator. */
  free(offset: number): void {
    const size = this.live.get(offset);
    if (size === undefined) throw new RangeError(`wasm: free of ${offset}, which is not allocated`);
    this.live.delete(offset);
    this.release(offset, size);
  }

  /** Copies `data` into memory at a new aligned block; returns its byte offset. */
  /**
   * Byte offset of a copy of `data` in this memory, made once per data object: the constants (weights, folded
   * values) that a wasm variant reads are placed here by the executor and never copied again.
   */
  resident(data: NumericArray | BigIntArray): number {
    if (data.buffer === this.memory.buffer) return data.byteOffset;
    let at = this.residents.get(data);
    if (at === undefined) {
      at = this.alloc(Math.max(data.byteLength, 16));
      new Uint8Array(this.memory.buffer, at, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.residents.set(data, at);
    }
    return at;
  }

  allocFloats(data: Float32Array, align = 64): number {
    const offset = this.alloc(data.length * 4, align);
    new Float32Array(this.memory.buffer, offset, data.length).set(data);
    return offset;
  }

  /** A fresh Float32Array view of `length` floats at byte `offset` (valid until the memory next grows). */
  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length);
  }

  /**
   * Makes the per-call scratch at least `bytes` long, one block per thread (call at prepare; run never grows
   * memory). Thread t's block is at scratch + t · scratchStride.
   */
  reserveScratch(bytes: number): void {
    bytes = Math.ceil(bytes / 64) * 64;
    if (bytes <= this.scratchBytes) return;
    if (this.scratchBytes > 0) this.free(this.scratchOffset);
    this.scratchOffset = this.alloc(bytes * this.threads);
    this.scratchBytes = bytes;
    if (this.pool !== undefined) this.pool.scratchStride = bytes;
  }

  /** Bytes between two threads' scratch blocks. */
  get scratchStride(): number {
    return this.scratchBytes;
  }

  /** Byte offset of thread 0's scratch (0 before any reserveScratch). */
  get scratch(): number {
    return this.scratchOffset;
  }

  /** Bytes currently handed out (for tests and memory reports). */
  get allocatedBytes(): number {
    let n = 0;
    for (const size of this.live.values()) n += size;
    return n;
  }

  private ensureBytes(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    // Grow at least geometrically so a series of small allocations does not grow page by page.
    const current = have / PAGE;
    const want = Math.min(MAX_PAGES - current, Math.max(pages, Math.ceil(current / 2)));
    if (want < pages) throw new RangeError(`wasm: memory limit reached (${end} bytes wanted)`);
    this.memory.grow(want);
  }

  /** Puts [offset, offset + size) on the free list, merging with neighbours and with the top. */
  private release(offset: number, size: number): void {
    let i = 0;
    while (i < this.freeList.length && this.freeList[i]!.offset < offset) i++;
    this.freeList.splice(i, 0, { offset, size });
    const next = this.freeList[i + 1];
    if (next !== undefined && offset + size === next.offset) {
      this.freeList[i]!.size += next.size;
      this.freeList.splice(i + 1, 1);
    }
    const prev = this.freeList[i - 1];
    if (prev !== undefined && prev.offset + prev.size === offset) {
      prev.size += this.freeList[i]!.size;
      this.freeList.splice(i, 1);
      i--;
    }
    const last = this.freeList[this.freeList.length - 1];
    if (last !== undefined && last.offset + last.size === this.top) {
      this.top = last.offset;
      this.freeList.pop();
    }
  }
}

function elementwiseKernels(fns: Record<string, unknown>): WasmElementwiseKernels {
  const pick = <T>(name: string) => fns[name] as T;
  const binary = {} as Record<BinaryOp, WasmBinaryKernel>;
  const channel = {} as Record<BinaryOp, WasmChannelKernel>;
  for (const op of BINARY_OPS) {
    binary[op] = pick(binaryName(op));
    channel[op] = pick(channelName(op, false));
  }
  return {
    binary, channel,
    channelReversed: { sub: pick(channelName('sub', true)), div: pick(channelName('div', true)) },
    clamp: pick(CLAMP_NAME),
    leakyRelu: pick(LEAKYRELU_NAME),
  };
}

interface MainModule {
  bytes: Uint8Array<ArrayBuffer>;
  memory: WebAssembly.Memory;
  relaxed: boolean;
  tileNames: readonly string[];
  variants: SimdVariant[];
  exports: Record<string, GemmExports>;
  prebuilt: boolean;
}

/**
 * The default module (GEMM tiles, elementwise, depthwise), pre-built or generated, and the memory it will import.
 */
function buildMainModule(options: WasmContextOptions, shared?: WebAssembly.Memory): MainModule {
  const relaxed = (options.relaxed ?? true) && hasRelaxedSimd();
  const tileNames = options.tiles ?? [WASM_GEMM_TILE];
  if (tileNames.length === 0) throw new RangeError('wasm: no tiles requested');
  const variants: SimdVariant[] = relaxed ? (options.bothVariants ? ['wasmrelaxedsimd', 'wasmsimd'] : ['wasmrelaxedsimd']) : ['wasmsimd'];
  const isShared = shared !== undefined;
  const prebuilt = prebuiltModule(mainModuleKey(tileNames, variants, isShared));
  const bytes = prebuilt ?? mainModuleBytes(tileNames, variants, isShared);
  const memory = shared ?? new WebAssembly.Memory({ initial: options.initialPages ?? 16, maximum: MAX_PAGES });
  return { bytes, memory, relaxed, tileNames, variants, exports: gemmExportNames(tileNames.map(parseTile), variants), prebuilt: prebuilt !== undefined };
}

/** The compiled-module cache's key of the default module for these GEMM tiles and SIMD variants. */
export function mainModuleKey(tileNames: readonly string[], variants: readonly SimdVariant[], shared: boolean): string {
  return moduleKey(`main:${tileNames.join(',')}:${variants.join(',')}`, shared);
}

/** Generates the default module. */
export function mainModuleBytes(tileNames: readonly string[], variants: readonly SimdVariant[], shared: boolean): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder().importMemory(1, MAX_PAGES, shared);
  addGemmKernels(m, tileNames.map(parseTile), variants);
  addElementwiseKernels(m);
  addDepthwiseKernels(m);
  return m.encode();
}

function fromInstance(build: MainModule, instance: WebAssembly.Instance, compileMs: number): WasmContext {
  const fns = instance.exports as Record<string, unknown>;
  const gemmTiles: Record<string, WasmGemmKernels> = {};
  for (const name of build.tileNames) {
    const { mr, nr } = parseTile(name);
    for (const variant of build.variants) {
      const key = `${name}__${variant}`;
      const e = build.exports[key]!;
      gemmTiles[key] = {
        name: key, mr, nr, variant,
        micro: fns[e.micro] as WasmMicrokernel,
        packedB: fns[e.packedB] as WasmGemmDriver,
        packedA: fns[e.packedA] as WasmGemmDriver,
      };
    }
  }
  const gemm = gemmTiles[`${build.tileNames[0]}__${build.variants[0]}`]!;
  const pick = (name: string) => fns[name] as WasmDepthwiseKernel;
  const depthwise3x3 = [pick(DW3X3S1_NAME), pick(DW3X3S2_NAME)] as const;
  const depthwise = { 3: depthwise3x3, 5: [pick(DW5X5S1_NAME), pick(DW5X5S2_NAME)] } as const;
  const pack: Record<number, WasmPackPanels> = {};
  for (const name of build.tileNames) {
    const { mr, nr } = parseTile(name);
    for (const t of [mr, nr]) pack[t] = fns[packName(t)] as WasmPackPanels;
  }
  const kernels: WasmKernels = { gemm, gemmTiles, elementwise: elementwiseKernels(fns), depthwise, depthwise3x3, pack };
  return WasmContext.fromParts(build.memory, build.relaxed, kernels, compileMs, build.prebuilt);
}

/**
 * A shared memory for threads, or undefined when the engine refuses one. A shared memory's maximum is reserved
 * up front, so a 32-bit engine may refuse 4 GiB: smaller maxima are tried (the modules' import allows any).
 */
function sharedMemory(initial: number): WebAssembly.Memory | undefined {
  for (const maximum of [MAX_PAGES, 16384, 8192]) {
    try {
      return new WebAssembly.Memory({ initial, maximum, shared: true });
    } catch {
      // try a smaller maximum
    }
  }
  return undefined;
}

/** The compiled-module cache's key of the Winograd transforms of `variant` (and of their pre-built bytes). */
export function winogradModuleKey(variant: WinogradInputVariant, shared: boolean): string {
  return moduleKey(`winograd-${variant}`, shared);
}

/** Generates the Winograd transforms' module of `variant`. */
export function winogradModuleBytes(variant: WinogradInputVariant, shared: boolean): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder().importMemory(1, MAX_PAGES, shared);
  addWinogradKernels(m, [variant]);
  return m.encode();
}

/**
 * Compiled modules by key, shared by every context of the process: a module imports its memory, so one
 * compilation serves any number of contexts (sessions), each instantiating it on its own memory. Only the
 * generated bytes' key is kept with the module; compiles are counted for tests and reports.
 */
const compiledBy = new WeakMap<object, Map<string, WebAssembly.Module>>();
const compiling = new Map<string, Promise<WebAssembly.Module>>();

/**
 * The cache of the current WebAssembly.Module constructor: one replaced by a test (to simulate a browser main
 * thread's refusal of synchronous compiles) starts from an empty cache, so it sees every compile.
 */
function compiledCache(): Map<string, WebAssembly.Module> {
  let cache = compiledBy.get(WebAssembly.Module);
  if (cache === undefined) {
    cache = new Map();
    compiledBy.set(WebAssembly.Module, cache);
  }
  return cache;
}
export const compileStats = { sync: 0, async: 0, ms: 0 };

/** The compiled-module cache's key of a family's module (and of its pre-built bytes). */
export function familyModuleKey(spec: WasmModuleSpec<unknown>, relaxed: boolean, shared: boolean): string {
  return moduleKey(`family:${spec.key}:${relaxed ? 'relaxed' : 'simd'}`, shared);
}

/** The compiled module of `key`, compiled now (synchronously) if nothing compiled it before. */
function compiledModule(key: string, bytes: () => Uint8Array<ArrayBuffer>): WebAssembly.Module {
  const compiled = compiledCache();
  let module = compiled.get(key);
  if (module === undefined) {
    const t0 = now();
    module = new WebAssembly.Module(prebuiltModule(key) ?? bytes());
    compileStats.sync++;
    compileStats.ms += now() - t0;
    compiled.set(key, module);
  }
  return module;
}

/** As compiledModule, compiling asynchronously (off the main thread where the engine can); one compile per key. */
function compiledModuleAsync(key: string, bytes: () => Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  const compiled = compiledCache();
  const have = compiled.get(key);
  if (have !== undefined) return Promise.resolve(have);
  let job = compiling.get(key);
  if (job === undefined) {
    const t0 = now();
    job = WebAssembly.compile(prebuiltModule(key) ?? bytes()).then((module) => {
      compileStats.async++;
      compileStats.ms += now() - t0;
      compiled.set(key, module);
      return module;
    });
    job.finally(() => compiling.delete(key)).catch(() => undefined);
    compiling.set(key, job);
  }
  return job;
}

/** Generates a family's module. */
export function familyModuleBytes(spec: WasmModuleSpec<unknown>, relaxed: boolean, shared: boolean): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder().importMemory(1, MAX_PAGES, shared);
  spec.build(m, relaxed);
  return m.encode();
}

function winogradKernels(variant: WinogradInputVariant, instance: WebAssembly.Instance): WasmWinogradKernels {
  const fns = instance.exports as Record<string, unknown>;
  return {
    input: fns[winogradInputName(variant)] as WasmWinogradInputKernel,
    output: fns[winogradOutputName(variant)] as WasmWinogradOutputKernel,
    filter: fns[winogradFilterName(variant)] as WasmWinogradFilterKernel,
  };
}

function alignUp(x: number, align: number): number {
  return Math.ceil(x / align) * align;
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

/**
 * Elements below which an elementwise call stays on the calling thread (memory-bound kernels: a range must
 * outlast publishing a batch and waking a worker, a few µs).
 */
export const SPLIT_MIN_ELEMENTS = 1 << 15;

/** Size of the tile buffer, re-exported for users that place their own. */
export { TILE_BUFFER_BYTES };
