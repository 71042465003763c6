/**
 * Generated graphs for the cold-start tests and measurements (test/coldstart.test.ts): a long chain of small
 * Conv blocks, and a chain of If nodes whose branches read outer values, as Silero VAD's 25 Ifs do.
 */
import type { Model } from '../src/loader/model.js';
import { GraphBuilder, ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';

const C = 4;

/**
 * `blocks` blocks of 5 nodes on x [1, 4, 4, 4]: Conv 1×1 (weight and bias initializers) → Mul by a per-channel
 * constant (folds into the Conv; small, so the sum stays finite over the chain) → Relu (fuses into the Conv) → Add of the block input (a residual) → Identity
 * (removed). Every pass has something to do in every block.
 */
export function convChainModel(blocks: number): Model {
  const b = new ModelBuilder({ opset: 13 });
  let h = b.input('x', 'float32', [1, C, 4, 4]);
  for (let i = 0; i < blocks; i++) {
    const w = b.initializer(`w${i}`, tensor('float32', [C, C, 1, 1], Array.from({ length: C * C }, (_, k) => (k % (C + 1) === 0 ? 0.5 : 0.01 * ((k + i) % 7)))));
    const bias = b.initializer(`b${i}`, tensor('float32', [C], [0.01, -0.01, 0.02, 0]));
    const s = b.initializer(`s${i}`, tensor('float32', [1, C, 1, 1], [0.001, 0.0005, 0.002, 0.001]));
    const [conv] = b.node('Conv', [h, w, bias]);
    const [scaled] = b.node('Mul', [conv!, s]);
    const [relu] = b.node('Relu', [scaled!]);
    const [sum] = b.node('Add', [relu!, h]);
    [h] = b.node('Identity', [sum!]);
  }
  b.output(h, { dtype: 'float32', shape: [1, C, 4, 4] });
  return b.toModel();
}

/**
 * `count` If nodes in a chain on x [1, 4] with a bool flag: h' = If(flag, then: h · W_i + c, else: h − c), where
 * h, W_i and c are values of the main graph read from inside the branches.
 */
export function ifChainModel(count: number): Model {
  const b = new ModelBuilder({ opset: 13 });
  let h = b.input('x', 'float32', [1, C]);
  const flag = b.input('flag', 'bool', []);
  const c = b.initializer('c', tensor('float32', [C], [0.1, 0.2, 0.3, 0.4]));
  for (let i = 0; i < count; i++) {
    const w = b.initializer(`W${i}`, tensor('float32', [C, C], Array.from({ length: C * C }, (_, k) => (k % (C + 1) === 0 ? 1 : 0.01))));
    const then = new GraphBuilder(`then${i}`, `then${i}_`);
    const [p] = then.node('MatMul', [h, w]);
    const [q] = then.node('Add', [p!, c]);
    then.output(then.node('Identity', [q!])[0]!, { dtype: 'float32', shape: [1, C] });
    const otherwise = new GraphBuilder(`else${i}`, `else${i}_`);
    const [d] = otherwise.node('Sub', [h, c]);
    otherwise.output(otherwise.node('Relu', [d!])[0]!, { dtype: 'float32', shape: [1, C] });
    [h] = b.node('If', [flag], { then_branch: then, else_branch: otherwise });
  }
  b.output(h, { dtype: 'float32', shape: [1, C] });
  return b.toModel();
}
