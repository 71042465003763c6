// tinfer's own benchmark (tinybench): micro-benchmarks and whole models, median ms and GFLOP/s.
// Run with `npm run bench` (builds first). Models come from ../shared/models when present.
//   node bench/bench.mjs [--models a,b] [--time ms]
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { InferenceSession } from '../dist/index.js';
import { decodeTensor } from '../dist/loader/index.js';
import { fromTensorData } from '../dist/session/tensor.js';
import { microModels } from './micro-models.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const zoo = resolve(here, '../../shared/models');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const MICRO = ['gemm_512', 'gemm_1024x1024x256', 'conv3x3_64_56', 'conv1x1_256_14', 'dwconv3x3_144_56'];
const MODELS = ['resnet18', 'mobilenet_v2', 'squeezenet1_1', 'shufflenet_v2_x1_0', 'tiny_bert', 'small_vit', 'lstm_seq', 'gru_seq'];
const wanted = flag('models', [...MICRO, ...MODELS].join(',')).split(',');
const time = Number(flag('time', '2000'));

function zooCase(name) {
  const dir = join(zoo, name);
  if (!existsSync(join(dir, 'model.onnx'))) return undefined;
  const ds = join(dir, 'test_data_set_0');
  const inputs = readdirSync(ds)
    .filter((f) => f.startsWith('input_'))
    .sort()
    .map((f) => decodeTensor(new Uint8Array(readFileSync(join(ds, f)))));
  return { bytes: new Uint8Array(readFileSync(join(dir, 'model.onnx'))), inputs };
}

const bench = new Bench({ time, warmupTime: 300, warmupIterations: 2, iterations: 5 });
const flops = {};
const loads = {};
for (const name of wanted) {
  const c = microModels[name]?.() ?? zooCase(name);
  if (!c) {
    console.error(`skip ${name}: not found (../shared/models absent?)`);
    continue;
  }
  const t0 = performance.now();
  const session = InferenceSession.createSync(c.bytes);
  loads[name] = performance.now() - t0;
  const feeds = Object.fromEntries(session.inputNames.map((n, i) => [n, fromTensorData(c.inputs[i])]));
  flops[name] = c.flops;
  bench.add(name, () => {
    session.runSync(feeds);
  });
}
await bench.run();

console.log(`# tinfer benchmark — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, 1 thread\n`);
console.log('| case | load ms | median ms | GFLOP/s | runs |\n|---|---:|---:|---:|---:|');
for (const task of bench.tasks) {
  const r = task.result;
  if (!r) continue;
  const med = r.p50 ?? r.median ?? r.mean;
  const gf = flops[task.name] ? (flops[task.name] / (med * 1e6)).toFixed(2) : '';
  console.log(`| ${task.name} | ${loads[task.name].toFixed(1)} | ${med.toFixed(2)} | ${gf} | ${r.samples.length} |`);
}
