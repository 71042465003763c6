// transformers.js pipelines (@huggingface/transformers, test/transformers' sub-package) on tinfer, onnxruntime-node
// and onnxruntime-web: first-result time, per-call latency and the distance of the outputs to onnxruntime-node's.
//   npm run build && npm run setup:transformers
//   node bench/transformers.mjs [--runs N (timed calls per child, default 30)] [--warmup N (default 3)]
//        [--rounds R (default 3)] [--tasks feature-extraction,text-classification] [--dtypes fp32,q8,fp16]
//        [--runtimes tinfer,node,web] [--fixtures DIR (default .tmp/hf-fixtures, built if missing)]
//        [--lengths (each warm-up/timed call on ONE sentence of 1, 2, ... 24 words in turn: a new input shape
//        per call)] [--web-from peers|transformers (onnxruntime-web from bench/peers, default, or the one
//        transformers.js pins)] [--dist DIR (a tinfer build to use instead of dist/, e.g. a copy that a rebuild cannot
//        change mid-run)] [--json FILE] [--cpu-prof DIR (node --cpu-prof for every child, into
//        DIR/<runtime>-<task>-<dtype>-<round>/)]
//
// Every (task, dtype, runtime) runs in a fresh child process, in a temp tree made by test/transformers/harness.mjs'
// makeTree, where `onnxruntime-node` (what transformers.js loads in Node) is:
//   tinfer: tinfer's package as an npm override installs it;  node: the real onnxruntime-node;
//   web:    a CommonJS shim exporting onnxruntime-web's Node build (wasm, 1 thread, its .wasm from disk), so that
//           transformers.js runs the same code path on it (device 'cpu', which onnxruntime-web maps to its wasm
//           backend); the real onnxruntime-node is not loaded in that child.
// The child is this file, copied into the tree and run with --child. Rounds interleave the runtimes (the order rotates
// each round); the table gives medians over rounds. Every runtime gets intraOpNumThreads 1 / interOpNumThreads 1
// through the pipeline's session_options (onnxruntime-web: env.wasm.numThreads = 1).
//
// Measured in the child: t0 is taken before importing transformers.js; "first result" is t0 -> the first pipeline
// call's result (import + session creation + first call). Per call: the pipeline on the same SENTENCES each call
// (feature-extraction: mean pooling + normalize; text-classification: default top_k 1), after --warmup calls; with
// --lengths, call i runs one sentence of (i mod 24) + 1 words instead, so that the input shape changes every call.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SENTENCES = ['This movie was great!', "I didn't love the food, it was awful and slow.", 'It runs on a Pi.', 'The film was not very good, but the model is fast.'];
const WORDS = 'the movie was great and the food was awful but it runs on a pi very fast'.split(' ');
const LENGTHS = Array.from({ length: 24 }, (_, n) => Array.from({ length: n + 1 }, (_, i) => WORDS[i % WORDS.length]).join(' '));
const MODELS = { 'feature-extraction': 'tiny-bert-feature-extraction', 'text-classification': 'tiny-bert-text-classification' };
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length ? (s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2) : NaN;
};

if (process.argv[2] === '--child') await child();
else await parent();

