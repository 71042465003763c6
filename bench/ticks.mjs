// How much of the event loop a model leaves to the app: a setInterval(…, 1) counts its ticks during 2 s of
// back-to-back `await session.run()`, at N intra-op threads, on the calling thread or with `worker: true`.
//   node bench/ticks.mjs MODEL.onnx [threads (default 1)] [worker]
// Prints runs, ms per run and the ticks as a share of the interval's nominal count (an idle loop gets ~90 %).
import { InferenceSession, Tensor } from '../dist/index.js';

const [path, threads = '1', worker = ''] = process.argv.slice(2);
if (!path) {
  console.error('usage: node bench/ticks.mjs MODEL.onnx [threads] [worker]');
  process.exit(2);
}
const s = await InferenceSession.create(path, { intraOpNumThreads: Number(threads), worker: worker === 'worker' });
const dims = s.inputMetadata[0].shape.map((d) => (typeof d === 'number' ? d : 1));
const feeds = { [s.inputNames[0]]: new Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5), dims) };
await s.run(feeds);
await s.run(feeds);
let ticks = 0;
const timer = setInterval(() => ticks++, 1);
const t0 = performance.now();
let runs = 0;
while (performance.now() - t0 < 2000) {
  await s.run(feeds);
  runs++;
}
const ms = performance.now() - t0;
clearInterval(timer);
console.log(`${path}: threads=${threads}${worker ? ' worker' : ''}: ${runs} runs, ${(ms / runs).toFixed(1)} ms/run, ${ticks} ticks in ${ms.toFixed(0)} ms (${((100 * ticks) / ms).toFixed(0)} %)`);
await s.release();
