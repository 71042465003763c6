/**
 * Intra-op threads (../shared/DESIGN.md, "Threads"): workers instantiate the context's compiled modules on its
 * shared `WebAssembly.Memory` and replay batches of wasm calls the calling thread records.
 *
 * A batch is a list of groups; a group is a list of calls run in order by one thread. Groups of one batch are
 * independent (they write disjoint memory), so any thread may take any group: threads claim them one at a time
 * from an atomic counter, which keeps a preempted worker cheap. The calling thread is thread 0 and works too;
 * flush() returns once every group has run. A kernel never splits K (each output element is summed by one
 * thread in one order), so results are bit-identical at any thread count.
 *
 * Everything the threads share lives in the wasm memory: a control block of Int32 words, the call table (one
 * row of Float64 per call) and the group starts. Per-thread buffers are expressed in the row: an argument may
 * be moved by `t × threadScratchStride` (the context's scratch, one block per thread), by `t × row stride` (a
 * step's own per-thread scratch), or replaced by thread t's GEMM tile buffer.
 */

/** The most arguments a recorded wasm function takes. */
export const MAX_ARGS = 24;
/** Float64 slots per call row: fnId, argc, codes (args 0–15), codes (args 16–23), step stride, args. */
const ROW = 32;
const HEADER = 5;
const MAX_ROWS = 4096;
const MAX_GROUPS = 4096;

/** How an argument depends on the thread that runs the call (two bits per argument in the row). */
export const enum ArgCode {
  /** Passed as recorded. */
  Plain = 0,
  /** += t × the context's per-thread scratch stride (the GEMM drivers' packing buffer). */
  ThreadScratch = 1,
  /** += t × the row's stride (a step's per-thread scratch, planned as threads × length). */
  StepScratch = 2,
  /** Replaced by thread t's GEMM tile buffer. */
  Tile = 3,
}

// Control words (Int32 indices).
/** epoch << 15 | next group index; the batch is closed when the index is CLOSED. Workers wait on this word. */
const CLAIM = 0;
const COUNT = 1;
const DONE = 2;
const FAILED = 3;
const STOP = 4;
const SLEEPERS = 5;
const SCRATCH_STRIDE = 6;
/** Modules posted to the workers so far: a worker that has instantiated fewer takes no group until it has them. */
const MODULES = 7;
const CTL_WORDS = 16;
const INDEX_BITS = 15;
const CLOSED = (1 << INDEX_BITS) - 1;
const EPOCH_MASK = 0xffff;

/** Loads of a control word a waiting thread makes before sleeping in Atomics.wait (a few tens of µs). */
const SPIN = 20000;

/** The byte layout of a pool's shared block in wasm memory. */
export interface PoolLayout {
  /** Byte offset of the control words, then the group starts, then the call rows (8-aligned). */
  readonly base: number;
  readonly threads: number;
  /** Byte offset of thread t's tile buffer is tiles + (t − 1) · tileBytes for t ≥ 1 (thread 0 has the context's). */
  readonly tiles: number;
  readonly tileBytes: number;
  readonly tile0: number;
}

/** Bytes of the shared block: control words, group starts, call rows. */
export function poolBlockBytes(): number {
  return rowsOffset() + MAX_ROWS * ROW * 8;
}

/** Bytes from the block's start to the call rows: control words and group starts, rounded up to 8. */
function rowsOffset(): number {
  return Math.ceil((CTL_WORDS + MAX_GROUPS + 1) / 2) * 8;
}

interface Views {
  ctl: Int32Array;
  groups: Int32Array;
  rows: Float64Array;
}

function views(buffer: ArrayBufferLike, base: number): Views {
  const ctl = new Int32Array(buffer, base, CTL_WORDS);
  const groups = new Int32Array(buffer, base + CTL_WORDS * 4, MAX_GROUPS + 1);
  const rowsAt = base + rowsOffset();
  const rows = new Float64Array(buffer, rowsAt, MAX_ROWS * ROW);
  return { ctl, groups, rows };
}

