/** `tinfer run MODEL [--input name=file.pb]`: one run, outputs summarised. */
import { TinferError } from '../errors.js';
import { InferenceSession } from '../session/session.js';
import type { Tensor } from '../session/tensor.js';
import { parseArgs, flagShapes } from './args.js';
import { makeFeeds } from './feeds.js';

function preview(t: Tensor): string {
  const n = Math.min(t.data.length, 8);
  const head = Array.from({ length: n }, (_, i) => {
    const v = t.data[i]!;
    return typeof v === 'number' ? Number(v.toPrecision(6)).toString() : String(v);
  });
  return `[${head.join(', ')}${t.data.length > n ? ', …' : ''}]`;
}

export async function runCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const path = args.positional[0];
  if (!path) throw new TinferError('run: give a model path');
  const session = await InferenceSession.create(path);
  const feeds = makeFeeds(session, args.flags.get('input') ?? [], flagShapes(args));
  const t0 = performance.now();
  const outputs = session.runSync(feeds);
  const ms = performance.now() - t0;
  for (const [name, t] of Object.entries(outputs)) {
    process.stdout.write(`${name}: ${t.type}[${t.dims.join(',')}] ${preview(t)}\n`);
  }
  process.stdout.write(`run: ${ms.toFixed(2)} ms (${session.planKind} plan)\n`);
  return 0;
}
