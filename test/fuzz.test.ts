/**
 * Hostile-input fuzzing of the loader (and, through InferenceSession.create, of graph validation):
 * truncated and byte-flipped copies of the zoo models must either load or throw a TinferError
 * subclass. Any other exception (TypeError, RangeError, stack overflow) is a bug, and so is an
 * allocation past maxTensorBytes. Seeded, so a failure names the case that reproduces it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LimitError, TinferError } from '../src/errors.js';
import { decodeModel, decodeTensor, type Model } from '../src/loader/index.js';
import { InferenceSession, type Feeds } from '../src/session/session.js';
import { fromTensorData } from '../src/session/tensor.js';
import { rng } from './harness.js';
import { MODEL_ZOO, sharedAvailable } from './shared.js';

const LIMIT = 64 * 1024 * 1024;
const SMALL_FILE = 3 * 1024 * 1024;

interface Sample {
  name: string;
  bytes: Uint8Array;
}

function loadZoo(): Sample[] {
  if (!existsSync(MODEL_ZOO)) return [];
  return readdirSync(MODEL_ZOO)
    .filter((d) => existsSync(join(MODEL_ZOO, d, 'model.onnx')))
    .sort()
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(MODEL_ZOO, name, 'model.onnx'))) }));
}

interface Outcome {
  ok: number;
  errors: Map<string, number>;
}

/** Every tensor a successful decode produced stays within the limit. */
function largestTensorBytes(m: Model): number {
  let max = 0;
  const visit = (g: Model['graph']): void => {
    for (const t of g.initializers.values()) {
      max = Math.max(max, Array.isArray(t.data) ? t.data.length * 8 : (t.data as { byteLength: number }).byteLength);
    }
    for (const n of g.nodes) {
      for (const a of n.attributes.values()) {
        if (a.type === 'graph') visit(a.value);
        if (a.type === 'graphs') a.value.forEach(visit);
        if (a.type === 'tensor' && !Array.isArray(a.value.data)) max = Math.max(max, a.value.data.byteLength);
      }
    }
  };
  visit(m.graph);
  return max;
}

