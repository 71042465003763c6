/** `tinfer bench [MODEL | --builtin]`: load time, first run, median/min/max over iterations. */
import { InferenceSession } from '../session/session.js';
import { encodeModel } from '../loader/index.js';
import { parseArgs, flagNumber, flagShapes } from './args.js';
import { BUILTIN_MODELS } from './builtin-models.js';
import { makeFeeds } from './feeds.js';
import { median } from './format.js';

interface BenchRow {
  name: string;
  loadMs: number;
  firstMs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  iterations: number;
}

function benchSession(name: string, session: InferenceSession, loadMs: number, shapes: Map<string, number[]>, warmup: number, iterations: number, minMs: number): BenchRow {
  const feeds = makeFeeds(session, [], shapes);
  let t = performance.now();
  session.runSync(feeds);
  const firstMs = performance.now() - t;
  for (let i = 0; i < warmup; i++) session.runSync(feeds);
  const times: number[] = [];
  const start = performance.now();
  while (times.length < iterations || (performance.now() - start < minMs && times.length < 1000)) {
    t = performance.now();
    session.runSync(feeds);
    times.push(performance.now() - t);
  }
  return { name, loadMs, firstMs, medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), iterations: times.length };
}

function table(rows: BenchRow[]): string {
  const head = '| model | load ms | first run ms | median ms | min ms | max ms | runs |\n|---|---:|---:|---:|---:|---:|---:|\n';
  return head + rows.map((r) => `| ${r.name} | ${r.loadMs.toFixed(1)} | ${r.firstMs.toFixed(2)} | ${r.medianMs.toFixed(2)} | ${r.minMs.toFixed(2)} | ${r.maxMs.toFixed(2)} | ${r.iterations} |`).join('\n');
}

export async function benchCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['builtin']);
  const iterations = flagNumber(args, 'iterations', 10);
  const warmup = flagNumber(args, 'warmup', 2);
  const minMs = flagNumber(args, 'min-ms', 0);
  const shapes = flagShapes(args);
  const backend = (args.flags.get('backend')?.at(-1) ?? 'auto') as 'auto' | 'wasm' | 'js';
  const rows: BenchRow[] = [];
  let backendInfo = '';
  if (args.positional.length === 0 || args.flags.has('builtin')) {
    process.stdout.write(`tinfer bench: built-in architectures, random weights, ${iterations} runs each (node ${process.version}, ${process.arch})\n`);
    for (const [name, make] of Object.entries(BUILTIN_MODELS)) {
      const bytes = encodeModel(make());
      const t0 = performance.now();
      const session = InferenceSession.createSync(bytes, { backend });
      backendInfo = session.backendInfo;
      rows.push(benchSession(name, session, performance.now() - t0, shapes, warmup, iterations, minMs));
    }
  }
  for (const path of args.positional) {
    const t0 = performance.now();
    const session = await InferenceSession.create(path, { backend });
    backendInfo = session.backendInfo;
    rows.push(benchSession(path, session, performance.now() - t0, shapes, warmup, iterations, minMs));
  }
  process.stdout.write(`${table(rows)}\n`);
  if (backendInfo) process.stdout.write(`backend: ${backendInfo}\n`);
  return 0;
}
