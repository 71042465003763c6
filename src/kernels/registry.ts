import { UnsupportedError, nodeLabel } from '../errors.js';
import type { Node } from '../loader/model.js';
import type { KernelDef } from './kernel.js';
import { elementwiseKernels } from './elementwise/index.js';
import { nnKernels } from './nn/index.js';
import { tensorKernels } from './tensor/index.js';
import { reduceKernels } from './reduce/index.js';
import { resizeKernels } from './resize/index.js';
import { rnnKernels } from './rnn/index.js';
import { quantKernels } from './quant/index.js';
import { controlKernels } from './control/index.js';
import { signalKernels } from './signal/index.js';
import { detectionKernels } from './detection/index.js';
import { lossKernels } from './loss/index.js';
import { sequenceKernels } from './sequence/index.js';

/** Every kernel family, in one explicit list (easy to find, easy to tree-shake). */
const ALL_KERNELS: readonly KernelDef[] = [
  ...elementwiseKernels,
  ...nnKernels,
  ...tensorKernels,
  ...reduceKernels,
  ...resizeKernels,
  ...rnnKernels,
  ...quantKernels,
  ...controlKernels,
  ...signalKernels,
  ...detectionKernels,
  ...lossKernels,
  ...sequenceKernels,
];

function key(domain: string | undefined, opType: string): string {
  const d = domain === undefined || domain === 'ai.onnx' ? '' : domain;
  return `${d}:${opType}`;
}

export class KernelRegistry {
  private readonly byKey = new Map<string, KernelDef>();

  constructor(kernels: readonly KernelDef[] = ALL_KERNELS) {
    for (const k of kernels) this.byKey.set(key(k.domain, k.opType), k);
  }

  has(domain: string, opType: string): boolean {
    return this.byKey.has(key(domain, opType));
  }

  get(node: Node): KernelDef {
    const k = this.byKey.get(key(node.domain, node.opType));
    if (k === undefined) throw new UnsupportedError(`${nodeLabel(node)}: operator is not supported`);
    return k;
  }

  list(): KernelDef[] {
    return [...this.byKey.values()];
  }
}

export const defaultRegistry = new KernelRegistry();
