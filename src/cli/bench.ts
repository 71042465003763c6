/**
 * `tinfer bench [MODEL | --builtin]`: load time, first run, median/min/max over iterations. With `--profile`, the
 * timed runs also record per-node times and each model gets a per-op-type table and its slowest nodes.
 */
import { InferenceSession } from '../session/session.js';
import type { StepProfile } from '../session/executor.js';
import { encodeModel } from '../loader/index.js';
import { sizeOf } from '../dtype.js';
import { parseArgs, flagChoice, flagNumber, flagShapes } from './args.js';
import { BUILTIN_MODELS } from './builtin-models.js';
import { feedSources, feedsOf, guessWarnings } from './feeds.js';
import { formatBytes, median } from './format.js';
import { countParameters } from './inspect.js';
import { BACKENDS } from './run.js';

interface BenchRow {
  name: string;
  /** Input dims used, e.g. 'x[1,3,224,224]'. */
  inputs: string;
  params: number;
  /** Multiply-accumulates of one run in Conv, ConvTranspose, Gemm and MatMul nodes. */
  macs: number;
  arenaBytes: number;
  loadMs: number;
  firstMs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  iterations: number;
  /** Per-node profile over the timed runs (with --profile). */
  profile?: StepProfile[];
  /** What the graph passes reported (e.g. float16 computed in float32). */
  passNotes?: readonly string[];
}

function benchSession(name: string, session: InferenceSession, loadMs: number, shapes: Map<string, number[]>, warmup: number, iterations: number, minMs: number, profiling: boolean): BenchRow {
  const sources = feedSources(session, [], shapes);
  for (const w of guessWarnings(sources)) process.stderr.write(`${w}\n`);
  const feeds = feedsOf(sources);
  let t = performance.now();
  session.runSync(feeds);
  const firstMs = performance.now() - t;
  for (let i = 0; i < warmup; i++) session.runSync(feeds);
  session.resetProfile();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < iterations || (performance.now() - start < minMs && times.length < 1000)) {
    t = performance.now();
    session.runSync(feeds);
    times.push(performance.now() - t);
  }
  const profile = profiling ? session.profile({ skipped: true }) : undefined;
  return {
    name,
    inputs: sources.map((s) => `${s.name}[${s.tensor.dims.join(',')}]`).join(' '),
    params: countParameters(session.model.graph).params,
    macs: 0,
    arenaBytes: session.memory().arenaBytes,
    loadMs,
    firstMs,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    iterations: times.length,
    profile,
    passNotes: session.passNotes,
  };
}

/**
 * MACs of one run from a profiled run's shapes: Conv out × (C/group·kh·kw), ConvTranspose in × (M/group·kh·kw),
 * MatMul out × K, Gemm out × K (fused variants keep their op type). Other ops are not counted.
 */
export function countMacs(profile: readonly StepProfile[]): number {
  let macs = 0;
  for (const p of profile) {
    if (p.calls === 0) continue;
    const out = p.outputShapes[0];
    const a = p.inputShapes[0];
    const w = p.inputShapes[1];
    if (!out || !a || !w) continue;
    const op = p.opType.replace(/^Fused/, '');
    if (op === 'Conv') macs += sizeOf(out) * sizeOf(w.slice(1));
    else if (op === 'ConvTranspose') macs += sizeOf(a) * sizeOf(w.slice(1));
    else if (op === 'MatMul') macs += sizeOf(out) * (a.at(-1) ?? 0);
    else if (op === 'Gemm') macs += sizeOf(out) * (out[0] === a[0] ? (a[1] ?? 0) : (a[0] ?? 0));
  }
  return macs;
}

