import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeTensor } from '../src/loader/index.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { WasmContext } from '../src/wasm/context.js';
import { MODEL_ZOO, sharedAvailable } from './shared.js';

// Nothing slow is silent: on every zoo model, with wasm available, no float or 8-bit hot-path node runs a JS variant.
// A node counts (StepProfile.slowJs) when its variant's name ends in __js or __ref, it writes a float or 8-bit output of
// at least 256 elements, and its kernel did not declare the JS path fine (jsOk: block copies, integer values).
// Models whose remaining JS nodes are known gaps list them here, each with the reason; the test fails when such a
// node disappears (update the list) or a new one appears.

const KNOWN_JS: Record<string, string[]> = {};

const haveZoo = existsSync(MODEL_ZOO);
const wasm = WasmContext.create();

describe.skipIf(!sharedAvailable(MODEL_ZOO, 'hot path: model zoo') || wasm === undefined)('every zoo model on its fast path', () => {
  const models = haveZoo ? readdirSync(MODEL_ZOO).filter((d) => existsSync(join(MODEL_ZOO, d, 'model.onnx'))) : [];
  it.each(models)('%s: no float or 8-bit node of 256+ elements runs a JS variant while wasm is available', async (name) => {
    const dir = join(MODEL_ZOO, name);
    const session = await InferenceSession.create(readFileSync(join(dir, 'model.onnx')), { backend: 'wasm', profile: true });
    const feeds: Record<string, Tensor> = {};
    session.inputNames.forEach((input, i) => {
      const t = decodeTensor(new Uint8Array(readFileSync(join(dir, 'test_data_set_0', `input_${i}.pb`))));
      feeds[input] = new Tensor(t.dtype as 'float32', t.data as Float32Array, t.shape);
    });
    await session.run(feeds);
    const slow = session.profile().filter((p) => p.slowJs && p.calls > 0);
    const known = new Set(KNOWN_JS[name] ?? []);
    const unexpected = slow.filter((p) => !known.has(p.opType)).map((p) => `${p.node} ${p.opType} ${p.variant} [${p.outputShapes.map((s) => s.join('x'))}]`);
    expect(unexpected.join("; "), `${name}: JS variants on the hot path`).toBe("");
    for (const op of known) expect(slow.some((p) => p.opType === op), `${name}: ${op} is listed as a known JS node but ran on wasm (update KNOWN_JS)`).toBe(true);
  });
});
