import { sizeOf, storageBytes, type DType, type TensorType } from '../../dtype.js';
import { attrInt, attrInts } from '../../graph/attributes.js';
import {
  blockCopyOk, chooseVariant, kernelError, onWasmOrReference, requireConstant, requireInput, type KernelDef, type PrepareContext,
  type PreparedKernel, type VariantDef,
} from '../kernel.js';
import type { WasmContext } from '../../wasm/context.js';
import { copy2dKernel, type WasmCopy2dKernel } from './copy-2d.wasm.js';
import { copyBlock, intValues, normalizeAxis } from './common.js';

/** Concat's layout: every input is `outer` contiguous blocks of `blocks[k]` elements, interleaved in the output. */
interface ConcatProblem {
  ctx: PrepareContext;
  dtype: DType;
  shape: number[];
  outer: number;
  blocks: number[];
  /** Input index of each present input. */
  which: number[];
  outBlock: number;
}

function prepareConcatReference(p: ConcatProblem): PreparedKernel {
  const { outer, blocks, which, outBlock } = p;
  return {
    outputs: [{ dtype: p.dtype, shape: p.shape }],
    jsOk: blockCopyOk(Math.min(...blocks.filter((b) => b > 0), Infinity)),
    run(inputs, outputs) {
      const out = outputs[0]!;
      let colOff = 0;
      for (let k = 0; k < which.length; k++) {
        const src = inputs[which[k]!]!;
        const b = blocks[k]!;
        if (b === 0) continue;
        for (let o = 0; o < outer; o++) copyBlock(src, o * b, out, o * outBlock + colOff, b);
        colOff += b;
      }
    },
  };
}

/**
 * A row-copying op on x32_copy_2d: `copyAll` makes the copies (given the kernel) when every view is in wasm memory,
 * else the reference runs (see onWasmOrReference).
 */
function onWasmRows(
  reference: PreparedKernel, ctx: PrepareContext, outer: number, blocks: readonly number[],
  copyAll: (copy: WasmCopy2dKernel, wasm: WasmContext, inputs: readonly Float32Array[], outputs: readonly (Float32Array | undefined)[]) => void,
): PreparedKernel {
  const wasm = ctx.options.wasm!;
  const copy = copy2dKernel(wasm)!;
  const inMemory = (v: unknown) => v === undefined || (v as Float32Array).buffer === wasm.memory.buffer;
  const kernel = onWasmOrReference(reference, `wasm strided row copies, ${outer} rows of ${blocks.join(' + ')}`, (inputs, outputs) => {
    if (!inputs.every(inMemory) || !outputs.every(inMemory)) return false;
    copyAll(copy, wasm, inputs as Float32Array[], outputs as (Float32Array | undefined)[]);
    return true;
  });
  return { ...kernel, jsOk: undefined };
}

// 4-byte elements: each input's rows moved by x32_copy_2d into the output's (strided) rows, one call per input.
function prepareConcatWasm(p: ConcatProblem, ctx: PrepareContext): PreparedKernel {
  const { outer, blocks, which, outBlock } = p;
  return onWasmRows(prepareConcatReference(p), ctx, outer, blocks, (copy, wasm, inputs, outputs) => {
    const out = outputs[0]!;
    let colOff = 0;
    for (let k = 0; k < which.length; k++) {
      const b = blocks[k]!;
      if (b === 0) continue;
      wasm.invoke(copy, inputs[which[k]!]!.byteOffset, b, out.byteOffset + 4 * colOff, outBlock, outer, b);
      colOff += b;
    }
  });
}

/** The variant table of a row-copying op: its JS block copies, and x32_copy_2d for 4-byte elements. */
function rowCopyVariants<P extends { dtype: DType }>(
  op: string, reference: (p: P) => PreparedKernel, wasm: (p: P, ctx: PrepareContext) => PreparedKernel,
): readonly VariantDef<P>[] {
  return [
    { name: (p) => `${p.dtype === 'float32' ? 'f32' : p.dtype}_${op}__js`, applies: () => true, placement: 'any', prepare: reference },
    {
      name: `x32_${op}__wasmsimd`,
      applies: (p, caps) => storageBytes(p.dtype) === 4 && copy2dKernel(caps.wasm) !== undefined,
      placement: 'wasm',
      prepare: wasm,
    },
  ];
}

const CONCAT_VARIANTS = rowCopyVariants<ConcatProblem>('concat', prepareConcatReference, prepareConcatWasm);

// Concat: n × [..., d_i, ...] -> [..., Σd_i, ...]
const Concat: KernelDef = {
  opType: 'Concat',
  prepare(ctx) {
    const present = ctx.inputs.map((t, i) => ({ t, i })).filter((e): e is { t: TensorType; i: number } => e.t !== undefined);
    if (present.length === 0) throw kernelError(ctx, 'needs at least one input');
    const first = present[0]!.t;
    const r = first.shape.length;
    if (r === 0) throw kernelError(ctx, 'cannot concatenate scalars');
    const axis = normalizeAxis(ctx, attrInt(ctx.node, 'axis', ctx.opset < 4 ? 1 : NaN), r);
    const shape = first.shape.slice();
    shape[axis] = 0;
    for (const { t, i } of present) {
      if (t.dtype !== first.dtype) throw kernelError(ctx, `input ${i} has dtype ${t.dtype}, expected ${first.dtype}`);
      const ok = t.shape.length === r && t.shape.every((d, k) => k === axis || d === first.shape[k]);
      if (!ok) throw kernelError(ctx, `input ${i} shape [${t.shape}] does not match [${first.shape}] off axis ${axis}`);
      shape[axis]! += t.shape[axis]!;
    }
    const innerSize = sizeOf(first.shape.slice(axis + 1));
    const blocks = present.map(({ t }) => t.shape[axis]! * innerSize);
    const problem: ConcatProblem = {
      ctx, dtype: first.dtype, shape, outer: sizeOf(first.shape.slice(0, axis)), blocks, which: present.map(({ i }) => i), outBlock: shape[axis]! * innerSize,
    };
    return chooseVariant(CONCAT_VARIANTS, problem, ctx);
  },
};

