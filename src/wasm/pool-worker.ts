/**
 * A worker thread of the intra-op pool, in Node (worker_threads: its data in workerData) or a browser (a module
 * Worker: its data in the first message): instantiates the modules the calling thread posts on the shared memory
 * and works on the batches it publishes (threads.ts runPoolWorker). Started by pool-workers.ts.
 */
import { runPoolWorker, type PoolModuleMessage, type PoolWorkerData } from './threads.js';

const later = (f: () => void): void => void setTimeout(f, 0);

if (typeof process !== 'undefined' && typeof process.versions?.node === 'string') {
  const specifier = 'node:worker_threads';
  const { parentPort, workerData } = (await import(specifier)) as typeof import('node:worker_threads');
  runPoolWorker(workerData as PoolWorkerData, (onModule) => parentPort!.on('message', onModule), later, () => parentPort!.close(), () => parentPort!.postMessage('ready'));
} else {
  const scope = globalThis as unknown as { onmessage: ((e: MessageEvent) => void) | null; close(): void; postMessage(m: unknown): void };
  let onModule: ((m: PoolModuleMessage) => void) | undefined;
  scope.onmessage = (e: MessageEvent) => {
    if (onModule !== undefined) onModule(e.data as PoolModuleMessage);
    else runPoolWorker(e.data as PoolWorkerData, (f) => (onModule = f), later, () => scope.close(), () => scope.postMessage('ready'));
  };
}
