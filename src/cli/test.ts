/** `tinfer test DIR...`: ONNX test-layout folders, compared at rtol/atol; non-zero exit on any failure. */
import { TinferError } from '../errors.js';
import { parseArgs, flagNumber } from './args.js';
import { findTestDirs, runTestDir } from './test-runner.js';

export async function testCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['verbose']);
  if (args.positional.length === 0) throw new TinferError('test: give one or more folders');
  const tol = { rtol: flagNumber(args, 'rtol', 1e-3), atol: flagNumber(args, 'atol', 1e-5) };
  const dirs = args.positional.flatMap((p) => {
    const found = findTestDirs(p);
    if (found.length === 0) process.stderr.write(`tinfer test: no model.onnx under '${p}'\n`);
    return found;
  });
  let passed = 0;
  let failed = 0;
  for (const dir of dirs) {
    const r = runTestDir(dir, tol);
    if (r.ok) passed++;
    else failed++;
    process.stdout.write(`${r.ok ? 'PASS' : 'FAIL'} ${dir} (load ${r.loadMs.toFixed(1)} ms)\n`);
    if (r.error) process.stdout.write(`  error: ${r.error}\n`);
    for (const d of r.datasets) {
      if (d.error) {
        process.stdout.write(`  ${d.dataset}: error: ${d.error}\n`);
        continue;
      }
      for (const o of d.outputs) {
        const line = `  ${d.dataset} ${o.name}: max abs ${o.maxAbs.toExponential(2)}, max rel ${o.maxRel.toExponential(2)}, ${d.ms.toFixed(1)} ms`;
        process.stdout.write(`${line}${o.ok ? '' : `  FAIL ${o.message ?? ''}`}\n`);
      }
    }
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed > 0 || dirs.length === 0 ? 1 : 0;
}
