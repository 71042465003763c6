// Compares tinfer with onnxruntime-node, onnxruntime-web (wasm, 1 thread) and onnxjs (pure JS) in one process.
// Run with `npm run bench:peers` (installs the peers into bench/peers/node_modules, never into tinfer's own
// dependencies). Prints a markdown table of medians and tinfer's latency ratio to each peer.
//   node bench/peers.mjs [--models a,b] [--peers node,web,onnxjs] [--seconds S] [--zoo DIR (models in the zoo layout)]
//                        [--threads N (intra-op threads of every runtime; default 1)]
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { InferenceSession, Tensor } from '../dist/index.js';
import { decodeTensor } from '../dist/loader/index.js';
import { fromTensorData } from '../dist/session/tensor.js';
import { microModels } from './micro-models.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, 'peers', 'package.json'));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const zoo = resolve(flag('zoo', join(here, '../../shared/models')));
const seconds = Number(flag('seconds', '3'));
const wantedPeers = flag('peers', 'tinfer-js,node,web,onnxjs').split(',');
const DEFAULT_MODELS = 'gemm_512,conv3x3_64_56,conv1x1_256_14,dwconv3x3_144_56,resnet18,mobilenet_v2,squeezenet1_1,shufflenet_v2_x1_0,tiny_bert,small_vit,lstm_seq,gru_seq,mnist_cnn';
const wantedModels = flag('models', DEFAULT_MODELS).split(',');
const threads = Number(flag('threads', '1'));

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs fn repeatedly: warm-up for `warmMs`, then timed runs for `seconds` (at least 5); returns the median ms. */
async function timeIt(fn, warmMs) {
  const warmEnd = performance.now() + warmMs;
  do await fn();
  while (performance.now() < warmEnd);
  const times = [];
  const end = performance.now() + seconds * 1000;
  while (times.length < 5 || (performance.now() < end && times.length < 500)) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return { median: median(times), runs: times.length };
}

/** The model's bytes and its first data set's inputs (from ../shared/models) or a generated micro model. */
function loadCase(name) {
  const micro = microModels[name];
  if (micro) return micro();
  const dir = join(zoo, name);
  if (!existsSync(join(dir, 'model.onnx'))) return undefined;
  const ds = join(dir, 'test_data_set_0');
  const inputs = readdirSync(ds)
    .filter((f) => f.startsWith('input_'))
    .sort()
    .map((f) => decodeTensor(new Uint8Array(readFileSync(join(ds, f)))));
  return { bytes: new Uint8Array(readFileSync(join(dir, 'model.onnx'))), inputs, flops: undefined };
}

/** tinfer on a backend: 'auto' (wasm SIMD where available) or 'js' (pure JavaScript kernels). */
function tinferRunner(backend) {
  return async (c) => {
    const t0 = performance.now();
    const s = await InferenceSession.create(c.bytes, { backend, intraOpNumThreads: threads });
    const loadMs = performance.now() - t0;
    const feeds = Object.fromEntries(s.inputNames.map((n, i) => [n, fromTensorData(c.inputs[i])]));
    return { loadMs, run: () => s.runSync(feeds), output: () => s.runSync(feeds)[s.outputNames[0]].data };
  };
}

const runners = {
  tinfer: tinferRunner('auto'),
  'tinfer-js': tinferRunner('js'),
  node: async (c) => {
    const ort = require('onnxruntime-node');
    const t0 = performance.now();
    const s = await ort.InferenceSession.create(c.bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
    const loadMs = performance.now() - t0;
    const feeds = Object.fromEntries(s.inputNames.map((n, i) => [n, new ort.Tensor(c.inputs[i].dtype, c.inputs[i].data, c.inputs[i].shape)]));
    return { loadMs, run: () => s.run(feeds), output: async () => (await s.run(feeds))[s.outputNames[0]].data };
  },
  web: async (c) => {
    const ort = require('onnxruntime-web');
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
    const t0 = performance.now();
    const s = await ort.InferenceSession.create(c.bytes, { executionProviders: ['wasm'] });
    const loadMs = performance.now() - t0;
    const feeds = Object.fromEntries(s.inputNames.map((n, i) => [n, new ort.Tensor(c.inputs[i].dtype, c.inputs[i].data, c.inputs[i].shape)]));
    // V8 tiers the wasm up in the background: give it at least 2 s of warm-up before timing.
    return { loadMs, warmMs: 2000, run: () => s.run(feeds), output: async () => (await s.run(feeds))[s.outputNames[0]].data };
  },
  onnxjs: async (c) => {
    const onnx = require('onnxjs');
    const t0 = performance.now();
    const s = new onnx.InferenceSession({ backendHint: 'cpu' });
    await s.loadModel(Buffer.from(c.bytes));
    const loadMs = performance.now() - t0;
    const feeds = c.inputs.map((t) => new onnx.Tensor(t.data instanceof BigInt64Array ? Int32Array.from(t.data, Number) : t.data, t.dtype === 'int64' ? 'int32' : t.dtype, t.shape));
    return { loadMs, run: () => s.run(feeds), output: async () => [...(await s.run(feeds)).values()][0].data };
  },
};

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - Number(b[i])));
  return m;
}

async function main() {
  const names = ['tinfer', ...wantedPeers.filter((p) => p in runners)];
  console.log(`# tinfer vs peers — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${os.cpus()[0]?.model ?? os.arch()}, ${threads} thread${threads === 1 ? '' : 's'}, medians over ${seconds} s per runtime\n`);
  const header = ['model', ...names.map((n) => `${n} ms`), ...names.slice(1).map((n) => `tinfer/${n}`), 'max |tinfer-ort|', `load ms (${names.join(' / ')})`];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const model of wantedModels) {
    const c = loadCase(model);
    if (!c) {
      console.error(`skip ${model}: not found (../shared/models absent?)`);
      continue;
    }
    const medians = {};
    const outputs = {};
    const loadMs = {};
    for (const name of names) {
      try {
        const r = await runners[name](c);
        const { median: ms } = await timeIt(r.run, r.warmMs ?? 300);
        medians[name] = ms;
        loadMs[name] = r.loadMs;
        outputs[name] = await r.output();
        console.error(`${model} ${name}: load ${r.loadMs.toFixed(1)} ms, median ${ms.toFixed(2)} ms`);
      } catch (e) {
        console.error(`${model} ${name}: failed: ${String(e?.message ?? e).split('\n')[0]}`);
      }
    }
    const t = medians.tinfer;
    const gf = c.flops ? ` (${(c.flops / (t * 1e6)).toFixed(2)} GFLOP/s)` : '';
    const cells = names.map((n) => (medians[n] === undefined ? 'fails' : `${medians[n].toFixed(2)}${n === 'tinfer' ? gf : ''}`));
    const ratios = names.slice(1).map((n) => (medians[n] === undefined || t === undefined ? '–' : (t / medians[n]).toFixed(2)));
    const loads = names.map((n) => (loadMs[n] === undefined ? '–' : loadMs[n].toFixed(0))).join(' / ');
    const diff = outputs.tinfer && outputs.node ? maxAbsDiff(outputs.tinfer, outputs.node).toExponential(1) : '–';
    lines.push(`| ${model} | ${cells.join(' | ')} | ${ratios.join(' | ')} | ${diff} | ${loads} |`);
  }
  console.log(lines.join('\n'));
}

await main();
