// The default model of the classify examples: a small CNN with seeded RANDOM weights (its "classes" mean nothing),
// so the example runs from a fresh clone without downloading a model. Same interface as torchvision classifiers:
// input float32 [1, 3, 224, 224] (ImageNet-normalised), output float32 [1, 10] logits.
import { GraphBuilder, encode, randomValues, rng } from '../lib/model-builder.mjs';

export const BUILTIN_CLASSES = 10;

export function builtinCnnBytes() {
  const r = rng(2024);
  const g = new GraphBuilder('builtin_cnn');
  g.input('input', 'float32', [1, 3, 224, 224]);
  g.initializer('w1', 'float32', [8, 3, 3, 3], randomValues(r, 8 * 27, 0.3));
  g.initializer('b1', 'float32', [8], randomValues(r, 8, 0.1));
  g.initializer('w2', 'float32', [16, 8, 3, 3], randomValues(r, 16 * 72, 0.15));
  g.initializer('b2', 'float32', [16], randomValues(r, 16, 0.1));
  g.initializer('wf', 'float32', [BUILTIN_CLASSES, 16], randomValues(r, BUILTIN_CLASSES * 16, 0.5));
  g.initializer('bf', 'float32', [BUILTIN_CLASSES], randomValues(r, BUILTIN_CLASSES, 0.1));
  g.node('Conv', ['input', 'w1', 'b1'], ['c1'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  g.node('Relu', ['c1'], ['r1']);
  g.node('MaxPool', ['r1'], ['p1'], { kernel_shape: [2, 2], strides: [2, 2] });
  g.node('Conv', ['p1', 'w2', 'b2'], ['c2'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  g.node('Relu', ['c2'], ['r2']);
  g.node('GlobalAveragePool', ['r2'], ['gap']);
  g.node('Flatten', ['gap'], ['flat'], { axis: 1 });
  g.node('Gemm', ['flat', 'wf', 'bf'], ['output'], { transB: 1 });
  g.output('output', 'float32', [1, BUILTIN_CLASSES]);
  return encode(g, { docString: 'tinfer example: small CNN with random weights' });
}
