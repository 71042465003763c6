import { sizeOf, type DType } from '../../dtype.js';
import { attrInt } from '../../graph/attributes.js';
import {
  chooseVariant, kernelError, onWasmOrReference, requireInput, type KernelDef, type PrepareContext, type PreparedKernel, type VariantDef, viewsInWasm,
} from '../kernel.js';
import type { Int8Like } from './igemm.js';
import { lookupKernel } from './qlinear-lookup.wasm.js';

/**
 * tinfer.QLinearLookup(X, Table): Y[i] = Table[X[i] as a byte], X uint8 or int8, Table 256 values of Y's type
 * (uint8 or int8). Written by the QDQ fusion for an elementwise chain from one 8-bit tensor to a QuantizeLinear
 * (src/graph/passes/fuse-qdq.ts, tryLookupEndingAt); the attribute min_rank is the rank the chain's scalar
 * operands broadcast Y to (X's shape, with leading 1s up to it).
 */
interface LookupProblem {
  ctx: PrepareContext;
  xType: DType;
  yType: DType;
  shape: number[];
}

function prepareReference(p: LookupProblem): PreparedKernel {
  const n = sizeOf(p.shape);
  return {
    outputs: [{ dtype: p.yType, shape: p.shape }],
    run(inputs, outputs) {
      const x = inputs[0] as Int8Like;
      const table = inputs[1] as Int8Like;
      const y = outputs[0] as Int8Like;
      for (let i = 0; i < n; i++) y[i] = table[x[i]! & 0xff]!;
    },
  };
}

function prepareWasm(p: LookupProblem): PreparedKernel {
  const reference = prepareReference(p);
  const wasm = p.ctx.options.wasm!;
  const kernel = lookupKernel(wasm)!;
  const n = sizeOf(p.shape);
  return onWasmOrReference(reference, 'wasm 256-entry table (js for views outside wasm memory)', (inputs, outputs) => {
    const x = inputs[0] as Int8Like;
    const table = inputs[1] as Int8Like;
    const y = outputs[0] as Int8Like;
    if (!viewsInWasm(wasm, x, y, table)) return false;
    wasm.invoke(kernel, x.byteOffset, y.byteOffset, n, table.byteOffset);
    return true;
  });
}

const short = (d: DType) => (d === 'int8' ? 'i8' : 'u8');

const VARIANTS: readonly VariantDef<LookupProblem>[] = [
  { name: (p) => `${short(p.xType)}${short(p.yType)}_qlinearlookup__ref`, applies: () => true, placement: 'any', prepare: prepareReference },
  {
    name: (p) => `${short(p.xType)}${short(p.yType)}_qlinearlookup__wasm`,
    applies: (p, caps) => lookupKernel(caps.wasm) !== undefined,
    placement: 'wasm',
    prepare: prepareWasm,
  },
];

function prepareQLinearLookup(ctx: PrepareContext): PreparedKernel {
  const x = requireInput(ctx, 0);
  const table = requireInput(ctx, 1);
  const eightBit = (d: DType) => d === 'uint8' || d === 'int8';
  if (!eightBit(x.dtype)) throw kernelError(ctx, `X must be uint8 or int8, got ${x.dtype}`);
  if (!eightBit(table.dtype) || sizeOf(table.shape) !== 256) throw kernelError(ctx, `Table must hold 256 uint8 or int8 values, got ${table.dtype} [${table.shape}]`);
  const minRank = attrInt(ctx.node, 'min_rank', 0);
  const shape = [...new Array<number>(Math.max(0, minRank - x.shape.length)).fill(1), ...x.shape];
  return chooseVariant(VARIANTS, { ctx, xType: x.dtype, yType: table.dtype, shape }, ctx);
}

export const qlinearLookupKernels: KernelDef[] = [{ opType: 'QLinearLookup', domain: 'tinfer', prepare: prepareQLinearLookup }];
