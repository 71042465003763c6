// Cold start and footprint, tinfer against onnxruntime-node (and optionally onnxruntime-web), every measurement in a
// fresh process: InferenceSession.create from the model's path, the first run, the median of the next runs, and
// the process's peak RSS (`process.resourceUsage().maxRSS`). One thread for every runtime. Inputs come from the
// model folder's test_data_set_0 when it has one, else from the declared input dims (symbolic dims as 1).
//   node bench/cold-start.mjs MODEL.onnx|DIR ... [--runtimes tinfer,node,web] [--reps 5] [--runs 10]
// Medians over --reps processes per (model, runtime). Build tinfer first (npm run build); peers from bench/peers.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);

if (args[0] === '--child') await child(args[1], args[2], Number(args[3]));
else parent();

function flag(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function parent() {
  const valued = new Set(['--runtimes', '--reps', '--runs']);
  const models = args.filter((a, i) => !a.startsWith('--') && !valued.has(args[i - 1]))
    .map((m) => (existsSync(m) && statSync(m).isDirectory() ? join(m, 'model.onnx') : m));
  if (models.length === 0) {
    console.error('usage: node bench/cold-start.mjs MODEL.onnx|DIR ... [--runtimes tinfer,node,web] [--reps 5] [--runs 10]');
    process.exit(2);
  }
  const runtimes = flag('runtimes', 'tinfer,node').split(',');
  const reps = Number(flag('reps', '5'));
  const runs = Number(flag('runs', '10'));
  console.log(`cold start: fresh process per measurement, medians of ${reps}; node ${process.version}, 1 thread\n`);
  console.log(`| model | ${runtimes.map((r) => `${r} create / first / steady ms, peak RSS MB`).join(' | ')} | create tinfer/${runtimes[1] ?? '–'} |`);
  console.log(`|---|${runtimes.map(() => '---').join('|')}|---:|`);
  for (const model of models) {
    const cells = [];
    const creates = {};
    for (const rt of runtimes) {
      const rows = [];
      for (let r = 0; r < reps; r++) {
        const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', rt, resolve(model), String(runs)], { encoding: 'utf8' });
        const line = out.stdout.trim().split('\n').pop() ?? '';
        if (out.status !== 0 || !line.startsWith('{')) {
          console.error(`${model} ${rt}: ${out.stderr.trim().split('\n').slice(-1)[0] ?? 'failed'}`);
          break;
        }
        rows.push(JSON.parse(line));
      }
      if (rows.length === 0) {
        cells.push('–');
        continue;
      }
      const m = (k) => median(rows.map((x) => x[k]));
      creates[rt] = m('create');
      cells.push(`${m('create').toFixed(1)} / ${m('first').toFixed(1)} / ${m('steady').toFixed(2)}, ${Math.round(m('rssKB') / 1024)}`);
    }
    const ratio = runtimes[1] && creates[runtimes[0]] && creates[runtimes[1]] ? (creates[runtimes[0]] / creates[runtimes[1]]).toFixed(2) : '–';
    console.log(`| ${model} | ${cells.join(' | ')} | ${ratio} |`);
  }
}

async function loadRuntime(rt) {
  if (rt === 'tinfer') return import(pathToFileURL(join(here, '..', 'dist', 'index.js')).href);
  const require = createRequire(join(here, 'peers', 'package.json'));
  if (rt === 'node') return require('onnxruntime-node');
  const web = require('onnxruntime-web');
  web.env.wasm.numThreads = 1;
  web.env.wasm.proxy = false;
  return web;
}

/** Feeds: the folder's test_data_set_0 inputs, else a fixed pattern of the declared dims (symbolic dims as 1). */
async function feedsFor(ort, session, model) {
  const { decodeTensor } = await import(pathToFileURL(join(here, '..', 'dist', 'loader', 'index.js')).href);
  const dir = join(dirname(model), 'test_data_set_0');
  const feeds = {};
  if (existsSync(dir)) {
    readdirSync(dir).filter((f) => f.startsWith('input_')).sort().forEach((f, i) => {
      const t = decodeTensor(new Uint8Array(readFileSync(join(dir, f))));
      feeds[session.inputNames[i]] = new ort.Tensor(t.dtype, t.data, t.shape);
    });
    return feeds;
  }
  // The session's own metadata (onnxruntime-common 1.30 and tinfer: {name, type, shape}): no second session.
  for (const m of session.inputMetadata) {
    const dims = m.shape.map((d) => (typeof d === 'number' ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    const data = m.type === 'float32' ? Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.001))
      : m.type === 'float16' ? new Uint16Array(n)
      : m.type === 'int64' ? new BigInt64Array(n) : new Float32Array(n);
    feeds[m.name] = new ort.Tensor(m.type, data, dims);
  }
  return feeds;
}

async function child(rt, model, runs) {
  const ort = await loadRuntime(rt);
  const options = rt === 'tinfer' ? {} : { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(model, options);
  const create = performance.now() - t0;
  const feeds = await feedsFor(ort, session, model);
  const t1 = performance.now();
  await session.run(feeds);
  const first = performance.now() - t1;
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t);
  }
  console.log(JSON.stringify({ create, first, steady: median(times), rssKB: process.resourceUsage().maxRSS }));
  process.exit(0);
}
