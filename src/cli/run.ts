/** `tinfer run MODEL [--input name=VALUE] [--shape name=dims]`: one run; the inputs used and the outputs, summarised. */
import { OptionError } from '../errors.js';
import { InferenceSession } from '../session/session.js';
import type { Tensor } from '../session/tensor.js';
import { flagBytes, flagChoice, flagShapes, parseArgs } from './args.js';
import { describeFeed, feedSources, feedsOf, guessWarnings } from './feeds.js';

export const BACKENDS = ['auto', 'wasm', 'js'] as const;

function preview(t: Tensor): string {
  const n = Math.min(t.data.length, 8);
  const head = Array.from({ length: n }, (_, i) => {
    const v = t.data[i]!;
    return typeof v === 'number' ? Number(v.toPrecision(6)).toString() : String(v);
  });
  return `[${head.join(', ')}${t.data.length > n ? ', …' : ''}]`;
}

export async function runCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { command: 'run', values: ['input', 'shape', 'backend', 'memory-limit'] });
  const path = args.positional[0];
  if (!path) throw new OptionError('run: give a model path (tinfer run MODEL.onnx)', 'MODEL');
  if (args.positional.length > 1) throw new OptionError(`run: one model at a time; unexpected '${args.positional[1]}'`, 'MODEL');
  const backend = flagChoice(args, 'backend', BACKENDS, 'auto');
  const shapes = flagShapes(args);
  const memoryLimit = flagBytes(args, 'memory-limit');
  const session = await InferenceSession.create(path, memoryLimit === undefined ? { backend } : { backend, memoryLimit });
  const sources = feedSources(session, args.flags.get('input') ?? [], shapes);
  for (const w of guessWarnings(sources)) process.stderr.write(`${w}\n`);
  process.stdout.write(`inputs:\n${sources.map((s) => `  ${describeFeed(s)}\n`).join('')}`);
  const t0 = performance.now();
  const outputs = session.runSync(feedsOf(sources));
  const ms = performance.now() - t0;
  process.stdout.write('outputs:\n');
  for (const [name, t] of Object.entries(outputs)) {
    process.stdout.write(`  ${name}: ${t.type}[${t.dims.join(',')}] ${preview(t)}\n`);
  }
  process.stdout.write(`run: ${ms.toFixed(2)} ms (${session.planKind} plan, ${session.backend})\n`);
  const m = session.memory();
  const mb = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MB`;
  const wasm = session.backend === 'wasm' ? `, wasm memory ${mb(m.wasmMemoryBytes)} (${mb(m.wasmInUseBytes)} in use)` : '';
  process.stdout.write(`memory: planned peak ${mb(m.peakBytes)} (weights ${mb(m.weightBytes)}, arena ${mb(m.arenaBytes)}${wasm})\n`);
  return 0;
}
