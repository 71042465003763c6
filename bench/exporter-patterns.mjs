// Times tinfer against onnxruntime-node and onnxruntime-web (wasm, 1 thread, SIMD) on the exporter-pattern
// stand-ins written by scripts/export-exporter-patterns.py (paddle2onnx / tf2onnx / old-opset graph patterns),
// and shows how much of tinfer's run time still goes to JS variants while wasm is available (the "JS share").
//   node bench/exporter-patterns.mjs [--dir .tmp/exported] [--models a,b] [--runs N] [--warmup N]
//                                    [--peers web,node] [--peers-dir DIR (holds node_modules/onnxruntime-*)]
// ort-web is warmed up for at least 2 s besides: V8 tiers its wasm up in the background (as bench/peers.mjs does).
// Peers come from bench/peers (`npm --prefix bench/peers ci`) unless --peers-dir or $TINFER_PEERS_DIR says
// otherwise; a peer that is not installed is skipped. Build tinfer first (npm run build).
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
// Default: .tmp/exported in the repo (git-ignored), where `python3 scripts/export-exporter-patterns.py .tmp/exported` writes.
const dir = resolve(flag('dir', join(here, '..', '.tmp', 'exported')));
const runs = Math.max(1, Number(flag('runs', '10')));
const warmup = Math.max(1, Number(flag('warmup', '2')));
const wantedPeers = flag('peers', 'web,node').split(',').filter(Boolean);
const peersDir = resolve(flag('peers-dir', process.env.TINFER_PEERS_DIR ?? join(here, 'peers')));
const DEFAULT_MODELS = 'ocr_det_paddle,ocr_rec_paddle,wakeword_tf2onnx,linedet_tf2onnx,conv1d_audio,decomposed_ops,ocr_det_paddle_fp16,ocr_rec_paddle_fp16';
const wantedModels = flag('models', DEFAULT_MODELS).split(',').filter(Boolean);

const { InferenceSession } = await import('../dist/index.js');
const { decodeTensor } = await import('../dist/loader/index.js');
const { fromTensorData } = await import('../dist/session/tensor.js');

const require = createRequire(join(peersDir, 'package.json'));
function loadPeer(pkg) {
  try {
    return require(pkg);
  } catch (e) {
    console.error(`skip ${pkg}: not installed under ${peersDir} (${String(e?.message ?? e).split('\n')[0]})`);
    return undefined;
  }
}
const peerPkgs = { node: 'onnxruntime-node', web: 'onnxruntime-web' };
const peers = {};
for (const p of wantedPeers) {
  if (!(p in peerPkgs)) {
    console.error(`skip peer ${p}: unknown (node, web)`);
    continue;
  }
  const mod = loadPeer(peerPkgs[p]);
  if (mod) peers[p] = mod;
}
if (peers.web) {
  peers.web.env.wasm.numThreads = 1;
  peers.web.env.wasm.simd = true; // ignored by versions that always use SIMD
  peers.web.env.wasm.proxy = false;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timeRuns(run, warmMs = 0) {
  const warmEnd = performance.now() + warmMs;
  for (let i = 0; i < warmup || performance.now() < warmEnd; i++) await run();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return median(times);
}

function maxAbsDiff(a, b) {
  if (!a || !b || a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - Number(b[i])));
  return m;
}

function loadCase(name) {
  const d = join(dir, name);
  if (!existsSync(join(d, 'model.onnx'))) return undefined;
  const ds = join(d, 'test_data_set_0');
  const read = (prefix) =>
    readdirSync(ds)
      .filter((f) => f.startsWith(prefix))
      .sort()
      .map((f) => decodeTensor(new Uint8Array(readFileSync(join(ds, f)))));
  return { bytes: new Uint8Array(readFileSync(join(d, 'model.onnx'))), inputs: read('input_'), refs: read('output_') };
}

async function ortRunner(ort, c, options) {
  const s = await ort.InferenceSession.create(c.bytes, options);
  const feeds = Object.fromEntries(s.inputNames.map((n, i) => [n, new ort.Tensor(c.inputs[i].dtype, c.inputs[i].data, c.inputs[i].shape)]));
  return { warmMs: options.executionProviders ? 2000 : 0, run: () => s.run(feeds), output: async () => (await s.run(feeds))[s.outputNames[0]].data, release: () => s.release?.() };
}

