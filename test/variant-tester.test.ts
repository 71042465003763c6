import { describe, expect, it } from 'vitest';
import { ModelBuilder } from './onnx-builder.js';
import { randomTensor } from './harness.js';
import { compareWithReference } from './variant-tester.js';

// The tester itself: it must fail when outputs differ or when the expected variant did not run.
function addModel(a: number[], b: number[]): ModelBuilder {
  const m = new ModelBuilder();
  m.input('a', 'float32', a);
  m.input('b', 'float32', b);
  m.output(m.node('Add', ['a', 'b'], {}, { outputs: ['y'] })[0]!);
  return m;
}

describe('variant tester', () => {
  it('passes an equal-shape Add and names its variant', async () => {
    const v = await compareWithReference('Add', { name: 'equal', model: addModel([2, 3], [2, 3]), feeds: { a: randomTensor([2, 3], 1), b: randomTensor([2, 3], 2) }, expectVariant: '' });
    expect(v).toMatch(/^f32_add/);
  });
  it('fails when the named variant did not run', async () => {
    await expect(
      compareWithReference('Add', { name: 'wrong variant', model: addModel([2, 3], [2, 3]), feeds: { a: randomTensor([2, 3], 1), b: randomTensor([2, 3], 2) }, expectVariant: 'no_such_variant' }),
    ).rejects.toThrow();
  });
});