/** MACs for `session`'s model at these feeds, from one profiled run of a second session (the timed one stays unprofiled). */
function macsOf(source: Uint8Array | string, backend: (typeof BACKENDS)[number], shapes: Map<string, number[]>, given?: StepProfile[]): Promise<number> | number {
  if (given) return countMacs(given);
  return (async () => {
    const s = typeof source === 'string' ? await InferenceSession.create(source, { backend, profile: true }) : InferenceSession.createSync(source, { backend, profile: true });
    s.runSync(feedsOf(feedSources(s, [], shapes)));
    const macs = countMacs(s.profile());
    s.releaseSync();
    return macs;
  })();
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

/** Time per run by op type (ms, share of the profiled time, node count), slowest first. */
function opTypeTable(profile: StepProfile[], runs: number): string {
  const byOp = new Map<string, { ms: number; nodes: number }>();
  for (const p of profile) {
    if (p.calls === 0) continue;
    const e = byOp.get(p.opType) ?? { ms: 0, nodes: 0 };
    e.ms += p.totalMs / runs;
    e.nodes++;
    byOp.set(p.opType, e);
  }
  const total = [...byOp.values()].reduce((s, e) => s + e.ms, 0);
  const rows = [...byOp].sort((a, b) => b[1].ms - a[1].ms);
  const head = '| op | ms/run | % of run | nodes |\n|---|---:|---:|---:|\n';
  const pct = (ms: number): string => (total > 0 ? ((100 * ms) / total).toFixed(1) : '0.0');
  return head + rows.map(([op, e]) => `| ${op} | ${e.ms.toFixed(3)} | ${pct(e.ms)} | ${e.nodes} |`).join('\n') + `\n| total | ${total.toFixed(3)} | 100.0 | ${rows.reduce((s, [, e]) => s + e.nodes, 0)} |`;
}

/** The `top` slowest nodes per run, with how each ran and its output shape. */
function slowestNodes(profile: StepProfile[], runs: number, top: number): string {
  const ran = profile.filter((p) => p.calls > 0).sort((a, b) => b.totalMs - a.totalMs).slice(0, top);
  const head = '| ms/run | op | node | variant | how | output shape |\n|---:|---|---|---|---|---|\n';
  const shape = (p: StepProfile): string => p.outputShapes.map((s) => `[${s.join(',')}]`).join(' ');
  return head + ran.map((p) => `| ${(p.totalMs / runs).toFixed(3)} | ${p.opType} | ${p.node || '-'} | ${p.variant || '-'} | ${how(p)} | ${shape(p)} |`).join('\n');
}

/** The node's detail, and how often its wasm kernel fell back to JS when it did. */
function how(p: StepProfile): string {
  const fallback = p.jsFallbackCalls > 0 ? `JS fallback in ${p.jsFallbackCalls} of ${p.calls} calls` : '';
  return [p.detail, fallback].filter((s) => s !== '').join('; ') || '-';
}

/** Nodes resolved at plan time (never run), counted by how. */
function skippedSummary(profile: StepProfile[]): string {
  const counts = new Map<string, number>();
  for (const p of profile) if (p.calls === 0) counts.set(p.detail, (counts.get(p.detail) ?? 0) + 1);
  return [...counts].map(([how, n]) => `${n} ${how}`).join(', ');
}

/** Nodes whose wasm kernel took the JS path on some calls (none in a static plan on the wasm arena). */
function fallbackSummary(profile: StepProfile[]): string[] {
  const nodes = profile.filter((p) => p.jsFallbackCalls > 0);
  if (nodes.length === 0) return [];
  return [`JS fallbacks of wasm kernels: ${nodes.map((p) => `${p.node || p.opType} (${p.jsFallbackCalls}/${p.calls})`).join(', ')}`];
}

/**
 * The share of run time spent in JS variants while wasm was available (nodes whose kernel did not declare its JS
 * path fine), with the nodes that took it: nothing slow is silent.
 */
export function jsShareLine(profile: readonly StepProfile[]): string {
  const total = profile.reduce((s, p) => s + p.totalMs, 0);
  const slow = profile.filter((p) => p.slowJs && p.calls > 0).sort((a, b) => b.totalMs - a.totalMs);
  const ms = slow.reduce((s, p) => s + p.totalMs, 0);
  const share = total > 0 ? (100 * ms) / total : 0;
  const worst = slow.slice(0, 5).map((p) => `${p.node || p.opType} ${p.variant} ${((100 * p.totalMs) / total).toFixed(1)}%`);
  return `JS share: ${share.toFixed(1)}% of run time in JS variants while wasm is available (${slow.length} nodes)${worst.length ? ': ' + worst.join(', ') : ''}`;
}

function profileReport(row: BenchRow, top: number): string {
  const profile = row.profile ?? [];
  const skipped = skippedSummary(profile);
  return [
    `\nprofile: ${row.name} (${row.iterations} runs; per-node timers add a little to each run)`,
    ...(row.passNotes ?? []).map((note) => `pass: ${note}`),
    jsShareLine(profile),
    opTypeTable(profile, row.iterations),
    `\nslowest ${top} nodes:`,
    slowestNodes(profile, row.iterations, top),
    ...(skipped ? [`not run (resolved at plan time): ${skipped}`] : []),
    ...fallbackSummary(profile),
  ].join('\n');
}

const TABLE_HEAD =
  '| model | load ms | first run ms | median ms | min ms | max ms | runs | params | MACs | arena | input |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n';

function tableRow(r: BenchRow): string {
  return `| ${r.name} | ${r.loadMs.toFixed(1)} | ${r.firstMs.toFixed(2)} | ${r.medianMs.toFixed(2)} | ${r.minMs.toFixed(2)} | ${r.maxMs.toFixed(2)} | ${r.iterations} | ${formatCount(r.params)} | ${formatCount(r.macs)} | ${formatBytes(r.arenaBytes)} | ${r.inputs} |\n`;
}

export async function benchCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { command: 'bench', values: ['iterations', 'warmup', 'min-ms', 'shape', 'backend', 'top', 'threads'], booleans: ['builtin', 'profile'] });
  const threads = flagNumber(args, 'threads', 1, { min: 1 });
  const profiling = args.flags.has('profile');
  const top = flagNumber(args, 'top', 15, { min: 1 });
  const iterations = flagNumber(args, 'iterations', 10, { min: 1 });
  const warmup = flagNumber(args, 'warmup', 2);
  const minMs = flagNumber(args, 'min-ms', 0, { integer: false });
  const shapes = flagShapes(args);
  const backend = flagChoice(args, 'backend', BACKENDS, 'auto');
  const rows: BenchRow[] = [];
  let backendInfo = '';
  // Each row is printed as soon as its model finishes, like benchncnn.
  const finish = async (row: BenchRow, source: Uint8Array | string): Promise<void> => {
    row.macs = await macsOf(source, backend, shapes, row.profile);
    rows.push(row);
    process.stdout.write(tableRow(row));
  };
  const builtin = args.positional.length === 0 || args.flags.has('builtin');
  process.stdout.write(
    `tinfer bench: ${builtin ? 'built-in architectures with random weights, ' : ''}${iterations} timed runs after ${warmup} warm-up runs per model (node ${process.version}, ${process.arch}, backend ${backend}, ${threads} thread${threads === 1 ? '' : 's'})\n`,
  );
  process.stdout.write(TABLE_HEAD);
  if (builtin) {
    for (const [name, make] of Object.entries(BUILTIN_MODELS)) {
      const bytes = encodeModel(make());
      const t0 = performance.now();
      const session = await InferenceSession.create(bytes, { backend, profile: profiling, intraOpNumThreads: threads });
      backendInfo = session.backendInfo;
      await finish(benchSession(name, session, performance.now() - t0, shapes, warmup, iterations, minMs, profiling), bytes);
    }
  }
  for (const path of args.positional) {
    const t0 = performance.now();
    const session = await InferenceSession.create(path, { backend, profile: profiling, intraOpNumThreads: threads });
    backendInfo = session.backendInfo;
    await finish(benchSession(path, session, performance.now() - t0, shapes, warmup, iterations, minMs, profiling), path);
  }
  if (backendInfo) process.stdout.write(`backend: ${backendInfo}\n`);
  if (profiling) for (const row of rows) process.stdout.write(`${profileReport(row, top)}\n`);
  return 0;
}
