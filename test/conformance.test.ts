/**
 * The ONNX backend node suite through InferenceSession. Tests listed in conformance-passing.txt must keep
 * passing (a regression fails CI); others are run and reported. UPDATE_CONFORMANCE=1 rewrites the list.
 * NODE_TESTS=<regex> restricts the run to matching test folders (and then never rewrites the list).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTestDir, type ModelResult } from '../src/cli/test-runner.js';
import { NODE_SUITE, REPO_ROOT, sharedAvailable } from './shared.js';

const LIST = join(REPO_ROOT, 'test/conformance-passing.txt');
const TOL = { rtol: 1e-3, atol: 1e-5 };
const available = sharedAvailable(NODE_SUITE, 'ONNX node conformance suite');
const filter = process.env.NODE_TESTS ? new RegExp(process.env.NODE_TESTS) : undefined;
const expectedPass = new Set(
  existsSync(LIST)
    ? readFileSync(LIST, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
    : [],
);

function summarize(r: ModelResult): string {
  if (r.error) return r.error;
  return r.datasets
    .filter((d) => !d.ok)
    .map((d) => `${d.dataset}: ${d.error ?? d.outputs.filter((o) => !o.ok).map((o) => `${o.name}: ${o.message}`).join('; ')}`)
    .join(' | ');
}

describe.skipIf(!available)('ONNX node suite', () => {
  const names = available ? readdirSync(NODE_SUITE).filter((n) => n.startsWith('test_')).sort() : [];
  const selected = filter ? names.filter((n) => filter.test(n)) : names;
  const passed: string[] = [];
  const failed: string[] = [];

  // With a filter every selected test must pass (a developer's loop); without, the committed list must pass.
  const required = filter ? selected : selected.filter((n) => expectedPass.has(n));
  const others = filter ? [] : selected.filter((n) => !expectedPass.has(n));

  for (const name of required) {
    it(name, () => {
      const r = runTestDir(join(NODE_SUITE, name), TOL);
      (r.ok ? passed : failed).push(name);
      if (!r.ok) expect.fail(`${name}: ${summarize(r)}`);
    });
  }

  it.skipIf(others.length === 0)(`runs the ${others.length} tests not yet in the passing list and reports them`, () => {
    for (const name of others) {
      const r = runTestDir(join(NODE_SUITE, name), TOL);
      (r.ok ? passed : failed).push(name);
      if (!r.ok && process.env.VERBOSE_CONFORMANCE) console.log(`FAIL ${name}: ${summarize(r)}`);
    }
    expect(passed.length + failed.length).toBe(required.length + others.length);
  });

  afterAll(() => {
    console.log(`node suite: ${passed.length} passed, ${failed.length} failed of ${selected.length}`);
    const newly = passed.filter((n) => !expectedPass.has(n));
    if (newly.length) console.log(`newly passing (add with UPDATE_CONFORMANCE=1): ${newly.join(' ')}`);
    if (process.env.UPDATE_CONFORMANCE === '1' && !filter) {
      writeFileSync(LIST, `# ONNX node tests that pass through InferenceSession (rtol ${TOL.rtol}, atol ${TOL.atol}).\n${passed.sort().join('\n')}\n`);
    }
  });
});
