// release() gives a session's memory back: 100 create/run/release cycles of a model with 8 MB of weights (each
// session holds ~20 MB: its decoded weights, their packs in its own wasm memory, the arena) keep the process's RSS
// flat. A session kept alive by a cache or a registry would add its ~20 MB per cycle: 1.6 GB over the last 80.
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { tensor } from './harness.js';
import { ModelBuilder } from './onnx-builder.js';

/** x [1, 1024] · W [1024, 2048] + Relu, W 8 MB. */
function model(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', [1, 1024]);
  const w = b.initializer('w', tensor('float32', [1024, 2048], Float32Array.from({ length: 1024 * 2048 }, (_, i) => Math.sin(i) * 0.01)));
  const [m] = b.node('MatMul', [x, w]);
  const [y] = b.node('Relu', [m!], {}, { outputs: ['y'] });
  b.output(y!, { dtype: 'float32', shape: [1, 2048] });
  return b.toBytes();
}

describe('release() gives memory back', () => {
  it('100 create/run/release cycles keep RSS flat', async () => {
    const bytes = model();
    const x = new Tensor('float32', Float32Array.from({ length: 1024 }, (_, i) => Math.cos(i)), [1, 1024]);
    let want: number[] | undefined;
    let rssAfter20 = 0;
    for (let cycle = 1; cycle <= 100; cycle++) {
      const s = await InferenceSession.create(bytes);
      const y = Array.from((await s.run({ x })).y!.data as Float32Array);
      want ??= y;
      expect(y).toEqual(want);
      await s.release();
      if (cycle === 20) rssAfter20 = process.memoryUsage().rss;
    }
    const growthMB = (process.memoryUsage().rss - rssAfter20) / 2 ** 20;
    expect(growthMB).toBeLessThan(200);
  }, 120_000);
});
