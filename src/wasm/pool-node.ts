/**
 * Starts the intra-op pool's worker threads on Node (worker_threads, imported dynamically so browsers and
 * bundlers never see a Node import). Workers are unref()ed: they never keep the process alive.
 */
import type { PoolLayout, PoolModuleMessage } from './threads.js';

type WorkerThreads = typeof import('node:worker_threads');

/** Handles to the started workers. */
export interface PoolWorkers {
  /** Sends a module to every worker (queued until each reads it, before its next batch). */
  post(m: PoolModuleMessage): void;
  /** Ends the workers. */
  terminate(): Promise<void>;
}

// Relative to this module (dist/wasm/pool-node.js -> dist/wasm/pool-worker.js); a variable, so bundlers leave it.
const POOL_WORKER = './pool-worker.js';

/** Node's worker_threads, or undefined on an engine without them. */
export async function loadWorkerThreads(): Promise<WorkerThreads | undefined> {
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (!isNode) return undefined;
  try {
    const specifier = 'node:worker_threads';
    const threads = (await import(specifier)) as WorkerThreads;
    return typeof threads.Worker === 'function' ? threads : undefined;
  } catch {
    return undefined;
  }
}

/** Starts threads − 1 workers on `memory` (thread 0 is the caller). */
export function startNodeWorkers(wt: WorkerThreads, memory: WebAssembly.Memory, layout: PoolLayout): PoolWorkers {
  const ports: import('node:worker_threads').MessagePort[] = [];
  const workers: import('node:worker_threads').Worker[] = [];
  for (let thread = 1; thread < layout.threads; thread++) {
    const { port1, port2 } = new wt.MessageChannel();
    const worker = new wt.Worker(new URL(POOL_WORKER, import.meta.url), {
      workerData: { memory, layout, thread, port: port2 },
      transferList: [port2],
    });
    worker.unref();
    // A worker that fails leaves its groups to the others (threads claim work; none is assigned).
    worker.on('error', () => undefined);
    port1.unref();
    ports.push(port1);
    workers.push(worker);
  }
  return {
    post: (m) => {
      for (const p of ports) p.postMessage(m);
    },
    terminate: async () => {
      for (const p of ports) p.close();
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
