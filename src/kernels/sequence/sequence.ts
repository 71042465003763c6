/**
 * Sequence operators (ONNX §SequenceEmpty, §SequenceConstruct, §SequenceAt, §SequenceInsert, §SequenceErase,
 * §SequenceLength). They return constant outputs: SequenceLength from the sequence's type (shape [n]), the others
 * from their inputs' values (requireConstant; eager when those are only known at run time).
 */
import { attrInt } from '../../graph/attributes.js';
import { ONNX_DTYPE_CODES, cloneValue, isContainer } from '../../dtype.js';
import { UnsupportedError } from '../../errors.js';
import { kernelError, requireConstant, requireInput, type KernelDef } from '../kernel.js';
import {
  constantResult,
  elementType,
  elementsOf,
  makeSequence,
  normalizePosition,
  requireSequence,
  requireTensorValue,
  scalarIndex,
} from './common.js';

// SequenceEmpty: () -> sequence of 0 tensors of `dtype` (default float32)
const SequenceEmpty: KernelDef = {
  opType: 'SequenceEmpty',
  prepare(ctx) {
    const code = attrInt(ctx.node, 'dtype', 1);
    const dtype = ONNX_DTYPE_CODES[code];
    if (dtype === undefined) throw new UnsupportedError(`SequenceEmpty: dtype code ${code} is not supported`);
    return constantResult([makeSequence([], dtype)]);
  },
};

// SequenceConstruct: (x0, x1, ...) -> sequence [x0, x1, ...]; all of one dtype
const SequenceConstruct: KernelDef = {
  opType: 'SequenceConstruct',
  prepare(ctx) {
    if (ctx.inputs.length === 0) throw kernelError(ctx, 'needs at least one input');
    const elems = ctx.inputs.map((_, i) => requireTensorValue(ctx, i));
    const dtype = elems[0]!.dtype;
    if (elems.some((e) => e.dtype !== dtype)) throw kernelError(ctx, `inputs must share one dtype (${elems.map((e) => e.dtype).join(', ')})`);
    return constantResult([makeSequence(elems.map(cloneValue), dtype)]);
  },
};

// SequenceAt: (sequence of n, position scalar in [-n, n-1]) -> the tensor at position
const SequenceAt: KernelDef = {
  opType: 'SequenceAt',
  prepare(ctx) {
    const seq = requireSequence(ctx, 0);
    const elems = elementsOf(seq);
    const pos = normalizePosition(ctx, scalarIndex(ctx, requireConstant(ctx, 1), 'position'), elems.length, false);
    return constantResult([cloneValue(elems[pos]!)]);
  },
};

// SequenceInsert: (sequence of n, tensor, position? in [-n, n], default n) -> sequence of n+1
const SequenceInsert: KernelDef = {
  opType: 'SequenceInsert',
  prepare(ctx) {
    const seq = requireSequence(ctx, 0);
    requireInput(ctx, 1);
    const value = requireConstant(ctx, 1);
    if (isContainer(value.dtype)) throw new UnsupportedError(`${ctx.node.opType}: inserting a ${value.dtype} is not supported`);
    const elems = elementsOf(seq);
    const type = elementType(seq);
    if (type !== undefined && type !== value.dtype) throw kernelError(ctx, `cannot insert a ${value.dtype} tensor into a sequence of ${type}`);
    const given = ctx.inputs[2] ? scalarIndex(ctx, requireConstant(ctx, 2), 'position') : elems.length;
    const pos = normalizePosition(ctx, given, elems.length, true);
    const out = [...elems.slice(0, pos), cloneValue(value), ...elems.slice(pos)];
    return constantResult([makeSequence(out, type ?? value.dtype)]);
  },
};

// SequenceErase: (sequence of n, position? in [-n, n-1], default -1) -> sequence of n-1
const SequenceErase: KernelDef = {
  opType: 'SequenceErase',
  prepare(ctx) {
    const seq = requireSequence(ctx, 0);
    const elems = elementsOf(seq);
    const given = ctx.inputs[1] ? scalarIndex(ctx, requireConstant(ctx, 1), 'position') : -1;
    const pos = normalizePosition(ctx, given, elems.length, false);
    return constantResult([makeSequence([...elems.slice(0, pos), ...elems.slice(pos + 1)], elementType(seq))]);
  },
};

// SequenceLength: (sequence of n) -> int64 scalar n. The length is the sequence's type (shape [n]), known at plan time.
const SequenceLength: KernelDef = {
  opType: 'SequenceLength',
  prepare(ctx) {
    const seq = requireInput(ctx, 0);
    if (seq.dtype !== 'sequence') throw kernelError(ctx, `input must be a sequence, got ${seq.dtype}`);
    return constantResult([{ dtype: 'int64', shape: [], data: new BigInt64Array([BigInt(seq.shape[0]!)]) }]);
  },
};

export const sequenceBasicKernels: KernelDef[] = [SequenceEmpty, SequenceConstruct, SequenceAt, SequenceInsert, SequenceErase, SequenceLength];