const runners = {
  node: (c) => ortRunner(peers.node, c, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' }),
  web: (c) => ortRunner(peers.web, c, { executionProviders: ['wasm'] }),
};

/** JS share of a profiled tinfer session: time in slow JS variants over all node time, and the top 3 such nodes. */
function jsShare(profile) {
  const total = profile.reduce((s, p) => s + p.totalMs, 0);
  const slow = profile.filter((p) => p.slowJs && p.calls > 0).sort((a, b) => b.totalMs - a.totalMs);
  const ms = slow.reduce((s, p) => s + p.totalMs, 0);
  const pct = (x) => (total > 0 ? (100 * x) / total : 0).toFixed(1);
  return {
    share: `${pct(ms)}%`,
    top: slow.slice(0, 3).map((p) => `${p.node || p.opType} (${p.opType}, ${p.variant}, ${pct(p.totalMs)}%)`).join('; ') || '–',
  };
}

const names = Object.keys(peers);
console.log(`# exporter-pattern models: tinfer vs ${names.map((n) => peerPkgs[n]).join(', ') || '(no peers)'} — ${new Date().toISOString().slice(0, 16)}Z, node ${process.version}, ${os.cpus()[0]?.model ?? os.arch()} ×${os.cpus().length}, 1 thread, median of ${runs} runs after ${warmup} warm-up\n`);
const header = ['model', 'tinfer ms', ...names.map((n) => `ort-${n} ms`), ...names.map((n) => `tinfer/ort-${n}`), 'JS share', 'top slow-JS nodes (op, variant, share)', 'max |tinfer−ref|'];
const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
for (const model of wantedModels) {
  const c = loadCase(model);
  if (!c) {
    console.error(`skip ${model}: ${join(dir, model, 'model.onnx')} not found`);
    continue;
  }
  const ms = {};
  let share = { share: '–', top: '–' };
  let err = NaN;
  try {
    const s = await InferenceSession.create(c.bytes);
    const feeds = Object.fromEntries(s.inputNames.map((n, i) => [n, fromTensorData(c.inputs[i])]));
    ms.tinfer = await timeRuns(() => s.runSync(feeds));
    err = maxAbsDiff(s.runSync(feeds)[s.outputNames[0]].data, c.refs[0]?.data);
    // A second session with per-node timers for the JS share (the timers would add to the timed runs).
    const p = await InferenceSession.create(c.bytes, { profile: true });
    for (let i = 0; i < warmup; i++) p.runSync(feeds);
    p.resetProfile?.(); // first runs pay for JIT warm-up: profile warm runs only
    for (let i = 0; i < Math.min(runs, 5); i++) p.runSync(feeds);
    share = jsShare(p.profile());
    console.error(`${model} tinfer: median ${ms.tinfer.toFixed(2)} ms, JS share ${share.share}`);
  } catch (e) {
    console.error(`${model} tinfer: failed: ${String(e?.message ?? e).split('\n')[0]}`);
  }
  for (const n of names) {
    try {
      const r = await runners[n](c);
      ms[n] = await timeRuns(r.run, r.warmMs);
      await r.release?.();
      console.error(`${model} ort-${n}: median ${ms[n].toFixed(2)} ms`);
    } catch (e) {
      console.error(`${model} ort-${n}: failed: ${String(e?.message ?? e).split('\n')[0]}`);
    }
  }
  const cell = (x) => (x === undefined ? 'fails' : x.toFixed(2));
  const ratio = (n) => (ms.tinfer === undefined || ms[n] === undefined ? '–' : (ms.tinfer / ms[n]).toFixed(2));
  lines.push(`| ${model} | ${cell(ms.tinfer)} | ${names.map((n) => cell(ms[n])).join(' | ')}${names.length ? ' | ' : ''}${names.map(ratio).join(' | ')}${names.length ? ' | ' : ''}${share.share} | ${share.top} | ${Number.isNaN(err) ? '–' : err.toExponential(1)} |`);
}
console.log(lines.join('\n'));
