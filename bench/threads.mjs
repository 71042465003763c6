// Intra-op threads: tinfer and onnxruntime-node (and onnxruntime-web when it runs threaded here) at 1, 2, …
// threads on the same models in one process, rounds interleaved so load from elsewhere hits every
// configuration alike. Prints per-model medians, each runtime's speed-up over its own 1-thread run, and
// tinfer's ratio to each peer at the same thread count; then the pool's dispatch overhead (µs per batch).
//   node bench/threads.mjs [--threads 1,2] [--models resnet18,mobilenet_v2 | paths to .onnx]
//                          [--zoo DIR] [--rounds R] [--runs N (per round)] [--peers node,web]
// Models are names in the zoo layout (../shared/models/<name>/model.onnx), or .onnx paths whose inputs get
// deterministic values (symbolic dims 1). Peers come from bench/peers (`npm --prefix bench/peers ci`).
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const zoo = resolve(flag('zoo', join(here, '../../shared/models')));
const threadCounts = flag('threads', '1,2').split(',').map(Number);
const rounds = Number(flag('rounds', '5'));
const runsPerRound = Number(flag('runs', '4'));
const wantedPeers = flag('peers', 'node').split(',').filter(Boolean);
const models = flag('models', 'resnet18,mobilenet_v2,squeezenet1_1,shufflenet_v2_x1_0').split(',');

const { InferenceSession, Tensor } = await import('../dist/index.js');
const { decodeTensor } = await import('../dist/loader/index.js');
const require = createRequire(join(here, 'peers', 'package.json'));

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** [{ name, dtype, dims, data }] for the model: the zoo's first data set, or deterministic values. */
function inputsFor(name, session) {
  const dir = join(zoo, name, 'test_data_set_0');
  if (existsSync(dir)) {
    return readdirSync(dir).filter((f) => f.startsWith('input_')).sort().map((f, i) => {
      const t = decodeTensor(new Uint8Array(readFileSync(join(dir, f))));
      return { name: session.inputNames[i], dtype: t.dtype, dims: t.shape, data: t.data };
    });
  }
  return session.inputMetadata.map((m) => {
    const dims = m.shape.map((d) => (typeof d === 'number' ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37);
    return { name: m.name, dtype: 'float32', dims, data };
  });
}

function modelPath(m) {
  return m.endsWith('.onnx') ? resolve(m) : join(zoo, m, 'model.onnx');
}

async function configsFor(m) {
  const path = modelPath(m);
  const configs = [];
  for (const threads of threadCounts) {
    const s = await InferenceSession.create(path, { intraOpNumThreads: threads });
    const inputs = inputsFor(m, s);
    const feeds = Object.fromEntries(inputs.map((t) => [t.name, new Tensor(t.dtype, t.data, t.dims)]));
    configs.push({ runtime: 'tinfer', threads, run: () => s.runSync(feeds), close: () => s.release(), info: s.backendInfo });
    if (wantedPeers.includes('node')) {
      const ort = require('onnxruntime-node');
      const o = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
      const of = Object.fromEntries(inputs.map((t) => [t.name, new ort.Tensor(t.dtype, t.data, t.dims)]));
      configs.push({ runtime: 'ort-node', threads, run: () => o.run(of), close: () => o.release?.() });
    }
  }
  return configs;
}

async function main() {
  console.log(`# threads — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${os.cpus()[0]?.model ?? os.arch()} (${os.availableParallelism?.() ?? os.cpus().length} cores), ${rounds} rounds × ${runsPerRound} runs, interleaved\n`);
  const rows = [];
  for (const m of models) {
    if (!existsSync(modelPath(m))) {
      console.error(`skip ${m}: ${modelPath(m)} not found`);
      continue;
    }
    const configs = await configsFor(m);
    for (const c of configs) for (let i = 0; i < 3; i++) await c.run();
    const times = configs.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let ci = 0; ci < configs.length; ci++) {
        for (let i = 0; i < runsPerRound; i++) {
          const t0 = performance.now();
          await configs[ci].run();
          times[ci].push(performance.now() - t0);
        }
      }
    }
    const med = configs.map((c, i) => ({ runtime: c.runtime, threads: c.threads, ms: median(times[i]) }));
    for (const c of configs) await c.close();
    const get = (rt, t) => med.find((x) => x.runtime === rt && x.threads === t)?.ms;
    const cells = [basename(m, '.onnx') === 'model' ? basename(dirname(resolve(m))) : basename(m, '.onnx')];
    for (const rt of ['tinfer', ...(wantedPeers.includes('node') ? ['ort-node'] : [])]) {
      for (const t of threadCounts) cells.push(get(rt, t)?.toFixed(2) ?? '–');
      for (const t of threadCounts.slice(1)) cells.push(`${(get(rt, threadCounts[0]) / get(rt, t)).toFixed(2)}×`);
    }
    if (wantedPeers.includes('node')) for (const t of threadCounts) cells.push((get('tinfer', t) / get('ort-node', t)).toFixed(2));
    rows.push(`| ${cells.join(' | ')} |`);
    console.error(`${m}: ${cells.slice(1).join(' ')}`);
  }
  const head = ['model'];
  for (const rt of ['tinfer', ...(wantedPeers.includes('node') ? ['ort-node'] : [])]) {
    for (const t of threadCounts) head.push(`${rt} ${t}t ms`);
    for (const t of threadCounts.slice(1)) head.push(`${rt} ${t}t speed-up`);
  }
  if (wantedPeers.includes('node')) for (const t of threadCounts) head.push(`tinfer/ort-node ${t}t`);
  console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|\n${rows.join('\n')}`);
  await dispatchOverhead();
}

/** µs per published batch of `threads` trivial groups (a 16-float clamp each): the pool's fixed cost. */
async function dispatchOverhead() {
  const { WasmContext } = await import('../dist/wasm/context.js');
  for (const threads of threadCounts.filter((t) => t > 1)) {
    const ctx = await WasmContext.createAsync({ threads });
    const pool = ctx.pool;
    if (pool === undefined) continue;
    const at = ctx.alloc(64 * threads);
    const clamp = ctx.kernels.elementwise.clamp;
    const batch = () => pool.batch(() => {
      for (let t = 0; t < threads; t++) {
        pool.group();
        pool.call(clamp, [at + 64 * t, at + 64 * t, 16, 0, 1]);
      }
    });
    for (let i = 0; i < 2000; i++) batch();
    const samples = [];
    for (let r = 0; r < 20; r++) {
      const t0 = performance.now();
      for (let i = 0; i < 500; i++) batch();
      samples.push(((performance.now() - t0) * 1000) / 500);
    }
    console.log(`\ndispatch overhead at ${threads} threads: ${median(samples).toFixed(2)} µs per batch (median of 20 × 500 batches, back to back)`);
    await ctx.close();
  }
}

await main();