type WasmFunction = (...args: number[]) => unknown;

/**
 * Runs one thread's share of the current batch (tag = its epoch): claims groups until none is left, runs each
 * group's calls with the thread's arguments, counts each group done. Shared by the calling thread and workers.
 */
function work(v: Views, layout: PoolLayout, t: number, tag: number, fns: readonly (WasmFunction | undefined)[], args: number[][], modules = Infinity): number {
  const { ctl, groups, rows } = v;
  let ran = 0;
  for (;;) {
    const claim = Atomics.load(ctl, CLAIM);
    if (claim >>> INDEX_BITS !== tag) return ran;
    // Read after the claim word: a batch published since then had its modules counted before it was published.
    if (Atomics.load(ctl, MODULES) > modules) return ran;
    const g = claim & CLOSED;
    const count = Atomics.load(ctl, COUNT);
    if (g >= count) return ran;
    if (Atomics.compareExchange(ctl, CLAIM, claim, claim + 1) !== claim) continue;
    try {
      const scratchStride = Atomics.load(ctl, SCRATCH_STRIDE);
      const tile = t === 0 ? layout.tile0 : layout.tiles + (t - 1) * layout.tileBytes;
      for (let r = groups[g]!, end = groups[g + 1]!; r < end; r++) runRow(rows, r * ROW, t, scratchStride, tile, fns, args);
    } catch {
      Atomics.store(ctl, FAILED, 1);
    }
    ran++;
    if (Atomics.add(ctl, DONE, 1) + 1 === count) Atomics.notify(ctl, DONE);
  }
}

function runRow(rows: Float64Array, at: number, t: number, scratchStride: number, tile: number, fns: readonly (WasmFunction | undefined)[], args: number[][]): void {
  const fn = fns[rows[at]!];
  if (fn === undefined) throw new Error('tinfer threads: a call to a function this thread has not instantiated');
  const argc = rows[at + 1]!;
  const lo = rows[at + 2]!;
  const hi = rows[at + 3]!;
  const stepStride = rows[at + 4]!;
  const a = args[argc]!;
  for (let i = 0; i < argc; i++) {
    let x = rows[at + HEADER + i]!;
    const code = i < 16 ? (lo >>> (2 * i)) & 3 : (hi >>> (2 * (i - 16))) & 3;
    if (code === ArgCode.ThreadScratch) x += t * scratchStride;
    else if (code === ArgCode.StepScratch) x += t * stepStride;
    else if (code === ArgCode.Tile) x = tile;
    a[i] = x;
  }
  fn(...a);
}

function argArrays(): number[][] {
  return Array.from({ length: MAX_ARGS + 1 }, (_, n) => new Array<number>(n).fill(0));
}

/** A module the calling thread posts to each worker. */
export interface PoolModuleMessage {
  /** Id of the first exported function; the module's functions take consecutive ids in export order. */
  readonly base: number;
  readonly module: WebAssembly.Module;
}

/** What a worker is started with. */
export interface PoolWorkerData {
  readonly memory: WebAssembly.Memory;
  readonly layout: PoolLayout;
  readonly thread: number;
}

/** The exported functions of `instance`, in the order ids are given (WebAssembly.Module.exports order). */
export function exportedFunctions(module: WebAssembly.Module, instance: WebAssembly.Instance): WasmFunction[] {
  const out: WasmFunction[] = [];
  for (const e of WebAssembly.Module.exports(module)) {
    if (e.kind === 'function') out.push(instance.exports[e.name] as WasmFunction);
  }
  return out;
}

/**
 * A worker's life (Node and browsers alike): wait for batches (spin briefly, then Atomics.wait) and work on each,
 * until STOP. Modules arrive as messages, which only the worker's event loop delivers: when the calling thread
 * has posted more than this worker instantiated, the loop returns to the event loop (`later`) and resumes after.
 * `listen` registers the message handler; `done` runs once STOP is seen.
 */
