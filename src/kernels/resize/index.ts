/**
 * The Resize family (Resize 10–19, Upsample 7/9): one problem reader, one variant table.
 *   f32_resize__ref / {dtype}_resize__ref   onnxruntime's algorithms in its float32 order (reference.ts)
 */
import { chooseVariant, type KernelDef, type PrepareContext, type VariantDef } from '../kernel.js';
import { requireFloat } from '../reduce/common.js';
import { readResize, readUpsample, type ResizeProblem } from './problem.js';
import { prepareReference } from './reference.js';

function dtypePrefix(p: ResizeProblem): string {
  const d = p.x.dtype;
  return d === 'float32' ? 'f32' : d === 'float16' ? 'f16' : d === 'float64' ? 'f64' : d;
}

/** Resize and Upsample share one table; names say the op, mode and shape class. */
export const RESIZE_VARIANTS: readonly VariantDef<ResizeProblem>[] = [
  {
    name: (p) => `${dtypePrefix(p)}_${p.opType.toLowerCase()}__ref`,
    applies: () => true,
    placement: 'any',
    prepare: (p) => prepareReference(p),
  },
];

function prepare(ctx: PrepareContext, p: ResizeProblem) {
  if (p.mode !== 'nearest' && p.kind !== 'copy') requireFloat(ctx, p.x.dtype, `${p.mode} Resize of an input`);
  return chooseVariant(RESIZE_VARIANTS, p, ctx);
}

export const resizeKernel: KernelDef = { opType: 'Resize', prepare: (ctx) => prepare(ctx, readResize(ctx)) };
export const upsampleKernel: KernelDef = { opType: 'Upsample', prepare: (ctx) => prepare(ctx, readUpsample(ctx)) };

export const resizeKernels: KernelDef[] = [resizeKernel, upsampleKernel];
