import type { Graph } from '../../loader/model.js';
import { eliminateDeadCode } from './dead-code.js';
import { eliminateIdentity } from './eliminate-identity.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { fuseGelu } from './fuse-gelu.js';
import { fuseLayerNorm } from './fuse-layernorm.js';
import { fuseMatMulAdd } from './fuse-matmul-add.js';
import { fuseQdq } from './fuse-qdq.js';
import { fuseIntegerToFloat } from './fuse-integer-to-float.js';
import { fuseActivation } from './fuse-activation.js';
import { fuseSoftmaxScale } from './fuse-softmax-scale.js';
import { foldConvMulAdd } from './fold-conv-mul-add.js';
import { foldTranspose } from './fold-transpose.js';

export {
  eliminateDeadCode, eliminateIdentity, foldBatchNorm, fuseGelu, fuseLayerNorm, fuseMatMulAdd,
  fuseActivation, foldConvMulAdd, foldTranspose, fuseQdq, fuseIntegerToFloat,
};

/**
 * The basic passes in order: merge Transpose pairs (a cancelling pair becomes an Identity), drop
 * pass-through nodes (so a Conv -> Identity -> BN chain can fold and Linear weights shared through
 * Identity are seen as initializers), run QDQ groups as integer operators (before any float fusion
 * takes their Conv / Gemm / MatMul), fold BatchNorm and per-channel Mul/Add into Conv, fuse the
 * transformer patterns (LayerNorm, GELU, then MatMul + bias, whose Add the LayerNorm pattern
 * does not use), fold activations into the Conv / Gemm / MatMul before them, then remove whatever no
 * longer reaches an output (including the unfolded weights and the Constant nodes the fusions turned
 * into attributes). Graph input and output names are kept.
 */
export function runBasicPasses(graph: Graph): Graph {
  const folded = foldConvMulAdd(foldBatchNorm(fuseIntegerToFloat(fuseQdq(eliminateIdentity(foldTranspose(graph))))));
  const fused = fuseSoftmaxScale(fuseActivation(fuseMatMulAdd(fuseGelu(fuseLayerNorm(folded)))));
  return eliminateDeadCode(fused);
}
