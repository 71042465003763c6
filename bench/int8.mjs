// INT8 post-training quantization benchmark: for resnet18, mobilenet_v2 and squeezenet1_1 from ../shared/models,
// quantize (per-channel QDQ, minmax, calibrated on 16 seeded N(0,1) inputs), then report on 16 other inputs:
// model sizes, cosine similarity and top-1 agreement vs fp32, tinfer int8 vs fp32 latency (medians) and memory
// (session.memory(): arenaBytes + weightBytes), and whether onnxruntime-node (bench/peers/node_modules) loads the
// quantized model and agrees with tinfer within one output quantization step. Prints a markdown table.
// Run after `npm run build`:
//   node bench/int8.mjs [--models a,b] [--runs N] [--seed S] [--method minmax|percentile|entropy] [--format qdq|qoperator]
//                       [--zoo DIR] [--out DIR (writes <model>.int8.onnx)] [--gptq] [--empirical-bias]
//                       [--mixed-precision COS [--max-float N]] [--dist DIR (default ../dist)]
// (--method also takes mse; --gptq: GPTQ weight rounding; --empirical-bias: layer-by-layer empirical bias correction;
//  --mixed-precision: keep the most sensitive activations/weights in float until the calibration cosine reaches COS)
// The onnxruntime column also gives onnxruntime's own mean cosine vs tinfer's fp32 output on the checked inputs, which
// separates the quantizer's choices from tinfer's integer kernels.
import { createRequire } from 'node:module';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const dist = resolve(flag('dist', join(here, '../dist')));
const load = (path) => import(pathToFileURL(join(dist, path)).href);
const { InferenceSession } = await load('index.js');
const { decodeModel } = await load('loader/index.js');
const { quantizeModel, generateFeeds, cosineSimilarity } = await load('quantize/index.js');
const zoo = resolve(flag('zoo', join(here, '../../shared/models')));
const models = flag('models', 'resnet18,mobilenet_v2,squeezenet1_1').split(',');
const runs = Number(flag('runs', '10'));
const seed = Number(flag('seed', '1'));
const method = flag('method', 'minmax');
const format = flag('format', 'qdq');
const outDir = flag('out', undefined);
const gptq = args.includes('--gptq');
const empiricalBiasCorrection = args.includes('--empirical-bias');
const mixedTarget = flag('mixed-precision', undefined);
const mixedPrecision = mixedTarget === undefined ? undefined : { targetCosine: Number(mixedTarget), maxKept: Number(flag('max-float', '16')) };
const extras = [
  gptq ? 'gptq' : '',
  empiricalBiasCorrection ? 'empirical bias correction' : '',
  mixedPrecision ? `mixed precision to cosine ${mixedPrecision.targetCosine} (max ${mixedPrecision.maxKept} float)` : '',
]
  .filter(Boolean)
  .join(', ');

function loadOrt() {
  try {
    return createRequire(join(here, 'peers', 'package.json'))('onnxruntime-node');
  } catch (e) {
    process.stderr.write(`onnxruntime-node not available (${e.message.split('\n')[0]}); run npm run bench:peers once\n`);
    return undefined;
  }
}
const ort = loadOrt();

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One warm-up run, then `runs` timed runs; median ms and memory (arena + weights). */
function timeSession(bytes, feeds) {
  const session = InferenceSession.createSync(bytes);
  session.runSync(feeds);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    session.runSync(feeds);
    times.push(performance.now() - t);
  }
  const m = session.memory();
  return { session, ms: median(times), memory: m.arenaBytes + m.weightBytes };
}

/**
 * onnxruntime-node on the quantized model vs tinfer's int8 outputs: max |diff| over the evaluation inputs, and
 * onnxruntime's mean cosine vs the fp32 reference session.
 */
