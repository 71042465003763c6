// transformers.js pipelines on tinfer (as onnxruntime-node) vs the real onnxruntime-node, as a table.
//   npm run build
//   ONNXRUNTIME_NODE_INSTALL=skip npm --prefix test/transformers ci --no-audit --no-fund
//   node test/transformers/compare.mjs [FIXTURES_DIR] [--runtimes ort,tinfer,...] [--json]
// FIXTURES_DIR defaults to a temp dir generated with scripts/make-hf-fixtures.py (needs python + torch + onnx).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNTIMES, compareAll, ensureFixtures, formatRows, transformersInstalled, transformersVersion } from './harness.mjs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args.splice(i, 2)[1];
};
const runtimes = opt('--runtimes')?.split(',') ?? RUNTIMES;
const json = args.includes('--json') && args.splice(args.indexOf('--json'), 1);
if (!transformersInstalled()) {
  console.error('@huggingface/transformers is not installed: ONNXRUNTIME_NODE_INSTALL=skip npm --prefix test/transformers ci');
  process.exit(2);
}
const temp = args[0] ? undefined : mkdtempSync(join(tmpdir(), 'tinfer-hf-fixtures-'));
try {
  const fx = ensureFixtures(args[0] ?? temp);
  if (fx.skip) {
    console.error(fx.skip);
    process.exit(2);
  }
  const res = await compareAll({ modelsDir: fx.dir, runtimes });
  if (json) console.log(JSON.stringify(res, null, 1));
  else {
    console.log(`@huggingface/transformers ${transformersVersion()}, node ${process.version}\n`);
    console.log(formatRows(res.rows, runtimes));
    for (const rt of runtimes) {
      const first = res.rows.map((r) => r[rt]).find((c) => c && !c.ok);
      if (first) console.log(`\n${rt}, first error:\n${first.error.stack || first.error.message}`);
    }
    if (res.calls['tinfer-adapter']) {
      const seen = new Map(res.calls['tinfer-adapter'].map((c) => [JSON.stringify(c), c]));
      console.log('\nwhat transformers.js passed to the adapter:');
      for (const c of seen.values()) console.log(' ', JSON.stringify(c));
    }
  }
} finally {
  if (temp) rmSync(temp, { recursive: true, force: true });
}
