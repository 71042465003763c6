/**
 * The model zoo in ../shared/models (PyTorch references), through the same runner as `tinfer test`.
 * MODELS=<regex> restricts the run. Tolerances are the issue's: rtol 1e-3, atol 1e-4 (int8 QDQ: atol 1e-3).
 */
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTestDir } from '../src/cli/test-runner.js';
import { MODEL_ZOO, sharedAvailable } from './shared.js';

const available = sharedAvailable(MODEL_ZOO, 'model zoo');
const filter = process.env.MODELS ? new RegExp(process.env.MODELS) : undefined;

/** Models not yet expected to pass; each entry says which issue brings it. */
const PENDING: Record<string, string> = {};

describe.skipIf(!available)('model zoo', () => {
  const names = available
    ? readdirSync(MODEL_ZOO).filter((n) => existsSync(join(MODEL_ZOO, n, 'model.onnx')) && (!filter || filter.test(n)))
    : [];
  // Every model on both backends: the default (WebAssembly SIMD where available) and plain JavaScript.
  for (const backend of ['auto', 'js'] as const) for (const name of names) {
    const atol = name.endsWith('_int8') ? 1e-3 : 1e-4;
    it.skipIf(name in PENDING && !filter)(`${name} (${backend}) matches the reference at rtol 1e-3, atol ${atol}`, () => {
      const r = runTestDir(join(MODEL_ZOO, name), { rtol: 1e-3, atol }, { backend });
      const detail = r.error ?? r.datasets.map((d) => `${d.dataset}: ${d.error ?? d.outputs.map((o) => `${o.name} maxAbs ${o.maxAbs.toExponential(2)} ${o.message ?? ''}`).join(', ')}`).join(' | ');
      console.log(`${name}: load ${r.loadMs.toFixed(0)} ms, ${detail}`);
      expect(r.ok, detail).toBe(true);
    });
  }
});
