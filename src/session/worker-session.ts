/**
 * The main-thread side of `worker: true` (Node): a worker thread (src/worker-entry.ts) holds its own
 * InferenceSession made from the same model and options; run() posts the feeds to it and awaits the outputs, so
 * the event loop keeps running meanwhile. Runs queue in the worker in call order. The worker is unref()ed while
 * idle (it never keeps the process alive) and ref()ed while a run is in flight (an awaited run must finish).
 *
 * node:worker_threads is imported dynamically, as the core reads files (session.ts readSource): browsers, Deno and
 * bundlers never see a static Node import.
 */
import { OptionError, SessionReleasedError, TinferError } from '../errors.js';
import { workerExecArgv } from '../wasm/pool-workers.js';
import {
  fromWireError,
  type FromWorker,
  type ToWorker,
  type WireSource,
  type WireTensor,
  type WorkerDescription,
  type WorkerInit,
  type WorkerSnapshot,
} from './worker-protocol.js';

type WorkerThreads = typeof import('node:worker_threads');
type NodeWorker = import('node:worker_threads').Worker;

interface Pending {
  resolve: (outputs: [string, WireTensor][]) => void;
  reject: (e: Error) => void;
}

// Relative to this module: dist/session/worker-session.js -> dist/worker-entry.js. A variable, so bundlers do not
// try to bundle the Node-only script into browser builds.
const WORKER_ENTRY = '../worker-entry.js';

export class WorkerSession {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private resets = 0;
  private dead: Error | undefined;
  private released = false;
  private terminated: Promise<void> | undefined;
  snapshot: WorkerSnapshot;

  private constructor(
    private readonly worker: NodeWorker,
    readonly description: WorkerDescription,
    snapshot: WorkerSnapshot,
  ) {
    this.snapshot = snapshot;
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (e: Error) => this.fail(new TinferError(`worker: the worker thread failed: ${e.message}`)));
    worker.on('exit', (code: number) => {
      if (!this.released) this.fail(new TinferError(`worker: the worker thread exited (code ${code})`));
    });
    worker.unref();
  }

  /** Starts the worker and waits until its session is made; errors of that (a bad model, a bad option) keep their class. */
  static async start(source: WireSource, options: Record<string, unknown>): Promise<WorkerSession> {
    const threads = await loadWorkerThreads();
    const init: WorkerInit = { source, options };
    let worker: NodeWorker;
    try {
      const transfer = source.kind === 'bytes' ? [source.bytes.buffer as ArrayBuffer] : [];
      worker = new threads.Worker(new URL(WORKER_ENTRY, import.meta.url), { workerData: init, transferList: transfer, execArgv: workerExecArgv() });
    } catch (e) {
      const msg = (e as Error).message;
      if ((e as Error).name === 'DataCloneError') throw new OptionError(`worker: true: the SessionOptions cannot be sent to the worker thread (${msg})`, 'worker');
      throw new OptionError(`worker: true: cannot start the worker thread: ${msg}`, 'worker');
    }
    return new Promise<WorkerSession>((resolve, reject) => {
      const onMessage = (m: FromWorker): void => {
        cleanup();
        if (m.kind === 'ready') resolve(new WorkerSession(worker, m.description, m.snapshot));
        else {
          void worker.terminate();
          reject(m.kind === 'failed' ? fromWireError(m.error) : new TinferError(`worker: unexpected first message '${m.kind}'`));
        }
      };
      const onError = (e: Error): void => {
        cleanup();
        void worker.terminate();
        reject(new OptionError(`worker: true: the worker thread failed to start: ${e.message}`, 'worker'));
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new OptionError(`worker: true: the worker thread exited (code ${code}) before its session was ready`, 'worker'));
      };
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  /** Posts one run (the feeds are copied now, so the caller may reuse them at once); resolves with the fetched outputs. */
  run(feeds: [string, WireTensor][], fetches: string[], options: object): Promise<[string, WireTensor][]> {
    if (this.released) return Promise.reject(new SessionReleasedError('run'));
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    const message: ToWorker = { kind: 'run', id, feeds, fetches, options };
    try {
      this.worker.postMessage(message);
    } catch (e) {
      const msg = (e as Error).message;
      return Promise.reject(new OptionError(`run(): the feeds or RunOptions cannot be sent to the worker thread (${msg})`, 'worker'));
    }
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  /** Clears the worker's profile after the runs already posted; until then profile() shows nothing older. */
  resetProfile(): void {
    if (this.released || this.dead) return;
    this.resets++;
    if (this.snapshot.profile) this.snapshot = { ...this.snapshot, profile: { ran: [], skipped: this.snapshot.profile.skipped } };
    this.worker.postMessage({ kind: 'resetProfile' } satisfies ToWorker);
  }

  /** Ends the worker thread; runs still queued reject with SessionReleasedError. */
  terminate(): Promise<void> {
    if (!this.terminated) {
      this.released = true;
      this.rejectAll(new SessionReleasedError('run'));
      this.terminated = this.worker.terminate().then(() => undefined);
    }
    return this.terminated;
  }

  private onMessage(m: FromWorker): void {
    if (m.kind !== 'result' && m.kind !== 'error') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker.unref();
    // A snapshot taken before a resetProfile the worker has not handled yet would bring the old profile back.
    if (m.snapshot && m.snapshot.resets === this.resets) this.snapshot = m.snapshot;
    else if (m.snapshot) this.snapshot = { ...m.snapshot, profile: this.snapshot.profile };
    if (m.kind === 'result') p.resolve(m.outputs);
    else p.reject(fromWireError(m.error));
  }

  private fail(e: Error): void {
    this.dead ??= e;
    this.rejectAll(e);
  }

  private rejectAll(e: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.worker.unref();
    for (const p of all) p.reject(e);
  }
}

async function loadWorkerThreads(): Promise<WorkerThreads> {
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (!isNode) throw new OptionError("worker: true needs Node's worker_threads (this engine is not Node); use run() without it", 'worker');
  try {
    const specifier = 'node:worker_threads';
    const threads = (await import(specifier)) as WorkerThreads;
    if (typeof threads.Worker !== 'function') throw new Error('no Worker class');
    return threads;
  } catch (e) {
    throw new OptionError(`worker: true needs Node's worker_threads, which this engine does not provide (${(e as Error).message})`, 'worker');
  }
}
