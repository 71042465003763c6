import type { KernelDef } from '../kernel.js';
import { concatSplitKernels } from './concat-split.js';
import { constantKernels } from './constant.js';
import { depthSpaceKernels } from './depth-space.js';
import { expandTileKernels } from './expand-tile.js';
import { gatherKernels } from './gather.js';
import { oneHotKernels } from './onehot.js';
import { padKernels } from './pad.js';
import { reshapeKernels } from './reshape.js';
import { scatterKernels } from './scatter.js';
import { selectKernels } from './select.js';
import { sliceKernels } from './slice.js';
import { transposeKernels } from './transpose.js';
import { triluKernels } from './trilu.js';

/** Tensor manipulation: kernels that move, select or create elements without arithmetic on them. */
export const tensorKernels: KernelDef[] = [
  ...reshapeKernels,
  ...transposeKernels,
  ...concatSplitKernels,
  ...sliceKernels,
  ...gatherKernels,
  ...scatterKernels,
  ...expandTileKernels,
  ...padKernels,
  ...constantKernels,
  ...depthSpaceKernels,
  ...oneHotKernels,
  ...selectKernels,
  ...triluKernels,
];
