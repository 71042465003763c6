import type { Graph } from '../../loader/model.js';
import { eliminateDeadCode } from './dead-code.js';
import { eliminateIdentity } from './eliminate-identity.js';
import { foldBatchNorm } from './fold-batchnorm.js';

export { eliminateDeadCode, eliminateIdentity, foldBatchNorm };

/**
 * The basic passes in order: drop pass-through nodes first (so a Conv -> Identity -> BN chain can
 * fold), fold BatchNorm into Conv, then remove whatever no longer reaches an output (including the
 * unfolded weights). Graph input and output names are kept.
 */
export function runBasicPasses(graph: Graph): Graph {
  return eliminateDeadCode(foldBatchNorm(eliminateIdentity(graph)));
}
