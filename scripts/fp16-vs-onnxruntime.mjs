// tinfer on a float16 model, with its float16 pass ('compute-f32', the default) and without ('exact'), against
// onnxruntime-node (1 intra-op thread, like tinfer) on the same file: median ms over a few runs and the max |error|
// of each tinfer mode against onnxruntime on the same random inputs. Run after `npm run build`:
//
//   ONNXRUNTIME_NODE=/path/to/node_modules/onnxruntime-node node scripts/fp16-vs-onnxruntime.mjs MODEL.onnx [--iterations N]
//
// (without ONNXRUNTIME_NODE it looks in bench/peers/node_modules, where `npm run bench:peers` installs the peers).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceSession, Tensor } from '../dist/index.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../dist/loader/float16.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const path = args.find((a) => !a.startsWith('--'));
const iterations = Number(args[args.indexOf('--iterations') + 1] ?? 5) || 5;
if (!path) {
  process.stderr.write('usage: node scripts/fp16-vs-onnxruntime.mjs MODEL.onnx [--iterations N]\n');
  process.exit(2);
}
const require = createRequire(join(here, '..', 'bench', 'peers', 'package.json'));
const ort = require(process.env.ONNXRUNTIME_NODE ?? 'onnxruntime-node');

function random(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** Same values for both runtimes: floats in [-1, 1) (float16 as bits), integers in [0, 10). */
function feedsFor(session, seed) {
  const feeds = {};
  const peer = {};
  session.inputMetadata.forEach((m, i) => {
    const dims = (m.dims ?? [1]).map((d) => (typeof d === 'number' ? d : 1));
    const n = dims.reduce((a, d) => a * d, 1);
    const r = random(seed + i);
    if (m.type === 'float16') {
      const bits = Uint16Array.from({ length: n }, () => float32ToFloat16Bits(r() * 2 - 1));
      feeds[m.name] = new Tensor('float16', bits, dims);
      peer[m.name] = new ort.Tensor('float16', bits, dims);
    } else if (m.type === 'float32') {
      const data = Float32Array.from({ length: n }, () => r() * 2 - 1);
      feeds[m.name] = new Tensor('float32', data, dims);
      peer[m.name] = new ort.Tensor('float32', data, dims);
    } else if (m.type === 'int64') {
      const data = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * 10)));
      feeds[m.name] = new Tensor('int64', data, dims);
      peer[m.name] = new ort.Tensor('int64', data, dims);
    } else throw new Error(`input ${m.name}: type ${m.type} not handled by this script`);
  });
  return { feeds, peer };
}

const numbers = (t) => (t.type === 'float16' ? Array.from(t.data, float16BitsToFloat32) : Array.from(t.data, Number));

async function median(run) {
  await run();
  await run();
  const times = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const bytes = new Uint8Array(readFileSync(path));
const peerSession = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const rows = [];
for (const float16 of ['compute-f32', 'exact']) {
  const session = await InferenceSession.create(bytes, { float16 });
  let maxErr = 0;
  let worst = 0; // max |error| / (1e-4 + 1e-3 |reference|): <= 1 means within rtol 1e-3, atol 1e-4
  for (let seed = 1; seed <= 3; seed++) {
    const { feeds, peer } = feedsFor(session, seed * 1000);
    const a = session.runSync(feeds);
    const b = await peerSession.run(peer);
    for (const name of session.outputNames) {
      const x = numbers(a[name]);
      const y = numbers(b[name]);
      for (let i = 0; i < x.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(x[i] - y[i]));
        worst = Math.max(worst, Math.abs(x[i] - y[i]) / (1e-4 + 1e-3 * Math.abs(y[i])));
      }
    }
  }
  const { feeds } = feedsFor(session, 1);
  const ms = await median(() => session.runSync(feeds));
  rows.push({ mode: float16, ms, maxErr, worst, notes: session.passNotes });
}
const { peer } = feedsFor(await InferenceSession.create(bytes), 1);
const ortMs = await median(() => peerSession.run(peer));
process.stdout.write(`model: ${path} (median of ${iterations} runs after 2 warm-ups; max |error| vs onnxruntime over 3 random inputs)\n`);
for (const r of rows) process.stdout.write(`tinfer float16 '${r.mode}': ${r.ms.toFixed(2)} ms, max |error| vs onnxruntime-node ${r.maxErr.toExponential(2)} (${r.worst <= 1 ? 'within' : 'outside'} rtol 1e-3/atol 1e-4: worst ratio ${r.worst.toFixed(2)})\n`);
process.stdout.write(`onnxruntime-node ${ort.env?.versions?.common ?? ''} (1 thread): ${ortMs.toFixed(2)} ms\n`);
if (rows[0].notes.length) process.stdout.write(`pass: ${rows[0].notes.join('; ')}\n`);