// ------------------------------------------------------------------------------------------------ child
async function child() {
  const t0 = performance.now();
  const job = JSON.parse(process.env.TJS_BENCH_JOB);
  const emit = (o) => process.stdout.write(`TJS_BENCH ${JSON.stringify(o)}\n`);
  try {
    const { pipeline, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = job.modelsDir;
    env.useFSCache = false;
    const tImport = performance.now();
    const pipe = await pipeline(job.task, MODELS[job.task], {
      local_files_only: true,
      dtype: job.dtype,
      device: 'cpu',
      session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
    });
    const tLoad = performance.now();
    const fe = job.task === 'feature-extraction';
    const call = (texts = SENTENCES) => (fe ? pipe(texts, { pooling: 'mean', normalize: true }) : pipe(texts));
    const nth = (i) => (job.lengths ? LENGTHS[i % LENGTHS.length] : SENTENCES);
    const first = await call();
    const tFirst = performance.now();
    for (let i = 0; i < job.warmup; i++) await call(nth(i));
    const times = [];
    for (let i = job.warmup; i < job.warmup + job.runs; i++) {
      const t = performance.now();
      await call(nth(i));
      times.push(performance.now() - t);
    }
    // Outputs, after timing: the model's own output (last_hidden_state / logits) and the pipeline's (the pooled,
    // normalized embeddings / the top label's score).
    const plain = (t) => ({ dims: t.dims, data: Array.from(t.data, Number) });
    let raw, out, labels;
    if (fe) {
      raw = plain(await pipe(SENTENCES));
      out = plain(first);
    } else {
      const inputs = pipe.tokenizer(SENTENCES, { padding: true, truncation: true });
      raw = plain((await pipe.model(inputs)).logits);
      out = { dims: [first.length], data: first.map((r) => r.score) };
      labels = first.map((r) => r.label);
    }
    emit({
      ok: true,
      bootMs: t0, // the Node process' own start-up before the measurement (performance.now() is from process start)
      importMs: tImport - t0,
      loadMs: tLoad - tImport,
      firstCallMs: tFirst - tLoad,
      firstResultMs: tFirst - t0,
      perCallMs: median(times),
      minMs: Math.min(...times),
      raw,
      out,
      labels,
    });
    await pipe.dispose?.().catch(() => {});
  } catch (e) {
    emit({ ok: false, error: String(e?.stack ?? e).split('\n').slice(0, 6).join('\n') });
  }
}

// ------------------------------------------------------------------------------------------------ parent
async function parent() {
  const here = dirname(fileURLToPath(import.meta.url));
  const repo = resolve(here, '..');
  const harness = await import(pathToFileURL(join(repo, 'test/transformers/harness.mjs')).href);
  const args = process.argv.slice(2);
  const flag = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const runs = Number(flag('runs', '30'));
  const warmup = Number(flag('warmup', '3'));
  const rounds = Number(flag('rounds', '3'));
  const tasks = flag('tasks', 'feature-extraction,text-classification').split(',');
  const dtypes = flag('dtypes', 'fp32,q8,fp16').split(',');
  const runtimes = flag('runtimes', 'tinfer,node,web').split(',');
  const webFrom = flag('web-from', 'peers');
  const jsonOut = flag('json');
  const lengths = args.includes('--lengths');
  const dist = resolve(flag('dist', join(repo, 'dist')));
  const cpuProf = flag('cpu-prof') && resolve(flag('cpu-prof'));
  for (const t of tasks) if (!MODELS[t]) throw new Error(`unknown task ${t} (${Object.keys(MODELS).join(', ')})`);

  if (!harness.transformersInstalled()) {
    console.error('@huggingface/transformers is not installed: npm run setup:transformers');
    process.exit(2);
  }
  if (!existsSync(join(dist, 'index.js'))) {
    console.error(`no ${dist}/index.js: npm run build`);
    process.exit(2);
  }
  const fx = harness.ensureFixtures(resolve(flag('fixtures', join(repo, '.tmp/hf-fixtures'))));
  if (fx.skip) {
    console.error(fx.skip);
    process.exit(2);
  }

  // onnxruntime-web: bench/peers' (the same release as the onnxruntime-node transformers.js pins) or the one
  // transformers.js itself pins for browsers (--web-from transformers).
  const webDir = webFrom === 'transformers' ? join(harness.SUB_MODULES, 'onnxruntime-web') : join(repo, 'bench/peers/node_modules/onnxruntime-web');
  const version = (d) => (existsSync(join(d, 'package.json')) ? JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).version : undefined);
  const versions = { transformers: harness.transformersVersion(), node: version(harness.realOrtDir() ?? ''), web: version(webDir), tinfer: version(repo) };
  const skipped = {};
  if (runtimes.includes('web') && !versions.web) skipped.web = `no onnxruntime-web at ${webDir} (ONNXRUNTIME_NODE_INSTALL=skip npm --prefix bench/peers ci)`;
  if (runtimes.includes('node') && !versions.node) skipped.node = 'no onnxruntime-node installed';

  const root = mkdtempSync(join(tmpdir(), 'tinfer-tjs-bench-'));
  const trees = {};
  try {
    for (const rt of runtimes) {
      if (skipped[rt]) continue;
      const sub = join(root, rt);
      mkdirSync(sub);
      const dir = harness.makeTree(rt === 'tinfer' ? 'tinfer' : 'ort', sub);
      if (rt === 'tinfer' && dist !== join(repo, 'dist')) {
        const link = join(dir, 'node_modules/onnxruntime-node/dist');
        unlinkSync(link);
        symlinkSync(dist, link);
      }
      if (rt === 'web') {
        const ortDir = join(dir, 'node_modules/onnxruntime-node');
        unlinkSync(ortDir); // the symlink to the real onnxruntime-node
        mkdirSync(ortDir);
        writeFileSync(join(ortDir, 'package.json'), JSON.stringify({ name: 'onnxruntime-node', version: `0.0.0-web-${versions.web}`, main: 'index.cjs' }));
        writeFileSync(
          join(ortDir, 'index.cjs'),
          `'use strict';\n` +
            `const ort = require(${JSON.stringify(join(webDir, 'dist/ort.node.min.js'))});\n` +
            `ort.env.wasm.numThreads = 1;\nort.env.wasm.proxy = false;\n` +
            `// transformers.js points wasmPaths at a CDN when it is unset: load the .wasm from disk instead.\n` +
            `ort.env.wasm.wasmPaths = ${JSON.stringify(join(webDir, 'dist') + '/')};\n` +
            `module.exports = ort;\n`,
        );
      } else if (!['tinfer', 'node'].includes(rt)) throw new Error(`unknown runtime ${rt} (tinfer, node, web)`);
      cpSync(fileURLToPath(import.meta.url), join(dir, 'bench-transformers.mjs'));
      trees[rt] = dir;
    }

    const results = {}; // key task|dtype|rt -> [child records]
    const jobs = tasks.flatMap((task) => dtypes.map((dtype) => ({ task, dtype })));
    const active = runtimes.filter((rt) => trees[rt]);
    for (let r = 0; r < rounds; r++) {
      for (const { task, dtype } of jobs) {
        const order = active.map((_, i) => active[(i + r) % active.length]);
        for (const rt of order) {
          const prof = cpuProf ? ['--cpu-prof', '--cpu-prof-interval', '200', '--cpu-prof-dir', join(cpuProf, `${rt}-${task}-${dtype}-${r + 1}`)] : [];
          const rec = await runChild(harness, trees[rt], { modelsDir: fx.dir.endsWith('/') ? fx.dir : `${fx.dir}/`, task, dtype, runs, warmup, lengths }, prof);
          (results[`${task}|${dtype}|${rt}`] ??= []).push(rec);
          const msg = rec.ok ? `first ${rec.firstResultMs.toFixed(0)} ms, per call ${rec.perCallMs.toFixed(2)} ms` : `FAILED: ${rec.error.split('\n')[0]}`;
          process.stderr.write(`round ${r + 1}/${rounds} ${task} ${dtype} ${rt}: ${msg}\n`);
        }
      }
    }

    const maxDiff = (a, b) => {
      if (!a || !b || a.data.length !== b.data.length || JSON.stringify(a.dims) !== JSON.stringify(b.dims)) return Infinity;
      let m = 0;
      for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
      return Number.isNaN(m) ? Infinity : m;
    };
    const e = (x) => (x === undefined ? '–' : x === Infinity ? 'differs' : x === 0 ? '0' : x.toExponential(1));
    const ms = (x, d = 1) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(d));
    const ratio = (a, b) => (a === undefined || b === undefined ? '–' : (a / b).toFixed(2));
    const rows = [];
    for (const { task, dtype } of jobs) {
      const get = (rt) => (results[`${task}|${dtype}|${rt}`] ?? []).filter((x) => x.ok);
      const stat = (rt, k) => (get(rt).length ? median(get(rt).map((x) => x[k])) : undefined);
      const ref = get('node')[0];
      const row = { task, dtype, failures: {} };
      for (const rt of active) {
        const fails = (results[`${task}|${dtype}|${rt}`] ?? []).filter((x) => !x.ok);
        if (fails.length) row.failures[rt] = fails[0].error;
        row[rt] = get(rt).length
          ? Object.fromEntries(['firstResultMs', 'perCallMs', 'importMs', 'loadMs', 'firstCallMs', 'bootMs'].map((k) => [k, stat(rt, k)]))
          : undefined;
        row[rt] &&= { ...row[rt], perCallByRound: get(rt).map((x) => x.perCallMs), firstByRound: get(rt).map((x) => x.firstResultMs), raw: get(rt)[0].raw, out: get(rt)[0].out };
        const mine = get(rt)[0];
        if (rt !== 'node' && mine && ref) {
          row[rt].diffRaw = maxDiff(mine.raw, ref.raw);
          row[rt].diffOut = maxDiff(mine.out, ref.out);
          if (ref.labels) row[rt].sameLabels = JSON.stringify(mine.labels) === JSON.stringify(ref.labels);
        }
        const web = get('web')[0];
        if (rt === 'tinfer' && mine && web) row[rt].vsWeb = { raw: maxDiff(mine.raw, web.raw), out: maxDiff(mine.out, web.out) };
      }
      rows.push(row);
    }

    const out = [];
    out.push(`@huggingface/transformers ${versions.transformers}, tinfer ${versions.tinfer}, onnxruntime-node ${versions.node ?? '–'}, onnxruntime-web ${versions.web ?? '–'} (${webFrom}), Node ${process.version}, tinfer build ${relative(repo, dist) || dist}; ${rounds} rounds × ${runs} calls after ${warmup} warm-up, ${lengths ? `one sentence of 1..${LENGTHS.length} words in turn` : `${SENTENCES.length} sentences`} a call\n`);
    out.push('| task | dtype | max abs diff tinfer−ort-node (raw; pipeline) | max abs diff ort-web−ort-node (raw; pipeline) | first result ms (tinfer / node / web) | per call ms (tinfer / node / web) | tinfer/web per call | tinfer/node per call | tinfer/node first result |');
    out.push('|---|---|---|---|---|---|---:|---:|---:|');
    for (const r of rows) {
      const d = (rt) => (r[rt]?.diffRaw === undefined ? '–' : `${e(r[rt].diffRaw)}; ${e(r[rt].diffOut)}${r[rt].sameLabels === false ? ' (labels differ)' : ''}`);
      const three = (k, dd) => ['tinfer', 'node', 'web'].map((rt) => ms(r[rt]?.[k], dd)).join(' / ');
      out.push(
        `| ${r.task} | ${r.dtype} | ${d('tinfer')} | ${d('web')} | ${three('firstResultMs', 0)} | ${three('perCallMs', 2)} | ` +
          `${ratio(r.tinfer?.perCallMs, r.web?.perCallMs)} | ${ratio(r.tinfer?.perCallMs, r.node?.perCallMs)} | ${ratio(r.tinfer?.firstResultMs, r.node?.firstResultMs)} |`,
      );
    }
    out.push('\nFirst result, split (medians, ms): import of transformers.js (+ the runtime) / pipeline() (session creation) / first call');
    out.push('\n| task | dtype | tinfer | ort-node | ort-web |');
    out.push('|---|---|---|---|---|');
    for (const r of rows) {
      const split = (rt) => (r[rt] ? `${ms(r[rt].importMs, 0)} / ${ms(r[rt].loadMs, 0)} / ${ms(r[rt].firstCallMs, 1)}` : '–');
      out.push(`| ${r.task} | ${r.dtype} | ${split('tinfer')} | ${split('node')} | ${split('web')} |`);
    }
    for (const [rt, why] of Object.entries(skipped)) out.push(`\n${rt}: – (${why})`);
    for (const r of rows) for (const [rt, err] of Object.entries(r.failures)) out.push(`\n${r.task} ${r.dtype} ${rt} failed:\n${err}`);
    console.log(out.join('\n'));
    if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ versions, runs, warmup, rounds, lengths, rows }));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Runs this file with --child in `treeDir` (as the harness runs its children); resolves to its record. */
async function runChild(harness, treeDir, job, nodeFlags = [], timeoutMs = 180_000) {
  const env = { TJS_BENCH_JOB: JSON.stringify(job) };
  const { code, signal, stdout, stderr } = await harness.spawnInTree(treeDir, 'bench-transformers.mjs', env, { nodeFlags, args: ['--child'], timeoutMs });
  const line = stdout.split('\n').find((l) => l.startsWith('TJS_BENCH '));
  return line ? JSON.parse(line.slice(10)) : { ok: false, error: `child exited ${code ?? signal}: ${stderr.slice(-1500)}` };
}
