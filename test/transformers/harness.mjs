// Runs transformers.js (@huggingface/transformers, installed in this sub-package) on tinfer aliased as
// `onnxruntime-node`, and on the real onnxruntime-node, and compares them. Used by test/transformers.test.ts and by
// `node test/transformers/compare.mjs` (a table for humans).
//
// How the alias is made: a temp tree whose node_modules holds a symlink to every package of this sub-package's
// node_modules except onnxruntime-node, which is replaced by one of the RUNTIMES below; the child runs with
// --preserve-symlinks so that transformers.js' `require('onnxruntime-node')` resolves inside the tree (as it would in
// an app installed with `"overrides": { "onnxruntime-node": "npm:tinfer@..." }`), not next to its real path.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(HERE, '../..');
export const SUB_MODULES = join(HERE, 'node_modules');
export const TINFER_DIST = join(REPO_ROOT, 'dist');

/**
 * What `onnxruntime-node` resolves to in the child:
 *  - ort:            the real onnxruntime-node (the reference)
 *  - tinfer:         tinfer's package exactly as an npm override installs it (its package.json, its dist/)
 *  - tinfer-require: tinfer's dist behind a bare CommonJS entry (`module.exports = require(dist/index.js)`), so the
 *                    failures past the packaging one show up
 *  - tinfer-adapter: the same plus the adapter below (ADAPTER_SOURCE): what tinfer still lacks, done outside src/
 */
export const RUNTIMES = ['ort', 'tinfer', 'tinfer-require', 'tinfer-adapter'];
/**
 * Extra runtimes for compare.mjs --runtimes: ort-basic is onnxruntime-node with graphOptimizationLevel 'basic' (passed
 * through transformers.js' session_options). Its extended fusions (dynamic-quant MatMul) round int8 activations
 * slightly differently, which on some inputs moves q8 outputs by ~1e-2; tinfer follows the unfused ONNX graph.
 */
export const SESSION_OPTIONS = { 'ort-basic': { graphOptimizationLevel: 'basic' } };

export function transformersInstalled() {
  return existsSync(join(SUB_MODULES, '@huggingface/transformers/package.json'));
}

export function transformersVersion() {
  return JSON.parse(readFileSync(join(SUB_MODULES, '@huggingface/transformers/package.json'), 'utf8')).version;
}

/** The real onnxruntime-node: this sub-package's (transformers.js depends on it), else bench/peers'. */
export function realOrtDir() {
  for (const d of [join(SUB_MODULES, 'onnxruntime-node'), join(REPO_ROOT, 'bench/peers/node_modules/onnxruntime-node')]) {
    if (existsSync(join(d, 'package.json'))) return d;
  }
  return undefined;
}

