/**
 * One onnxruntime-node snippet run against onnxruntime-node itself and against tinfer: names, metadata field by
 * field, output types, dims and values, fetches and RunOptions, Tensor fields, and errors' shape. Uses the peer
 * install of bench/peers (or TINFER_ORT_NODE=/path/to/onnxruntime-node); skips with a message when absent.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as tinfer from '../src/index.js';
import { ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';
import { REPO_ROOT } from './shared.js';

const candidates = [
  process.env.TINFER_ORT_NODE,
  join(REPO_ROOT, 'bench/peers/node_modules/onnxruntime-node'),
  resolve(REPO_ROOT, '../main/bench/peers/node_modules/onnxruntime-node'),
].filter((p): p is string => !!p);
const ortPath = candidates.find((p) => existsSync(join(p, 'package.json')));
if (!ortPath) console.warn(`[skip] dropin-compat: onnxruntime-node not found (looked in ${candidates.join(', ')}; npm run bench:peers installs it)`);

type Ort = typeof tinfer;

/**
 * x float32 [batch, 4] (+ unnamed dim via y's declared output), ids int64 [2]:
 *   y = Relu(x + b)                       float32 [batch, 4]
 *   g = Gather(y, ids, axis 1)            float32 [batch, 2]
 *   n = Cast(ArgMax(y, axis 1), int32)    int32 (shape undeclared)
 */
function modelBytes(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', ['batch', 4]);
  const ids = b.input('ids', 'int64', [2]);
  const [s] = b.node('Add', [x, b.initializer('b', tensor('float32', [4], [1, -1, 2, -2]))]);
  const [y] = b.node('Relu', [s!], {}, { outputs: ['y'] });
  b.output(y!, { dtype: 'float32', shape: ['batch', null] });
  b.output(b.node('Gather', [y!, ids], { axis: 1 }, { outputs: ['g'] })[0]!, { dtype: 'float32', shape: ['batch', 2] });
  const [am] = b.node('ArgMax', [y!], { axis: 1, keepdims: 0 });
  b.output(b.node('Cast', [am!], { to: 6 }, { outputs: ['n'] })[0]!, { dtype: 'int32', shape: null });
  return b.toBytes();
}

/** The snippet, written once against onnxruntime-common's API. */
async function snippet(ort: Ort) {
  const session = await ort.InferenceSession.create(modelBytes());
  const feeds = {
    x: new ort.Tensor('float32', Float32Array.from([0.5, 0.5, -3, 3, -1, 2, 0, 0]), [2, 4]),
    ids: new ort.Tensor('int64', BigInt64Array.from([3n, 0n]), [2]),
  };
  const all = await session.run(feeds);
  const withOptions = await session.run(feeds, { logSeverityLevel: 3 });
  const fetched = await session.run(feeds, ['g']);
  const fetchedRecord = await session.run(feeds, { n: null });
  const outputs = Object.fromEntries(
    Object.entries(all).map(([k, t]) => [k, { type: t.type, dims: [...t.dims], size: t.size, location: t.location, data: Array.from(t.data as ArrayLike<number>, Number) }]),
  );
  let feedError: unknown;
  try {
    await session.run({ x: feeds.x });
  } catch (e) {
    feedError = e;
  }
  const meta = (m: readonly object[]) => m.map((v) => ({ ...v }));
  const result = {
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    inputMetadata: meta(session.inputMetadata),
    outputMetadata: meta(session.outputMetadata),
    outputs,
    withOptionsKeys: Object.keys(withOptions),
    fetchedKeys: Object.keys(fetched),
    fetchedRecordKeys: Object.keys(fetchedRecord),
    getData: Array.from((await all.y!.getData()) as Float32Array),
    feedError: feedError instanceof Error,
  };
  await session.release();
  return result;
}

describe.skipIf(!ortPath)('tinfer matches onnxruntime-node on one snippet', async () => {
  const require = createRequire(import.meta.url);
  const ort = ortPath ? (require(ortPath) as Ort) : undefined;
  const theirs = ort ? await snippet(ort) : undefined;
  const ours = await snippet(tinfer);

  it('has the same input and output names', () => {
    expect(ours.inputNames).toEqual(theirs!.inputNames);
    expect(ours.outputNames).toEqual(theirs!.outputNames);
  });

  it('has the same input metadata, field by field (tinfer adds dims)', () => {
    const strip = (m: object[]) => m.map(({ dims: _dims, ...rest }: { dims?: unknown }) => rest);
    expect(strip(ours.inputMetadata)).toEqual(theirs!.inputMetadata);
  });

  it('has the same output metadata: name, isTensor, type; shape where the model declares every dim', () => {
    const strip = (m: object[]) => m.map(({ dims: _dims, ...rest }: { dims?: unknown }) => rest);
    const [y, g, n] = strip(ours.outputMetadata) as { name: string; shape: unknown[] }[];
    const [ty, tg, tn] = theirs!.outputMetadata as { name: string; shape: unknown[] }[];
    expect(g).toEqual(tg);
    const noShape = (v: object | undefined) => ({ ...v, shape: undefined });
    expect(noShape(y)).toEqual(noShape(ty));
    expect(noShape(n)).toEqual(noShape(tn));
    // The documented difference: tinfer reports the declared shape ('' for an unnamed dim, [] for no shape);
    // onnxruntime merges in its own shape inference.
    expect(y!.shape).toEqual(['batch', '']);
    expect(ty!.shape).toEqual(['batch', 4]);
    expect(n!.shape).toEqual([]);
    expect(tn!.shape).toEqual(['batch']);
  });

  it('gives the same outputs: type, dims, size, location and values', () => {
    for (const name of Object.keys(theirs!.outputs)) {
      const o = ours.outputs[name]!;
      const t = theirs!.outputs[name]!;
      expect({ ...o, data: undefined }, name).toEqual({ ...t, data: undefined });
      o.data.forEach((v, i) => expect(v).toBeCloseTo(t.data[i]!, 6));
    }
  });

  it('handles RunOptions, fetches lists and fetches records the same way', () => {
    expect(ours.withOptionsKeys).toEqual(theirs!.withOptionsKeys);
    expect(ours.fetchedKeys).toEqual(theirs!.fetchedKeys);
    expect(ours.fetchedRecordKeys).toEqual(theirs!.fetchedRecordKeys);
    expect(ours.getData).toEqual(theirs!.getData);
  });

  it('throws an Error for a missing feed in both', () => {
    expect(ours.feedError).toBe(true);
    expect(theirs!.feedError).toBe(true);
  });
});
