/**
 * Starts the intra-op pool's worker threads: Node's worker_threads (imported dynamically, so browsers and
 * bundlers never see a Node import) or module Workers in browsers. Node workers are unref()ed: they never keep
 * the process alive.
 */
import type { PoolLayout, PoolModuleMessage, PoolWorkerData } from './threads.js';

type WorkerThreads = typeof import('node:worker_threads');

/** Handles to the started workers. */
export interface PoolWorkers {
  /** Sends a module to every worker (each instantiates it before taking part in another batch). */
  post(m: PoolModuleMessage): void;
  /** Ends the workers. */
  terminate(): Promise<void>;
  /**
   * Resolves once every worker has instantiated the modules posted so far and waits for batches (or after
   * READY_TIMEOUT_MS: a slow worker joins later; until then the others, and the calling thread, do its share),
   * with the first start error when no worker started (the pool is then useless: run single-threaded).
   */
  ready(): Promise<string | undefined>;
}

const READY_TIMEOUT_MS = 10_000;

/** A promise per worker, resolved by its first 'ready' message (undefined) or its start error (the message). */
function readiness(count: number): { promises: Promise<string | undefined>[]; resolve: (i: number, error?: string) => void } {
  const resolvers: ((error: string | undefined) => void)[] = [];
  const promises = Array.from({ length: count }, (_, i) => new Promise<string | undefined>((r) => (resolvers[i] = r)));
  return { promises, resolve: (i, error) => resolvers[i]?.(error) };
}

function allReady(promises: Promise<string | undefined>[]): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), READY_TIMEOUT_MS);
    (timer as { unref?: () => void }).unref?.();
  });
  const all = Promise.all(promises).then((errors) => (errors.every((e) => e !== undefined) ? `worker threads failed to start (${errors[0]})` : undefined));
  return Promise.race([all, timeout]).finally(() => clearTimeout(timer));
}

// Relative to this module (dist/wasm/pool-workers.js -> dist/wasm/pool-worker.js); a variable, so bundlers leave it.
const POOL_WORKER = './pool-worker.js';

const isNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** True on a browser's main thread (a window, not a worker), where Atomics.wait is forbidden. */
export function onBrowserMainThread(): boolean {
  const g = globalThis as { window?: unknown; document?: unknown };
  return !isNode() && g.window !== undefined && g.document !== undefined;
}

/**
 * Starts threads − 1 workers on `memory` (thread 0 is the caller), or returns why it cannot: no worker API, or
 * one that fails to construct (a page whose CSP forbids workers, a bundle without the worker file…).
 */
export async function startPoolWorkers(memory: WebAssembly.Memory, layout: PoolLayout): Promise<PoolWorkers | string> {
  try {
    if (isNode()) {
      const specifier = 'node:worker_threads';
      const wt = (await import(specifier)) as WorkerThreads;
      return startNode(wt, memory, layout);
    }
    if (typeof Worker === 'function') return startBrowser(memory, layout);
    return 'this engine has no Worker to run threads on';
  } catch (e) {
    return `cannot start worker threads (${(e as Error).message})`;
  }
}

function dataFor(memory: WebAssembly.Memory, layout: PoolLayout, thread: number): PoolWorkerData {
  return { memory, layout, thread };
}

/**
 * The flags a worker thread starts with: the parent's (undefined: Node's default), except when they hold
 * `--input-type`, which only applies to `-e`/stdin (`node --input-type=module -e '…'` would make every worker fail
 * to start): then none (an explicit list may not repeat process-wide flags either, so the others are dropped too;
 * V8 flags are process-wide and apply to workers anyway).
 */
export function workerExecArgv(): string[] | undefined {
  return process.execArgv.some((a) => a === '--input-type' || a.startsWith('--input-type=')) ? [] : undefined;
}

function startNode(wt: WorkerThreads, memory: WebAssembly.Memory, layout: PoolLayout): PoolWorkers {
  const workers: import('node:worker_threads').Worker[] = [];
  const { promises, resolve } = readiness(layout.threads - 1);
  for (let thread = 1; thread < layout.threads; thread++) {
    const worker = new wt.Worker(new URL(POOL_WORKER, import.meta.url), { workerData: dataFor(memory, layout, thread), execArgv: workerExecArgv() });
    // Referenced until it is ready (create() awaits that), then never keeps the process alive.
    worker.once('message', () => {
      worker.unref();
      resolve(thread - 1);
    });
    // A worker that fails leaves its groups to the others (threads claim work; none is assigned).
    worker.on('error', (e: Error) => {
      worker.unref();
      resolve(thread - 1, e.message);
    });
    workers.push(worker);
  }
  return {
    post: (m) => {
      for (const w of workers) w.postMessage(m);
    },
    terminate: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
    // After the timeout too: a worker that never got ready must not keep the process alive either.
    ready: () => allReady(promises).then((error) => {
      for (const w of workers) w.unref();
      return error;
    }),
  };
}

function startBrowser(memory: WebAssembly.Memory, layout: PoolLayout): PoolWorkers {
  const workers: Worker[] = [];
  const { promises, resolve } = readiness(layout.threads - 1);
  for (let thread = 1; thread < layout.threads; thread++) {
    const worker = new Worker(new URL(POOL_WORKER, import.meta.url), { type: 'module' });
    worker.onmessage = () => resolve(thread - 1);
    worker.onerror = (e) => resolve(thread - 1, e.message || 'error loading the worker script');
    worker.postMessage(dataFor(memory, layout, thread));
    workers.push(worker);
  }
  return {
    post: (m) => {
      for (const w of workers) w.postMessage(m);
    },
    terminate: async () => {
      for (const w of workers) w.terminate();
    },
    ready: () => allReady(promises),
  };
}
