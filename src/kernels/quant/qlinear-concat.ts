import { sizeOf, type Data } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import type { WasmContext } from '../../wasm/context.js';
import type { Int8Like } from './igemm.js';
import { WasmBytes, int8Kernels } from './igemm-wasm.js';
import { applyLookupTable, buildLookupTable, scalarOf } from './lookup-table.js';
import { integerRange } from './rounding.js';

function requireInt8Like(ctx: PrepareContext, i: number, name: string) {
  const t = requireInput(ctx, i);
  if (t.dtype !== 'uint8' && t.dtype !== 'int8') {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: ${name} must be uint8 or int8, got ${t.dtype}`);
  }
  return t;
}

// com.microsoft QLinearConcat: Y_scale, Y_zero_point, then (X_i, X_scale_i, X_zero_point_i) triples; attr axis.
// Each X_i is requantized to Y's parameters (via a 256-entry table, or copied when its parameters equal Y's).
function prepareQLinearConcat(ctx: PrepareContext): PreparedKernel {
  const count = (ctx.inputs.length - 2) / 3;
  if (!Number.isInteger(count) || count < 1) {
    throw kernelError(ctx, `expects Y_scale, Y_zero_point and (tensor, scale, zero point) triples, got ${ctx.inputs.length} inputs`);
  }
  const first = requireInt8Like(ctx, 2, 'X_0');
  const rank = first.shape.length;
  const axisAttr = attrInt(ctx.node, 'axis', 0);
  const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  if (axis < 0 || axis >= rank) throw kernelError(ctx, `axis ${axisAttr} is out of range for rank ${rank}`);
  const outShape = [...first.shape];
  outShape[axis] = 0;
  const blocks: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = requireInt8Like(ctx, 2 + 3 * i, `X_${i}`);
    if (t.dtype !== first.dtype || t.shape.length !== rank || t.shape.some((d, k) => k !== axis && d !== first.shape[k])) {
      throw kernelError(ctx, `input ${i} ${t.dtype} [${t.shape}] does not match ${first.dtype} [${first.shape}] off axis ${axis}`);
    }
    outShape[axis]! += t.shape[axis]!;
    blocks.push(sizeOf(t.shape.slice(axis)));
  }
  const outer = sizeOf(first.shape.slice(0, axis));
  const outBlock = sizeOf(outShape.slice(axis));
  const [lo, hi] = integerRange(first.dtype)!;
  const signed = first.dtype === 'int8';
  const tables = blocks.map(() => new Int32Array(256));
  const copies = blocks.map(() => false);
  // On wasm: copies with copyWithin on a whole-memory view, requantization four bytes at a time (the table does the rest).
  const wasm = ctx.options.wasm;
  const requantizeKernel = int8Kernels(wasm)?.requantize;
  const memory = wasm === undefined ? undefined : new WasmBytes(wasm);
  return {
    outputs: [{ dtype: first.dtype, shape: outShape }],
    run(inputs, outputs) {
      const yScale = scalarOf(inputs[0]);
      const yZp = scalarOf(inputs[1]);
      const Y = outputs[0] as Int8Like;
      for (let i = 0; i < count; i++) {
        const xScale = scalarOf(inputs[3 + 3 * i]);
        const xZp = scalarOf(inputs[4 + 3 * i]);
        copies[i] = xScale === yScale && xZp === yZp;
        if (!copies[i]) buildLookupTable(tables[i]!, signed, xScale, xZp, yScale, yZp, lo, hi, (v) => v);
      }
      if (requantizeKernel !== undefined && memory !== undefined && inWasmMemoryAll(wasm!, inputs, count, Y)) {
        const mem = memory.bytes;
        for (let o = 0; o < outer; o++) {
          let dst = o * outBlock;
          for (let i = 0; i < count; i++) {
            const X = inputs[2 + 3 * i] as Int8Like;
            const len = blocks[i]!;
            const from = X.byteOffset + o * len;
            if (copies[i]) mem.copyWithin(Y.byteOffset + dst, from, from + len);
            else {
              const flip = signed ? 0 : 0x80;
              requantizeKernel(from, Y.byteOffset + dst, len, flip, scalarOf(inputs[4 + 3 * i]) - flip, scalarOf(inputs[3 + 3 * i]), yScale, yZp, lo, hi);
              const done = len - (len % 4);
              applyLookupTable(tables[i]!, X, o * len + done, Y, dst + done, len - done);
            }
            dst += len;
          }
        }
        return;
      }
      for (let o = 0; o < outer; o++) {
        let dst = o * outBlock;
        for (let i = 0; i < count; i++) {
          const X = inputs[2 + 3 * i] as Int8Like;
          const len = blocks[i]!;
          if (copies[i]) Y.set(X.subarray(o * len, (o + 1) * len) as never, dst);
          else applyLookupTable(tables[i]!, X, o * len, Y, dst, len);
          dst += len;
        }
      }
    },
  };
}

/** True when Y and every X_i are views of the wasm memory. */
function inWasmMemoryAll(wasm: WasmContext, inputs: readonly (Data | undefined)[], count: number, y: Int8Like): boolean {
  const buffer = wasm.memory.buffer;
  if (y.buffer !== buffer) return false;
  for (let i = 0; i < count; i++) if ((inputs[2 + 3 * i] as Int8Like).buffer !== buffer) return false;
  return true;
}

export const qlinearConcatKernels: KernelDef[] = [
  { opType: 'QLinearConcat', domain: 'com.microsoft', prepare: prepareQLinearConcat },
];
