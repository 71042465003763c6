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

function domainOf(domain: string | undefined): string {
  return domain === undefined || domain === 'ai.onnx' ? '' : domain;
}

export class KernelRegistry {
  /** Domain -> op type -> kernel (no key string made per lookup: prepare looks a kernel up per node). */
  private readonly byDomain = new Map<string, Map<string, KernelDef>>();

  constructor(kernels: readonly KernelDef[] = ALL_KERNELS) {
    for (const k of kernels) {
      const d = domainOf(k.domain);
      let ops = this.byDomain.get(d);
      if (ops === undefined) this.byDomain.set(d, (ops = new Map()));
      ops.set(k.opType, k);
    }
  }

  has(domain: string, opType: string): boolean {
    return this.byDomain.get(domainOf(domain))?.has(opType) ?? false;
  }

  get(node: Node): KernelDef {
    const k = this.byDomain.get(domainOf(node.domain))?.get(node.opType);
    if (k === undefined) throw new UnsupportedError(`${nodeLabel(node)}: operator is not supported`);
    return k;
  }

  list(): KernelDef[] {
    const all: KernelDef[] = [];
    for (const ops of this.byDomain.values()) all.push(...ops.values());
    return all;
  }
}

export const defaultRegistry = new KernelRegistry();
