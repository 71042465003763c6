/**
 * The worker thread of a `worker: true` session (Node edge, like node.ts): makes its own InferenceSession from the
 * bytes or path in workerData, then runs each posted run in order and replies with the outputs (their buffers
 * transferred) and a snapshot for the main side's memory() and profile(). Errors go back as WireErrors.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InferenceSession } from './session/session.js';
import { Tensor } from './session/tensor.js';
import { toWireError, transferables, type FromWorker, type ToWorker, type WireTensor, type WorkerInit, type WorkerSnapshot } from './session/worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('tinfer worker-entry: load this file as a worker thread (worker: true does)');

const init = workerData as WorkerInit;
let resets = 0;
let session: InferenceSession | undefined;
try {
  session = await InferenceSession.create(init.source.kind === 'bytes' ? init.source.bytes : init.source.href, init.options);
} catch (e) {
  port.postMessage({ kind: 'failed', error: toWireError(e) } satisfies FromWorker);
}

if (session) {
  const s = session;
  const allInputNames = s.model.graph.inputs.map((v) => v.name);
  port.postMessage({
    kind: 'ready',
    description: {
      inputNames: [...s.inputNames],
      allInputNames,
      outputNames: [...s.outputNames],
      inputMetadata: [...s.inputMetadata],
      outputMetadata: [...s.outputMetadata],
      passNotes: [...s.passNotes],
      backend: s.backend,
      backendInfo: s.backendInfo,
    },
    snapshot: snapshot(s),
  } satisfies FromWorker);
  port.on('message', (m: ToWorker) => {
    if (m.kind === 'resetProfile') {
      s.resetProfile();
      resets++;
      return;
    }
    // Runs are synchronous here, so messages are handled one at a time, in the order they were posted.
    try {
      const feeds: Record<string, Tensor> = {};
      for (const [name, t] of m.feeds) feeds[name] = new Tensor(t.type, t.data, t.dims);
      const out = s.runSync(feeds, m.fetches, m.options);
      const outputs: [string, WireTensor][] = Object.entries(out).map(([name, t]) => [name, { type: t.type, dims: [...t.dims], data: t.data }]);
      port.postMessage({ kind: 'result', id: m.id, outputs, snapshot: snapshot(s) } satisfies FromWorker, transferables(outputs.map(([, t]) => t)));
    } catch (e) {
      port.postMessage({ kind: 'error', id: m.id, error: toWireError(e), snapshot: snapshot(s) } satisfies FromWorker);
    }
  });
}

function snapshot(s: InferenceSession): WorkerSnapshot {
  const profiling = init.options.profile === true;
  const ran = profiling ? s.profile() : [];
  const all = profiling ? s.profile({ skipped: true }) : [];
  return { memory: s.memory(), planKind: s.planKind, profile: profiling ? { ran, skipped: all.slice(ran.length) } : undefined, resets };
}