/** Finds a python with torch and onnx (TJS_PYTHON, /usr/bin/python3, python3), or undefined. */
export function findPython() {
  for (const py of [process.env.TJS_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean)) {
    const r = spawnSync(py, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return undefined;
}

export const MODELS = { fe: 'tiny-bert-feature-extraction', tc: 'tiny-bert-text-classification', gen: 'tiny-gpt2-text-generation' };

/**
 * The fixtures: TJS_FIXTURES if set (a directory made by scripts/make-hf-fixtures.py), else generated into
 * `outDir` with python + torch + onnx. Returns { dir } or { skip: reason }.
 */
export function ensureFixtures(outDir) {
  const given = process.env.TJS_FIXTURES;
  const dir = given ?? outDir;
  const complete = () => Object.values(MODELS).every((m) => existsSync(join(dir, m, 'onnx/model_quantized.onnx')));
  if (complete()) return { dir };
  if (given) return { skip: `TJS_FIXTURES=${given} lacks ${Object.values(MODELS).join(', ')}` };
  const py = findPython();
  if (!py) return { skip: 'no python with torch + onnx to build the fixtures (set TJS_PYTHON, or TJS_FIXTURES to a prebuilt dir)' };
  const r = spawnSync(py, [join(REPO_ROOT, 'scripts/make-hf-fixtures.py'), dir], { encoding: 'utf8' });
  if (r.status !== 0 || !complete()) return { skip: `scripts/make-hf-fixtures.py failed:\n${r.stdout}\n${r.stderr}` };
  return { dir };
}

/**
 * The adapter tinfer-adapter adds on top of tinfer's dist. Every line stands for a gap that src/ should close (see
 * docs/transformers.md); once tinfer has them all, the `tinfer` runtime passes with no adapter.
 */
const ADAPTER_SOURCE = (dist) => `'use strict';
// (gap 1) a CommonJS entry: transformers.js loads onnxruntime-node with createRequire(...)('onnxruntime-node').
// This adapter require()s tinfer's ES module directly, so it needs Node >= 20.19 / 22.12 (require(esm)); the
// package's own CommonJS entry also works on older Node, through its facade (src/cjs/facade.cjs).
const tinfer = require(${JSON.stringify(join(dist, 'index.js'))});
const calls = (globalThis.__tjsCalls ??= []);

// (gap 3) output tensors: transformers.js' Tensor forwards .location and .dispose() to the runtime's tensor (the
// onnxruntime-common API). Not reached by the tested pipelines (checked by running without these lines); kept so that
// user code calling tensor.dispose() works.
const proto = tinfer.Tensor.prototype;
if (!('location' in proto)) Object.defineProperty(proto, 'location', { get() { return 'cpu'; }, configurable: true });
if (!proto.dispose) proto.dispose = function () {};
if (!proto.getData) proto.getData = async function () { return this.data; };

// (gap 2) feeds: transformers.js builds its inputs with onnxruntime-common's Tensor class (it imports
// onnxruntime-common directly), so they are not instances of tinfer.Tensor; run() must accept any object with
// type / data / dims (onnxruntime-common's Tensor interface).
function toTinfer(name, t) {
  if (t instanceof tinfer.Tensor) return t;
  calls.push({ call: 'run.feed', name, ctor: t?.constructor?.name, type: t?.type, location: t?.location });
  return new tinfer.Tensor(t.type, t.data, t.dims);
}

class Session {
  constructor(s) {
    this.s = s;
    this.inputNames = s.inputNames;
    this.outputNames = s.outputNames;
    // (gap 4) onnxruntime-node's metadata shape: { name, isTensor, type, shape }; transformers.js builds the empty
    // past_key_values of decoders from meta.shape (tinfer names it dims).
    const ortMeta = (m) => ('shape' in m ? m : { name: m.name, isTensor: m.dims !== undefined && m.type !== 'sequence' && m.type !== 'optional', type: m.type, shape: m.dims ?? [] });
    this.inputMetadata = s.inputMetadata.map(ortMeta);
    this.outputMetadata = s.outputMetadata.map(ortMeta);
  }
  async run(feeds, fetches, options) {
    const f = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = toTinfer(k, v);
    const names = Array.isArray(fetches) ? fetches : fetches && typeof fetches === 'object' ? Object.keys(fetches) : undefined;
    return this.s.run(f, names);
  }
  async release() { return this.s.release?.(); }
}

const InferenceSession = {
  async create(source, options = {}) {
    calls.push({ call: 'InferenceSession.create', source: typeof source === 'string' ? 'path' : source?.constructor?.name, options: Object.keys(options) });
    return new Session(await tinfer.InferenceSession.create(source, options));
  },
};

module.exports = { ...tinfer, InferenceSession, Tensor: tinfer.Tensor, env: tinfer.env ?? {} };
`;

/** A temp tree where `onnxruntime-node` is `runtime`; returns its directory. */
export function makeTree(runtime, root) {
  const dir = join(root, runtime);
  const nm = join(dir, 'node_modules');
  mkdirSync(join(nm, '@huggingface'), { recursive: true });
  for (const entry of readdirSync(SUB_MODULES)) {
    if (entry === 'onnxruntime-node' || entry.startsWith('.')) continue;
    if (entry.startsWith('@')) {
      mkdirSync(join(nm, entry), { recursive: true });
      for (const sub of readdirSync(join(SUB_MODULES, entry))) symlinkSync(join(SUB_MODULES, entry, sub), join(nm, entry, sub));
    } else symlinkSync(join(SUB_MODULES, entry), join(nm, entry));
  }
  const ortDir = join(nm, 'onnxruntime-node');
  if (runtime === 'ort' || runtime === 'ort-basic') {
    const real = realOrtDir();
    if (!real) throw new Error('no real onnxruntime-node installed');
    symlinkSync(real, ortDir);
  } else {
    mkdirSync(ortDir);
    symlinkSync(TINFER_DIST, join(ortDir, 'dist'));
    if (runtime === 'tinfer') {
      // As `npm:tinfer@x` installs it: tinfer's own package.json under the name onnxruntime-node, with the top-level
      // entries its "files" lists (dist/, and any other build output a packaging change adds).
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
      for (const f of pkg.files ?? []) {
        const top = f.split('/')[0];
        if (f.startsWith('!') || top === 'dist' || /[*?]/.test(top) || !existsSync(join(REPO_ROOT, top)) || existsSync(join(ortDir, top))) continue;
        symlinkSync(join(REPO_ROOT, top), join(ortDir, top));
      }
      cpSync(join(REPO_ROOT, 'package.json'), join(ortDir, 'package.json'));
    } else {
      writeFileSync(join(ortDir, 'package.json'), JSON.stringify({ name: 'onnxruntime-node', version: '0.0.0-tinfer', main: 'index.cjs' }));
      writeFileSync(
        join(ortDir, 'index.cjs'),
        runtime === 'tinfer-require'
          ? `module.exports = require(${JSON.stringify(join(ortDir, 'dist/index.js'))});\n`
          : ADAPTER_SOURCE(join(ortDir, 'dist')),
      );
    }
  }
  cpSync(join(HERE, 'child.mjs'), join(dir, 'child.mjs'));
  return dir;
}

/**
 * Runs `script` in `treeDir` the way the trees need it (node --preserve-symlinks: the packages there are links), with
 * `env` added and a kill after `timeoutMs`; resolves to its exit and output.
 */
export function spawnInTree(treeDir, script, env, { nodeFlags = [], args = [], timeoutMs = 60_000 } = {}) {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--preserve-symlinks', '--preserve-symlinks-main', '--no-warnings', ...nodeFlags, script, ...args], {
      cwd: treeDir,
      env: { ...process.env, ...env, ORT_DISABLE_TELEMETRY: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** Runs child.mjs in `treeDir`; resolves to its TJS_RESULT records plus stderr. */
export async function runChild(treeDir, job, timeoutMs = 60_000) {
  const { code, signal, stdout, stderr } = await spawnInTree(treeDir, 'child.mjs', { TJS_JOB: JSON.stringify(job) }, { timeoutMs });
  const records = stdout.split('\n').filter((l) => l.startsWith('TJS_RESULT ')).map((l) => JSON.parse(l.slice(11)));
  return { code, signal, records, stderr };
}

export const TEXTS = ['This movie was great!', "I didn't love the food, it was awful and slow."];
export const DTYPES = ['fp32', 'q8', 'fp16'];
export const TASKS = ['feature-extraction', 'text-classification', 'text-generation'];
export const CASES = DTYPES.flatMap((dtype) => [
  { task: 'feature-extraction', model: MODELS.fe, dtype },
  { task: 'text-classification', model: MODELS.tc, dtype },
  { task: 'text-generation', model: MODELS.gen, dtype },
]);

export function maxAbsDiff(a, b) {
  if (!a || !b || a.data.length !== b.data.length || JSON.stringify(a.dims) !== JSON.stringify(b.dims)) return Infinity;
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return Number.isNaN(m) ? Infinity : m;
}

const key = (r) => `${r.task}|${r.dtype}`;

/** Runs every case on each runtime and returns { rows, byRuntime } with rows per (task, dtype). */
export async function compareAll({ modelsDir, runtimes = RUNTIMES, cases = CASES, timeoutMs = 60_000 } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'tinfer-tjs-'));
  try {
    const job = { modelsDir: modelsDir.endsWith('/') ? modelsDir : `${modelsDir}/`, cases, texts: TEXTS };
    const byRuntime = {};
    // Sequential: the machine may be small, and each child loads onnxruntime or compiles tinfer's wasm kernels.
    for (const rt of runtimes) byRuntime[rt] = await runChild(makeTree(rt, root), { ...job, sessionOptions: SESSION_OPTIONS[rt] }, timeoutMs);
    const rows = cases.map((c) => {
      const row = { task: c.task, dtype: c.dtype };
      const ref = byRuntime.ort?.records.find((r) => r.stage !== 'import' && key(r) === key(c));
      for (const rt of runtimes) {
        const res = byRuntime[rt];
        const imp = res.records.find((r) => r.stage === 'import');
        const rec = res.records.find((r) => r.stage !== 'import' && r.stage !== 'calls' && key(r) === key(c));
        if (!imp || imp.error || !rec) {
          row[rt] = { ok: false, stage: 'import', error: imp?.error ?? { message: `child exited ${res.code ?? res.signal}: ${res.stderr.slice(-2000)}` } };
        } else if (rec.error) {
          row[rt] = { ok: false, stage: rec.stage, error: rec.error };
        } else {
          const cell = { ok: true, loadMs: rec.loadMs, runMs: rec.runMs };
          // How far this dtype is from the same runtime's fp32 run: the scale a q8/fp16 difference should be read on.
          const fp32 = res.records.find((r) => r.ok && r.task === c.task && r.dtype === 'fp32');
          const numeric = Object.keys(rec.out).filter((k) => k !== 'text');
          if (c.dtype !== 'fp32' && fp32 && numeric.length) cell.vsFp32 = Object.fromEntries(numeric.map((k) => [k, maxAbsDiff(rec.out[k], fp32.out[k])]));
          if (rec.out.text) cell.text = rec.out.text;
          if (rt !== 'ort' && ref?.ok) {
            cell.diff = Object.fromEntries(numeric.map((k) => [k, maxAbsDiff(rec.out[k], ref.out[k])]));
            if (rec.out.text) cell.sameText = JSON.stringify(rec.out.text) === JSON.stringify(ref.out.text);
            if (rec.out.scores) cell.sameTop = JSON.stringify(rec.out.scores.top) === JSON.stringify(ref.out.scores.top);
          }
          row[rt] = cell;
        }
      }
      return row;
    });
    const calls = Object.fromEntries(runtimes.map((rt) => [rt, byRuntime[rt].records.find((r) => r.stage === 'calls')?.calls ?? null]));
    return { rows, byRuntime, calls };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** A plain-text table of compareAll's rows. */
export function formatRows(rows, runtimes = RUNTIMES) {
  const lines = [];
  for (const row of rows) {
    const cells = runtimes.map((rt) => {
      const c = row[rt];
      if (!c) return `${rt}: -`;
      if (!c.ok) return `${rt}: FAIL at ${c.stage}: ${c.error.message.split('\n')[0].slice(0, 160)}`;
      const d = c.diff && Object.keys(c.diff).length ? ' vs ort: ' + Object.entries(c.diff).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ') : '';
      const f = c.vsFp32 ? `; vs own fp32: ${Object.entries(c.vsFp32).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}` : '';
      const top = (c.sameTop === undefined ? '' : c.sameTop ? ' (same top label)' : ' (TOP LABEL DIFFERS)') +
        (c.sameText === undefined ? '' : c.sameText ? ' (same generated text)' : ` (TEXT DIFFERS: ${JSON.stringify(c.text)})`);
      return `${rt}: ok${d}${top}${f}`;
    });
    lines.push(`${row.task} ${row.dtype}\n  ${cells.join('\n  ')}`);
  }
  return lines.join('\n');
}

/** Runs a script (e.g. examples/transformers/pipeline.mjs) from a fresh tree where onnxruntime-node is `runtime`. */
export function runScriptInTree(runtime, script, args, timeoutMs = 60_000) {
  const root = mkdtempSync(join(tmpdir(), 'tinfer-tjs-'));
  try {
    const dir = makeTree(runtime, root);
    cpSync(script, join(dir, 'script.mjs'));
    return spawnSync(process.execPath, ['--preserve-symlinks', '--preserve-symlinks-main', '--no-warnings', 'script.mjs', ...args], {
      cwd: dir,
      encoding: 'utf8',
      timeout: timeoutMs,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
