import type { Graph } from '../../loader/model.js';
import { eliminateDeadCode } from './dead-code.js';
import { eliminateIdentity } from './eliminate-identity.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { fuseGelu } from './fuse-gelu.js';
import { fuseLayerNorm } from './fuse-layernorm.js';
import { fuseMatMulAdd } from './fuse-matmul-add.js';
import { fuseQdq } from './fuse-qdq.js';
import { fuseActivation } from './fuse-activation.js';
import { fuseHardSwish } from './fuse-hardswish.js';
import { fuseSoftmaxScale } from './fuse-softmax-scale.js';
import { foldConvMulAdd } from './fold-conv-mul-add.js';
import { foldTranspose } from './fold-transpose.js';

export {
  eliminateDeadCode, eliminateIdentity, foldBatchNorm, fuseGelu, fuseLayerNorm, fuseMatMulAdd,
  fuseActivation, foldConvMulAdd, foldTranspose, fuseQdq, fuseHardSwish,
};

/**
 * The basic passes in order: merge Transpose pairs (a cancelling pair becomes an Identity), drop
 * pass-through nodes (so a Conv -> Identity -> BN chain can fold and Linear weights shared through
 * Identity are seen as initializers), run QDQ groups as integer operators (before any float fusion
 * takes their Conv / Gemm / MatMul), fold BatchNorm and per-channel Mul/Add into Conv, fuse the
 * decomposed hard-swish/hard-sigmoid forms exporters write, the transformer patterns (LayerNorm, GELU, then MatMul + bias, whose Add the LayerNorm pattern
 * does not use), fold activations into the Conv / Gemm / MatMul before them, then remove whatever no
 * longer reaches an output (including the unfolded weights and the Constant nodes the fusions turned
 * into attributes). Graph input and output names are kept.
 */
export function runBasicPasses(graph: Graph): Graph {
  const folded = foldConvMulAdd(foldBatchNorm(fuseQdq(eliminateIdentity(foldTranspose(graph)))));
  const fused = fuseSoftmaxScale(fuseActivation(fuseMatMulAdd(fuseGelu(fuseLayerNorm(fuseHardSwish(folded))))));
  return eliminateDeadCode(fused);
}
