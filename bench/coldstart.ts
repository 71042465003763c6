/**
 * Session create time on the generated graphs of test/coldstart.test.ts (a 5,000-node Conv chain, 100 If nodes).
 *
 *   npx esbuild bench/coldstart.ts --bundle --platform=node --format=esm --outfile=.tmp/coldstart.mjs
 *   node .tmp/coldstart.mjs conv        # the test's scenario: a fresh process, one small create, one measured
 *   node .tmp/coldstart.mjs if 9        # then 9 more creates of the same graph in the process (JIT warm)
 *
 * Prints wall and CPU ms (CPU includes the GC's helper threads) of the first create, and the median and minimum of
 * the repeated ones. Run the first form in several fresh processes for a median: most of a cold create is code
 * that has not been optimised yet, and on a shared machine the spread is wide.
 */
import { InferenceSession } from '../src/index.js';
import { encodeModel } from '../src/loader/encode.js';
import { convChainModel, ifChainModel } from '../test/coldstart-graphs.js';

const which = process.argv[2] === 'if' ? 'if' : 'conv';
const repeats = Number(process.argv[3] ?? 0);
const model = () => (which === 'conv' ? convChainModel(1000) : ifChainModel(100));

async function measured(bytes: Uint8Array): Promise<{ ms: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await InferenceSession.create(bytes);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpu: (c.user + c.system) / 1000 };
}

await InferenceSession.create(encodeModel(ifChainModel(2)));
const first = await measured(encodeModel(model()));
console.log(`${which}: first create ${first.ms.toFixed(1)} ms (${first.cpu.toFixed(1)} ms CPU)`);
if (repeats > 0) {
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) times.push((await measured(encodeModel(model()))).ms);
  times.sort((a, b) => a - b);
  console.log(`${which}: ${repeats} more creates, median ${times[Math.floor(repeats / 2)]!.toFixed(1)} ms, min ${times[0]!.toFixed(1)} ms`);
}