export function runPoolWorker(
  data: PoolWorkerData, listen: (onModule: (m: PoolModuleMessage) => void) => void, later: (f: () => void) => void, done: () => void,
  ready: () => void,
): void {
  const { memory, layout, thread } = data;
  const v = views(memory.buffer, layout.base);
  const fns: (WasmFunction | undefined)[] = [];
  const args = argArrays();
  let have = 0;
  listen((m) => {
    const instance = new WebAssembly.Instance(m.module, { env: { memory } });
    exportedFunctions(m.module, instance).forEach((f, i) => (fns[m.base + i] = f));
    have++;
  });
  let seen = Atomics.load(v.ctl, CLAIM) >>> INDEX_BITS;
  let told = false;
  const loop = (): void => {
    while (Atomics.load(v.ctl, STOP) === 0) {
      const modules = Atomics.load(v.ctl, MODULES);
      if (have < modules || modules === 0) {
        later(loop);
        return;
      }
      if (!told) {
        told = true;
        ready();
      }
      let claim = Atomics.load(v.ctl, CLAIM);
      for (let i = 0; i < SPIN && claim >>> INDEX_BITS === seen; i++) claim = Atomics.load(v.ctl, CLAIM);
      if (claim >>> INDEX_BITS === seen) {
        Atomics.add(v.ctl, SLEEPERS, 1);
        Atomics.wait(v.ctl, CLAIM, claim, 1000);
        Atomics.sub(v.ctl, SLEEPERS, 1);
        continue;
      }
      seen = claim >>> INDEX_BITS;
      work(v, layout, thread, seen, fns, args, have);
    }
    done();
  };
  later(loop);
}

/**
 * The calling thread's side: records calls into the shared table, publishes a batch, works on it as thread 0
 * and waits for the rest. Workers are started by the platform layer (pool-node.ts) and only told the modules.
 */
export class ThreadPool {
  readonly threads: number;
  readonly layout: PoolLayout;
  private readonly v: Views;
  private readonly fns: WasmFunction[] = [];
  private readonly ids = new Map<WasmFunction, number>();
  private readonly args = argArrays();
  private readonly post: (m: PoolModuleMessage) => void;
  private epoch = 0;
  private nRows = 0;
  private nGroups = 0;
  private depth = 0;
  /** Batches published, groups run, and groups the calling thread ran itself (the rest ran on workers). */
  readonly stats = { batches: 0, groups: 0, byCaller: 0 };
  scratchStride = 0;

  /**
   * Whether the calling thread may sleep in Atomics.wait while the others finish a batch (not on a browser's
   * main thread, which must not block: it spins on the counter instead, for the few µs a batch's tail takes).
   */
  private readonly canWait: boolean;

  constructor(memory: WebAssembly.Memory, layout: PoolLayout, post: (m: PoolModuleMessage) => void, canWait = true) {
    this.canWait = canWait;
    this.threads = layout.threads;
    this.layout = layout;
    this.v = views(memory.buffer, layout.base);
    this.v.ctl.fill(0);
    Atomics.store(this.v.ctl, CLAIM, CLOSED);
    this.post = post;
  }

  /** Makes the exports of `instance` callable by the workers (call for every module instantiated on the memory). */
  addModule(module: WebAssembly.Module, instance: WebAssembly.Instance): void {
    const base = this.fns.length;
    for (const f of exportedFunctions(module, instance)) {
      this.ids.set(f, this.fns.length);
      this.fns.push(f);
    }
    Atomics.add(this.v.ctl, MODULES, 1);
    this.post({ base, module });
    // Wake sleeping workers so they fetch it (they resume waiting once they have).
    Atomics.notify(this.v.ctl, CLAIM);
  }