async function checkOrt(bytes, session, feeds, reference) {
  if (!ort) return { status: 'n/a', maxDiff: NaN, cosine: NaN };
  let ortSession;
  try {
    ortSession = await ort.InferenceSession.create(bytes);
  } catch (e) {
    return { status: `load failed: ${e.message.split('\n')[0]}`, maxDiff: NaN, cosine: NaN };
  }
  let maxDiff = 0;
  let cosines = 0;
  let count = 0;
  for (const f of feeds) {
    const ortFeeds = Object.fromEntries(Object.entries(f).map(([k, t]) => [k, new ort.Tensor(t.type, t.data, t.dims)]));
    const want = await ortSession.run(ortFeeds);
    const got = session.runSync(f);
    const fp32 = reference.runSync(f);
    for (const name of session.outputNames) {
      const a = want[name].data;
      const b = got[name].data;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      cosines += cosineSimilarity(fp32[name].data, a);
      count++;
    }
  }
  return { status: 'ok', maxDiff, cosine: cosines / count };
}

const mib = (n) => (n / 1024 / 1024).toFixed(2);
const rows = [];
for (const name of models) {
  const path = join(zoo, name, 'model.onnx');
  if (!existsSync(path)) {
    process.stderr.write(`skip ${name}: ${path} not found\n`);
    continue;
  }
  const bytes = new Uint8Array(readFileSync(path));
  const model = decodeModel(bytes);
  const calibration = generateFeeds(model, { count: 16, seed });
  const evaluation = generateFeeds(model, { count: 16, seed: seed + 1 });
  process.stderr.write(`${name}: quantizing (${format}, ${method}, per channel)...\n`);
  const t0 = performance.now();
  const { bytes: q, report } = quantizeModel(bytes, calibration, { perChannel: true, method, format, evaluation, gptq, empiricalBiasCorrection, mixedPrecision });
  if (report.probeCosine) {
    const { before, after } = report.probeCosine;
    const kept = report.keptFloat.map((k) => `${k.kind} ${k.name}`).join(', ') || 'nothing';
    process.stderr.write(`${name}: calibration cosine ${before.toFixed(5)} -> ${after.toFixed(5)}; kept in float: ${kept}\n`);
  }
  const quantizeSeconds = (performance.now() - t0) / 1000;
  if (outDir) writeFileSync(join(outDir, `${name}.int8.onnx`), q);
  process.stderr.write(`${name}: timing...\n`);
  const fp32 = timeSession(bytes, evaluation[0]);
  const int8 = timeSession(q, evaluation[0]);
  const ortCheck = await checkOrt(q, int8.session, evaluation.slice(0, 4), fp32.session);
  const step = Math.max(...Object.values(report.outputScales), 0);
  const ortVerdict = ortCheck.status !== 'ok' ? ortCheck.status : `${ortCheck.maxDiff <= step ? 'ok' : 'MISMATCH'} (max diff ${ortCheck.maxDiff.toPrecision(3)}, step ${step.toPrecision(3)}; ort cosine ${ortCheck.cosine.toFixed(5)})`;
  rows.push(
    `| ${name} | ${mib(report.sizeBefore)} | ${mib(report.sizeAfter)} (${(report.sizeAfter / report.sizeBefore).toFixed(3)}x) | ` +
      `${report.meanCosine.toFixed(5)} (min ${report.minCosine.toFixed(5)}${mixedPrecision ? `; ${report.keptFloat.length} float` : ''}) | ${(report.top1Agreement * 100).toFixed(0)}% | ` +
      `${fp32.ms.toFixed(1)} | ${int8.ms.toFixed(1)} | ${(fp32.ms / int8.ms).toFixed(2)}x | ${mib(fp32.memory)} | ${mib(int8.memory)} | ` +
      `${quantizeSeconds.toFixed(1)} | ${ortVerdict} |`,
  );
}

process.stdout.write(
  `\nINT8 (${format}, ${method}${extras ? `, ${extras}` : ''}, per-channel int8 weights, uint8 activations; calibrated on 16 seeded N(0,1) inputs, evaluated on 16 others; node ${process.version}, ${process.arch})\n\n` +
    '| model | fp32 MiB | int8 MiB | mean cosine | top-1 agree | fp32 ms | int8 ms | speedup | fp32 mem MiB | int8 mem MiB | quantize s | onnxruntime-node |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n' +
    rows.join('\n') +
    '\n',
);
