// Same-run A/B of two tinfer builds on models in the zoo layout (model.onnx + test_data_set_0): both builds are
// loaded into one process and timed alternately, median of N runs each.
//   node bench/ab-builds.mjs OLD_DIST NEW_DIST DIR [--models a,b] [--runs N]
// e.g. git worktree add ../tinfer-old 459250e && (cd ../tinfer-old && npm ci && npm run build)
//      node bench/ab-builds.mjs ../tinfer-old/dist dist .tmp/exported
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [oldDist, newDist, dir, ...rest] = process.argv.slice(2);
if (!oldDist || !newDist || !dir) {
  console.error('usage: node bench/ab-builds.mjs OLD_DIST NEW_DIST DIR [--models a,b] [--runs N]');
  process.exit(2);
}
const flag = (name, fallback) => (rest.includes(`--${name}`) ? rest[rest.indexOf(`--${name}`) + 1] : fallback);
const runs = Number(flag('runs', '15'));
const models = flag('models', readdirSync(dir).filter((m) => existsSync(join(dir, m, 'model.onnx'))).join(',')).split(',');
const load = (d) => import(pathToFileURL(resolve(d, 'index.js')).href);
const [A, B] = [await load(oldDist), await load(newDist)];
const { decodeTensor } = await import(pathToFileURL(resolve(newDist, 'loader/index.js')).href);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

console.log('| model | old ms | new ms | speed-up |\n|---|---:|---:|---:|');
for (const m of models) {
  const bytes = readFileSync(join(dir, m, 'model.onnx'));
  const sessions = [];
  for (const lib of [A, B]) {
    const s = await lib.InferenceSession.create(bytes);
    const feeds = {};
    s.inputNames.forEach((name, i) => {
      const t = decodeTensor(new Uint8Array(readFileSync(join(dir, m, 'test_data_set_0', `input_${i}.pb`))));
      feeds[name] = new lib.Tensor(t.dtype, t.data, t.shape);
    });
    for (let i = 0; i < 3; i++) await s.run(feeds);
    sessions.push({ s, feeds, times: [] });
  }
  for (let i = 0; i < runs; i++) {
    for (const x of sessions) {
      const t0 = performance.now();
      await x.s.run(x.feeds);
      x.times.push(performance.now() - t0);
    }
  }
  const [a, b] = sessions.map((x) => median(x.times));
  console.log(`| ${m} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(a / b).toFixed(1)}× |`);
}
