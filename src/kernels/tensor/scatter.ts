import { attrInt, attrString } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext } from '../kernel.js';
import { checkIndexType, copyBlock, elems, normalizeAxis } from './common.js';
import { planElementwiseIndexing, planNdSlices } from './gather.js';

type Combine = (old: unknown, update: unknown) => unknown;

/**
 * The `reduction` attribute (opset 16: none/add/mul, opset 18: max/min). The operators work on
 * number and bigint alike (both operands always come from the same storage), so one function
 * serves every numeric dtype.
 */
function combineOf(ctx: PrepareContext, dtype: string): Combine {
  const reduction = attrString(ctx.node, 'reduction', 'none');
  if (reduction !== 'none' && dtype === 'string') throw kernelError(ctx, `reduction '${reduction}' is not defined for strings`);
  switch (reduction) {
    case 'none':
      return (_old, u) => u;
    case 'add':
      return (a, b) => (a as number) + (b as number);
    case 'mul':
      return (a, b) => (a as number) * (b as number);
    case 'max':
      return (a, b) => ((a as number) >= (b as number) ? a : b);
    case 'min':
      return (a, b) => ((a as number) <= (b as number) ? a : b);
    default:
      throw kernelError(ctx, `unsupported reduction '${reduction}'`);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

// ScatterElements / Scatter: data [d...], indices [i...], updates [i...] -> [d...]
// out = data; out[p with p[axis] = indices[p]] = reduce(·, updates[p])
function scatterElements(opType: string): KernelDef {
  return {
    opType,
    prepare(ctx) {
      const x = requireInput(ctx, 0);
      const ind = requireInput(ctx, 1);
      const upd = requireInput(ctx, 2);
      checkIndexType(ctx, ind.dtype, 'indices');
      const r = x.shape.length;
      if (ind.shape.length !== r) throw kernelError(ctx, `indices rank ${ind.shape.length} differs from data rank ${r}`);
      if (!sameShape(ind.shape, upd.shape)) throw kernelError(ctx, `updates [${upd.shape}] must have the shape of indices [${ind.shape}]`);
      const axis = normalizeAxis(ctx, attrInt(ctx.node, 'axis', 0), r);
      const combine = combineOf(ctx, x.dtype);
      const scatter = planElementwiseIndexing(x.shape, ind.shape, axis, ctx.node, (out, u, off, p) => {
        out[off] = combine(out[off], u[p]);
      });
      return {
        outputs: [{ dtype: x.dtype, shape: x.shape.slice() }],
        run(inputs, outputs) {
          const out = outputs[0]!;
          if (inputs[0] !== out) copyBlock(inputs[0]!, 0, out, 0, out.length);
          scatter(out, inputs[1]!, inputs[2]!);
        },
      };
    },
  };
}

// ScatterND: data [d...], indices [M..., k], updates [M..., d[k:]...] -> [d...]
const ScatterND: KernelDef = {
  opType: 'ScatterND',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const ind = requireInput(ctx, 1);
    const upd = requireInput(ctx, 2);
    checkIndexType(ctx, ind.dtype, 'indices');
    const ir = ind.shape.length;
    if (ir < 1) throw kernelError(ctx, 'indices must have rank ≥ 1');
    const k = ind.shape[ir - 1]!;
    if (k > x.shape.length) throw kernelError(ctx, `index tuples of length ${k} exceed data rank ${x.shape.length}`);
    const expected = [...ind.shape.slice(0, ir - 1), ...x.shape.slice(k)];
    if (!sameShape(upd.shape, expected)) throw kernelError(ctx, `updates [${upd.shape}] should be [${expected}]`);
    const combine = combineOf(ctx, x.dtype);
    const plan = planNdSlices(x.shape, ind.shape, 0);
    const node = ctx.node;
    const n = plan.sliceSize;
    return {
      outputs: [{ dtype: x.dtype, shape: x.shape.slice() }],
      run(inputs, outputs) {
        const out = outputs[0]!;
        if (inputs[0] !== out) copyBlock(inputs[0]!, 0, out, 0, out.length);
        const o = elems(out);
        const u = elems(inputs[2]!);
        const indices = inputs[1]!;
        for (let t = 0; t < plan.tuples; t++) {
          const off = plan.offsetOf(node, indices, t);
          for (let j = 0; j < n; j++) o[off + j] = combine(o[off + j], u[t * n + j]);
        }
      },
    };
  },
};

export const scatterKernels: KernelDef[] = [scatterElements('ScatterElements'), scatterElements('Scatter'), ScatterND];
