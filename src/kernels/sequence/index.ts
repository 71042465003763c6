import type { KernelDef } from '../kernel.js';
import { sequenceMapKernels } from './map.js';
import { optionalKernels } from './optional.js';
import { sequenceBasicKernels } from './sequence.js';
import { splitConcatKernels } from './split-concat.js';

/** Sequence and optional values: built, read and transformed at prepare time from known inputs. */
export const sequenceKernels: KernelDef[] = [...sequenceBasicKernels, ...splitConcatKernels, ...sequenceMapKernels, ...optionalKernels];
