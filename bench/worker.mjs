// What `worker: true` costs and buys (issue 13): timer ticks during a run, added latency per run, memory.
// Needs a build (npm run build) and ../shared/models (mnist_cnn, mobilenet_v2, resnet18).
//   node bench/worker.mjs [--models mnist_cnn,resnet18] [--runs 20]
//   node bench/worker.mjs --memory plain|worker <model>   (one measurement, in a fresh process; the parent runs these)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceSession } from '../dist/index.js';
import { decodeTensor } from '../dist/loader/index.js';
import { fromTensorData } from '../dist/session/tensor.js';

const here = dirname(fileURLToPath(import.meta.url));
const zoo = resolve(here, '../../shared/models');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};

function feedsOf(name, session) {
  const ds = join(zoo, name, 'test_data_set_0');
  const inputs = readdirSync(ds).filter((f) => f.startsWith('input_')).sort().map((f) => decodeTensor(new Uint8Array(readFileSync(join(ds, f)))));
  return Object.fromEntries(session.inputNames.map((n, i) => [n, fromTensorData(inputs[i])]));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function ticksDuring(work) {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  clearInterval(timer);
  return { ticks, ms };
}

if (args[0] === '--memory') {
  // RSS growth from loading the model and running it once, in this fresh process.
  const [, mode, name] = args;
  const path = join(zoo, name, 'model.onnx');
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  const session = await InferenceSession.create(path, { worker: mode === 'worker' });
  await session.run(feedsOf(name, session));
  globalThis.gc?.();
  console.log(JSON.stringify({ rssMB: (process.memoryUsage().rss - before) / 2 ** 20 }));
  process.exit(0);
}

const models = flag('models', 'mnist_cnn,mobilenet_v2,resnet18').split(',').filter((m) => existsSync(join(zoo, m, 'model.onnx')));
const runs = Number(flag('runs', '20'));
console.log(`# worker: true — ${new Date().toISOString().slice(0, 10)}, node ${process.version}\n`);
console.log('| model | run() ms | with worker ms | added ms | ticks of a 5 ms timer during 5 runs | with worker | RSS after load+run MB | with worker MB |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const name of models) {
  const path = join(zoo, name, 'model.onnx');
  const plain = await InferenceSession.create(path);
  const worker = await InferenceSession.create(path, { worker: true });
  const feeds = feedsOf(name, plain);
  for (let i = 0; i < 3; i++) {
    await plain.run(feeds);
    await worker.run(feeds);
  }
  const a = [];
  const b = [];
  // Interleaved, so drift of the machine's load hits both alike.
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    await plain.run(feeds);
    a.push(performance.now() - t0);
    t0 = performance.now();
    await worker.run(feeds);
    b.push(performance.now() - t0);
  }
  // Five runs back to back, one await each, as an application would make them.
  const five = async (session) => {
    for (let i = 0; i < 5; i++) await session.run(feeds);
  };
  const tp = await ticksDuring(() => five(plain));
  const tw = await ticksDuring(() => five(worker));
  await worker.release();
  await plain.release();
  // Median of 3 fresh processes: RSS includes garbage the worker's heap has not collected yet, so it varies.
  const once = (mode) => JSON.parse(execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--memory', mode, name], { encoding: 'utf8' })).rssMB;
  const mem = (mode) => median([once(mode), once(mode), once(mode)]);
  const [mp, mw] = [mem('plain'), mem('worker')];
  const f = (x) => x.toFixed(2);
  console.log(`| ${name} | ${f(median(a))} | ${f(median(b))} | ${f(median(b) - median(a))} | ${tp.ticks} in ${tp.ms.toFixed(0)} ms | ${tw.ticks} in ${tw.ms.toFixed(0)} ms | ${mp.toFixed(0)} | ${mw.toFixed(0)} |`);
}
