/** `tinfer test DIR...`: ONNX test-layout folders, compared at rtol/atol; non-zero exit on any failure. */
import { OptionError } from '../errors.js';
import { parseArgs, flagChoice, flagNumber } from './args.js';
import { BACKENDS } from './run.js';
import { findTestDirs, runTestDir, type OutputCheck } from './test-runner.js';

export async function testCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { command: 'test', values: ['rtol', 'atol', 'backend'], booleans: ['verbose'] });
  if (args.positional.length === 0) throw new OptionError('test: give one or more folders (tinfer test DIR...)', 'DIR');
  const tol = { rtol: flagNumber(args, 'rtol', 1e-3, { integer: false }), atol: flagNumber(args, 'atol', 1e-5, { integer: false }) };
  const backend = flagChoice(args, 'backend', BACKENDS, 'auto');
  process.stdout.write(`tolerance: |got - expected| <= atol ${tol.atol} + rtol ${tol.rtol} × |expected| for every element\n`);
  const dirs = args.positional.flatMap((p) => {
    const found = findTestDirs(p);
    if (found.length === 0) process.stderr.write(`tinfer test: no model.onnx under '${p}'\n`);
    return found;
  });
  let passed = 0;
  let failed = 0;
  for (const dir of dirs) {
    const r = runTestDir(dir, tol, { backend });
    if (r.ok) passed++;
    else failed++;
    process.stdout.write(`${r.ok ? 'PASS' : 'FAIL'} ${dir} (load ${r.loadMs.toFixed(1)} ms)\n`);
    if (r.error) process.stdout.write(`  error: ${r.error}\n`);
    for (const d of r.datasets) {
      if (d.error) {
        process.stdout.write(`  ${d.dataset}: error: ${d.error}\n`);
        continue;
      }
      for (const o of d.outputs) process.stdout.write(`  ${outputLine(d.dataset, o, d.ms)}\n`);
    }
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed > 0 || dirs.length === 0 ? 1 : 0;
}

/**
 * `ok   test_data_set_0 y: tolerance used 0.31 (max abs 3.1e-6, max rel 2.0e+0), 1.2 ms` or
 * `FAIL test_data_set_0 y: element 7: got ..., expected ...: |diff| ... > atol ... + rtol ... × |expected| = ...`.
 * Passing lines say when the max relative error is large only where |expected| is near 0 (atol governs there).
 */
function outputLine(dataset: string, o: OutputCheck, ms: number): string {
  const stats = `max abs ${o.maxAbs.toExponential(2)}, max rel ${o.maxRel.toExponential(2)}`;
  if (!o.ok) return `FAIL ${dataset} ${o.name}: ${o.message ?? ''} (${stats}, tolerance used ${fmtRatio(o.worst)})`;
  const note = o.maxRel > 1 ? '; the large relative error is where |expected| is near 0, within atol' : '';
  return `ok   ${dataset} ${o.name}: tolerance used ${fmtRatio(o.worst)} (${stats}${note}), ${ms.toFixed(1)} ms`;
}

function fmtRatio(x: number | undefined): string {
  if (x === undefined) return '-';
  return Number.isFinite(x) ? x.toPrecision(2) : 'Infinity';
}
