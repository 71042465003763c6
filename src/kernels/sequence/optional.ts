/** Optional values (ONNX §Optional, §OptionalHasElement, §OptionalGetElement). */
import { kernelError, requireConstant, type KernelDef } from '../kernel.js';
import { cloneValue } from '../../dtype.js';
import { constantResult, elementsOf, elemDTypeOfValueType, makeOptional } from './common.js';

// Optional: (input?) -> optional holding input, or an empty optional of the `type` attribute's type
const Optional: KernelDef = {
  opType: 'Optional',
  prepare(ctx) {
    const attr = ctx.node.attributes.get('type');
    const declared = attr?.type === 'type_proto' ? attr.value : undefined;
    if (!ctx.inputs[0]) {
      if (!declared) throw kernelError(ctx, "an empty Optional needs the 'type' attribute");
      return constantResult([makeOptional(undefined, elemDTypeOfValueType({ kind: 'optional', elem: declared }))]);
    }
    const value = requireConstant(ctx, 0);
    if (value.dtype === 'optional') throw kernelError(ctx, 'an optional cannot hold an optional');
    return constantResult([makeOptional(cloneValue(value), value.dtype)]);
  },
};

// OptionalHasElement: (optional?) -> bool scalar. Opset 18+: the input may be a tensor or sequence (true) or
// omitted (false). Whether an optional is empty is its type (shape [0] or [1]), so no values are needed.
const OptionalHasElement: KernelDef = {
  opType: 'OptionalHasElement',
  prepare(ctx) {
    const t = ctx.inputs[0];
    if (t === undefined && ctx.opset < 18) throw kernelError(ctx, 'input 0 is required before opset 18');
    if (t !== undefined && t.dtype !== 'optional' && ctx.opset < 18) throw kernelError(ctx, `input must be an optional, got ${t.dtype}`);
    const has = t === undefined ? false : t.dtype === 'optional' ? t.shape[0] === 1 : true;
    return constantResult([{ dtype: 'bool', shape: [], data: new Uint8Array([has ? 1 : 0]) }]);
  },
};

// OptionalGetElement: (optional holding x) -> x; an empty optional is an error. Opset 18+: a tensor or sequence
// input is returned as is.
const OptionalGetElement: KernelDef = {
  opType: 'OptionalGetElement',
  prepare(ctx) {
    const value = requireConstant(ctx, 0);
    if (value.dtype !== 'optional') {
      if (ctx.opset < 18) throw kernelError(ctx, `input must be an optional, got ${value.dtype}`);
      return constantResult([cloneValue(value)]);
    }
    const elems = elementsOf(value);
    if (elems.length === 0) throw kernelError(ctx, 'the optional is empty');
    return constantResult([cloneValue(elems[0]!)]);
  },
};

export const optionalKernels: KernelDef[] = [Optional, OptionalHasElement, OptionalGetElement];
