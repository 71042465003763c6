// tinfer (backend auto -> wasm, and js) vs onnxruntime-web (wasm, 1 thread) and onnxruntime-node on the conv
// models, in INTERLEAVED rounds: each round runs every runtime once per model, so load from other processes on
// a shared machine hits all runtimes alike (bench/peers.mjs times each runtime in its own block). Medians of
// wall time after a 2 s warm-up each (V8 tiers wasm up in the background).
// Run after `npm run build` (peers installed in bench/peers/node_modules, see bench/peers.mjs):
//   node bench/conv-peers.mjs [--models a,b] [--rounds R] [--peers web,node] [--js]
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceSession } from '../dist/index.js';
import { decodeTensor } from '../dist/loader/index.js';
import { fromTensorData } from '../dist/session/tensor.js';
import { microModels } from './micro-models.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, 'peers', 'package.json'));
const zoo = resolve(here, '../../shared/models');
const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const models = flag('models', 'conv3x3_64_56,conv1x1_256_14,gemm_512,resnet18,mobilenet_v2,squeezenet1_1,shufflenet_v2_x1_0').split(',');
const rounds = Number(flag('rounds', '15'));
const peers = flag('peers', 'web,node').split(',').filter(Boolean);
const withJs = args.includes('--js');

function loadCase(name) {
  const micro = microModels[name];
  if (micro) return micro();
  const dir = join(zoo, name);
  if (!existsSync(join(dir, 'model.onnx'))) return undefined;
  const ds = join(dir, 'test_data_set_0');
  const inputs = readdirSync(ds).filter((f) => f.startsWith('input_')).sort()
    .map((f) => decodeTensor(new Uint8Array(readFileSync(join(ds, f)))));
  return { bytes: new Uint8Array(readFileSync(join(dir, 'model.onnx'))), inputs };
}

async function tinfer(c, backend) {
  const s = InferenceSession.createSync(c.bytes, { backend });
  const feeds = Object.fromEntries(s.inputNames.map((n, i) => [n, fromTensorData(c.inputs[i])]));
  return () => s.runSync(feeds);
}

async function ort(c, which) {
  const lib = require(which === 'web' ? 'onnxruntime-web' : 'onnxruntime-node');
  if (which === 'web') {
    lib.env.wasm.numThreads = 1;
    lib.env.wasm.proxy = false;
  }
  const opts = which === 'web' ? { executionProviders: ['wasm'] } : { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };
  const s = await lib.InferenceSession.create(c.bytes, opts);
  const feeds = Object.fromEntries(s.inputNames.map((n, i) => [n, new lib.Tensor(c.inputs[i].dtype, c.inputs[i].data, c.inputs[i].shape)]));
  return () => s.run(feeds);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const names = ['tinfer', ...(withJs ? ['tinfer-js'] : []), ...peers];
console.log(`interleaved rounds: ${rounds}, node ${process.version}`);
console.log(`| model | ${names.map((n) => `${n} ms`).join(' | ')} | ${peers.map((p) => `tinfer/${p}`).join(' | ')} |`);
console.log(`|---|${names.map(() => '---:').join('|')}|${peers.map(() => '---:').join('|')}|`);
for (const model of models) {
  const c = loadCase(model);
  if (!c) {
    console.error(`skip ${model}: not found`);
    continue;
  }
  const runs = {};
  runs.tinfer = await tinfer(c, 'auto');
  if (withJs) runs['tinfer-js'] = await tinfer(c, 'js');
  for (const p of peers) runs[p] = await ort(c, p);
  for (const f of Object.values(runs)) {
    const end = performance.now() + 2000;
    do await f();
    while (performance.now() < end);
  }
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      const t = performance.now();
      await runs[n]();
      times[n].push(performance.now() - t);
    }
  }
  const med = Object.fromEntries(names.map((n) => [n, median(times[n])]));
  console.log(`| ${model} | ${names.map((n) => med[n].toFixed(2)).join(' | ')} | ${peers.map((p) => (med.tinfer / med[p]).toFixed(2)).join(' | ')} |`);
}