function tryDecode(bytes: Uint8Array, label: string, outcome: Outcome): void {
  let model: Model;
  try {
    model = decodeModel(bytes, { maxTensorBytes: LIMIT });
  } catch (e) {
    if (!(e instanceof TinferError)) {
      throw new Error(`${label}: decodeModel threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    }
    outcome.errors.set(e.constructor.name, (outcome.errors.get(e.constructor.name) ?? 0) + 1);
    return;
  }
  outcome.ok++;
  const largest = largestTensorBytes(model);
  if (largest > LIMIT) throw new Error(`${label}: decoded a ${largest}-byte tensor past the ${LIMIT}-byte limit`);
}

/**
 * Creates a session from the bytes and, when that succeeds, runs it once on the model's own test
 * inputs: both steps must succeed or throw a TinferError.
 */
async function tryCreateSession(bytes: Uint8Array, label: string, outcome: Outcome, feeds?: Feeds): Promise<void> {
  try {
    const session = await InferenceSession.create(bytes, { maxTensorBytes: LIMIT });
    if (feeds) session.runSync(feeds);
    outcome.ok++;
  } catch (e) {
    if (!(e instanceof TinferError)) {
      throw new Error(`${label}: InferenceSession threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    }
    outcome.errors.set(e.constructor.name, (outcome.errors.get(e.constructor.name) ?? 0) + 1);
  }
}

function testFeeds(name: string): Feeds {
  const dir = join(MODEL_ZOO, name, 'test_data_set_0');
  const feeds: Feeds = {};
  for (const f of readdirSync(dir).filter((x) => x.startsWith('input_'))) {
    const t = decodeTensor(new Uint8Array(readFileSync(join(dir, f))));
    feeds[t.name] = fromTensorData(t);
  }
  return feeds;
}

/**
 * A copy of bytes with 1-8 random bytes replaced by random values. With `structural`, positions are
 * drawn from the first and last 4 KiB, where exporters put the nodes (GraphProto field 1 comes first)
 * and the inputs, outputs and opsets (the last fields), rather than from the bulk of weight bytes.
 */
function flipBytes(bytes: Uint8Array, next: () => number, structural = false): { copy: Uint8Array; at: number[] } {
  const copy = bytes.slice();
  const count = 1 + Math.floor(next() * 8);
  const window = Math.min(4096, copy.length);
  const at: number[] = [];
  for (let k = 0; k < count; k++) {
    let i = Math.floor(next() * copy.length);
    if (structural) {
      const j = Math.floor(next() * 2 * window);
      i = j < window ? j : copy.length - 2 * window + j;
    }
    copy[i] = Math.floor(next() * 256);
    at.push(i);
  }
  return { copy, at };
}

function report(what: string, o: Outcome): void {
  console.log(`${what}: ${o.ok} loaded, errors ${JSON.stringify(Object.fromEntries(o.errors))}`);
}

const zoo = loadZoo();
const small = zoo.filter((s) => s.bytes.length <= SMALL_FILE);
const large = zoo.filter((s) => s.bytes.length > SMALL_FILE);

describe.skipIf(!sharedAvailable(MODEL_ZOO, 'fuzz'))('fuzzing the loader with the zoo models', () => {
  it('every model decodes unmodified under the fuzz limit', () => {
    expect(small.length).toBeGreaterThan(3);
    for (const s of zoo) expect(() => decodeModel(s.bytes, { maxTensorBytes: LIMIT }), s.name).not.toThrow();
  });

  it('1000 truncations give a model or a TinferError', () => {
    const next = rng(20240601);
    const outcome: Outcome = { ok: 0, errors: new Map() };
    for (let i = 0; i < 1000; i++) {
      // Mostly small models (cheap, structure-dense); every 50th case truncates a large one.
      const pool = i % 50 === 0 && large.length ? large : small;
      const s = pool[Math.floor(next() * pool.length)]!;
      const cut = Math.floor(next() * s.bytes.length);
      tryDecode(s.bytes.subarray(0, cut), `truncate ${s.name} at ${cut}`, outcome);
    }
    report('truncations', outcome);
    expect(outcome.ok + [...outcome.errors.values()].reduce((a, b) => a + b, 0)).toBe(1000);
    expect(outcome.errors.get('DecodeError') ?? 0).toBeGreaterThan(900); // almost every cut leaves a field unfinished
  });

  it('1000 copies with 1-8 flipped bytes give a model or a TinferError', () => {
    const next = rng(7);
    const outcome: Outcome = { ok: 0, errors: new Map() };
    for (let i = 0; i < 1000; i++) {
      const pool = i % 100 === 0 && large.length ? large : small;
      const s = pool[Math.floor(next() * pool.length)]!;
      const structural = i % 2 === 1;
      const { copy, at } = flipBytes(s.bytes, next, structural);
      tryDecode(copy, `flip ${s.name} case ${i}${structural ? ' (structural)' : ''} at [${at}]`, outcome);
    }
    report('byte flips', outcome);
    expect(outcome.errors.size).toBeGreaterThan(0);
  });

  it('500 truncated or flipped test-data tensors give a tensor or a TinferError', () => {
    const files = zoo.flatMap((z) =>
      ['test_data_set_0', 'test_data_set_1'].flatMap((ds) => {
        const dir = join(MODEL_ZOO, z.name, ds);
        return existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [];
      }),
    );
    const small = files.map((f) => readFileSync(f)).filter((b) => b.length < 1 << 20).map((b) => new Uint8Array(b));
    expect(small.length).toBeGreaterThan(5);
    const next = rng(3);
    const counts = new Map<string, number>();
    for (let i = 0; i < 500; i++) {
      const b = small[Math.floor(next() * small.length)]!;
      const input = i % 2 ? b.subarray(0, Math.floor(next() * b.length)) : flipBytes(b, next, true).copy;
      try {
        decodeTensor(input, { maxTensorBytes: LIMIT });
        counts.set('ok', (counts.get('ok') ?? 0) + 1);
      } catch (e) {
        if (!(e instanceof TinferError)) throw new Error(`tensor case ${i}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
        counts.set(e.constructor.name, (counts.get(e.constructor.name) ?? 0) + 1);
      }
    }
    console.log(`tensor fuzz: ${JSON.stringify(Object.fromEntries(counts))}`);
    expect(counts.size).toBeGreaterThan(1);
  });

  it('huge declared dims are refused with LimitError rather than allocated', () => {
    // A 16-byte initializer claiming 2^80 floats: must be refused before anything is allocated.
    const hostile = new Uint8Array([
      // TensorProto: dims = [2^40, 2^40] (packed), data_type = FLOAT
      0x0a, 0x0c, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x10, 0x01,
    ]);
    const graph = new Uint8Array([0x2a, hostile.length, ...hostile]); // GraphProto.initializer
    const model = new Uint8Array([0x08, 0x08, 0x3a, graph.length, ...graph]); // ir_version, graph
    expect(() => decodeModel(model, { maxTensorBytes: LIMIT })).toThrow(LimitError);
  });
});

describe.skipIf(!sharedAvailable(MODEL_ZOO, 'fuzz (session)'))('fuzzing InferenceSession.create (decode + graph validation)', () => {
  // Session creation prepares kernels too, so it uses the small models only and fewer cases.
  const sessionModels = small.filter((s) => s.bytes.length <= 300 * 1024);

  it('unmodified small models create sessions and run', async () => {
    const outcome: Outcome = { ok: 0, errors: new Map() };
    for (const s of sessionModels) await tryCreateSession(s.bytes, s.name, outcome, testFeeds(s.name));
    expect(outcome.ok).toBe(sessionModels.length);
  });

  it('300 truncated and 300 byte-flipped copies give a session that runs, or a TinferError', async () => {
    const next = rng(99);
    const outcome: Outcome = { ok: 0, errors: new Map() };
    for (let i = 0; i < 600; i++) {
      const s = sessionModels[Math.floor(next() * sessionModels.length)]!;
      if (i % 2 === 0) {
        const cut = Math.floor(next() * s.bytes.length);
        await tryCreateSession(s.bytes.subarray(0, cut), `session: truncate ${s.name} at ${cut}`, outcome);
      } else {
        const { copy, at } = flipBytes(s.bytes, next, i % 4 === 1);
        await tryCreateSession(copy, `session: flip ${s.name} case ${i} at [${at}]`, outcome, testFeeds(s.name));
      }
    }
    report('session fuzz', outcome);
    expect(outcome.errors.size).toBeGreaterThan(0);
  });
});