  /** True while a batch is being recorded (calls then join it rather than split themselves). */
  get recording(): boolean {
    return this.depth > 0;
  }

  /**
   * Records the calls `body` makes through group()/call() and runs them on all threads when the outermost
   * batch ends. Work done directly in `body` (JS, unrecorded calls) runs at once on the calling thread.
   */
  batch<T>(body: () => T): T {
    this.depth++;
    let result: T;
    try {
      result = body();
    } catch (e) {
      if (--this.depth === 0) this.discard();
      throw e;
    }
    if (--this.depth === 0) this.flush();
    return result;
  }

  private discard(): void {
    this.nGroups = 0;
    this.nRows = 0;
  }

  /** Starts a group: the calls recorded until the next group() run in order on one thread. */
  group(): void {
    if (this.nGroups >= MAX_GROUPS - 1 || this.nRows >= MAX_ROWS - 256) this.flush();
    this.v.groups[this.nGroups++] = this.nRows;
  }

  /**
   * Records fn(args) in the current group. `codes[i]` says how argument i moves per thread (ArgCode); `stride`
   * is the byte stride of ArgCode.StepScratch arguments.
   */
  call(fn: WasmFunction, args: ArrayLike<number>, codes?: ArrayLike<ArgCode>, stride = 0): void {
    const id = this.ids.get(fn);
    if (id === undefined) throw new Error('tinfer threads: recording a function of a module the pool was not told about');
    if (this.nGroups === 0) this.group();
    if (this.nRows >= MAX_ROWS) throw new Error('tinfer threads: one group holds more calls than the table');
    const rows = this.v.rows;
    const at = this.nRows++ * ROW;
    let lo = 0;
    let hi = 0;
    if (codes !== undefined) {
      for (let i = 0; i < codes.length; i++) {
        const c = codes[i]!;
        if (i < 16) lo |= c << (2 * i);
        else hi |= c << (2 * (i - 16));
      }
    }
    rows[at] = id;
    rows[at + 1] = args.length;
    rows[at + 2] = lo >>> 0;
    rows[at + 3] = hi >>> 0;
    rows[at + 4] = stride;
    for (let i = 0; i < args.length; i++) rows[at + HEADER + i] = args[i]!;
  }

  /** Runs the recorded groups on every thread and waits for them; throws if a call trapped. */
  flush(): void {
    const count = this.nGroups;
    if (count === 0) return;
    const { ctl, groups } = this.v;
    groups[count] = this.nRows;
    this.nGroups = 0;
    this.nRows = 0;
    this.stats.batches++;
    this.stats.groups += count;
    Atomics.store(ctl, COUNT, count);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, FAILED, 0);
    Atomics.store(ctl, SCRATCH_STRIDE, this.scratchStride);
    this.epoch = (this.epoch + 1) & EPOCH_MASK;
    const tag = this.epoch;
    Atomics.store(ctl, CLAIM, tag << INDEX_BITS);
    if (count > 1 && Atomics.load(ctl, SLEEPERS) > 0) Atomics.notify(ctl, CLAIM);
    this.stats.byCaller += work(this.v, this.layout, 0, tag, this.fns, this.args);
    for (let d = Atomics.load(ctl, DONE), i = 0; d < count; d = Atomics.load(ctl, DONE), i++) {
      if (i > SPIN && this.canWait) Atomics.wait(ctl, DONE, d, 10);
    }
    // Close before anything of the next batch is written: a late worker must not claim from it early.
    Atomics.store(ctl, CLAIM, (tag << INDEX_BITS) | CLOSED);
    if (Atomics.load(ctl, FAILED) !== 0) throw new Error('tinfer threads: a kernel trapped in a worker thread');
  }

  /** Tells the workers to end (they leave their wait within a second; terminating them is the platform's job). */
  stop(): void {
    Atomics.store(this.v.ctl, STOP, 1);
    Atomics.notify(this.v.ctl, CLAIM);
  }
}