/** The split sizes: the split input/attribute, else num_outputs (opset 18) or the output count. */
function splitSizes(ctx: Parameters<KernelDef['prepare']>[0], dim: number): number[] {
  let split: number[] | undefined;
  if (ctx.opset >= 13 || (ctx.opset < 2 && ctx.inputs[1] !== undefined)) {
    if (ctx.inputs[1] !== undefined) split = intValues(requireConstant(ctx, 1));
  }
  if (split === undefined) split = attrInts(ctx.node, 'split');
  if (split !== undefined) {
    if (split.some((s) => s < 0) || split.reduce((a, b) => a + b, 0) !== dim) {
      throw kernelError(ctx, `split ${JSON.stringify(split)} does not sum to the axis size ${dim}`);
    }
    if (split.length !== ctx.node.outputs.length) {
      throw kernelError(ctx, `split has ${split.length} entries but the node has ${ctx.node.outputs.length} outputs`);
    }
    return split;
  }
  const n = ctx.opset >= 18 ? attrInt(ctx.node, 'num_outputs', ctx.node.outputs.length) : ctx.node.outputs.length;
  if (n < 1) throw kernelError(ctx, `num_outputs must be positive, got ${n}`);
  // Opset 18: chunks of ceil(dim / n), the last one smaller when dim is not divisible.
  const chunk = Math.ceil(dim / n);
  const sizes: number[] = [];
  let left = dim;
  for (let i = 0; i < n; i++) {
    const s = Math.max(0, Math.min(chunk, left));
    sizes.push(s);
    left -= s;
  }
  return sizes;
}

/** Split's layout: each output is `outer` contiguous blocks of `blocks[k]` elements cut out of the input's rows. */
interface SplitProblem {
  ctx: PrepareContext;
  dtype: DType;
  shapes: number[][];
  outer: number;
  blocks: number[];
  inBlock: number;
}

function prepareSplitReference(p: SplitProblem): PreparedKernel {
  const { outer, blocks, inBlock } = p;
  return {
    outputs: p.shapes.map((shape) => ({ dtype: p.dtype, shape })),
    // Each output is `outer` contiguous blocks of its own size, cut out of the input: block copies as Concat.
    jsOk: blockCopyOk(Math.min(...blocks.filter((b) => b > 0), Infinity)),
    run(inputs, outputs) {
      const src = inputs[0]!;
      let colOff = 0;
      for (let k = 0; k < blocks.length; k++) {
        const out = outputs[k];
        const b = blocks[k]!;
        if (out !== undefined && b > 0) {
          for (let o = 0; o < outer; o++) copyBlock(src, o * inBlock + colOff, out, o * b, b);
        }
        colOff += b;
      }
    },
  };
}

// 4-byte elements: each output's rows moved by x32_copy_2d out of the input's (strided) rows, one call per output.
function prepareSplitWasm(p: SplitProblem, ctx: PrepareContext): PreparedKernel {
  const { outer, blocks, inBlock } = p;
  return onWasmRows(prepareSplitReference(p), ctx, outer, blocks, (copy, wasm, inputs, outputs) => {
    const src = inputs[0]!;
    let colOff = 0;
    for (let k = 0; k < blocks.length; k++) {
      const out = outputs[k];
      const b = blocks[k]!;
      if (out !== undefined && b > 0) wasm.invoke(copy, src.byteOffset + 4 * colOff, inBlock, out.byteOffset, b, outer, b);
      colOff += b;
    }
  });
}

const SPLIT_VARIANTS = rowCopyVariants<SplitProblem>('split', prepareSplitReference, prepareSplitWasm);

// Split: [..., d, ...] -> n × [..., split_i, ...]
const Split: KernelDef = {
  opType: 'Split',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    const r = x.shape.length;
    const axis = normalizeAxis(ctx, attrInt(ctx.node, 'axis', 0), r);
    const sizes = splitSizes(ctx, x.shape[axis]!);
    const innerSize = sizeOf(x.shape.slice(axis + 1));
    const shapes = sizes.map((s) => {
      const shape = x.shape.slice();
      shape[axis] = s;
      return shape;
    });
    const problem: SplitProblem = {
      ctx, dtype: x.dtype, shapes, outer: sizeOf(x.shape.slice(0, axis)), blocks: sizes.map((s) => s * innerSize), inBlock: x.shape[axis]! * innerSize,
    };
    return chooseVariant(SPLIT_VARIANTS, problem, ctx);
  },
};

export const concatSplitKernels: KernelDef[] = [Concat, Split];
