/** Random or file-backed feeds for `tinfer run` and `tinfer bench`. */
import { readFileSync } from 'node:fs';
import { sizeOf } from '../dtype.js';
import { TinferError } from '../errors.js';
import { decodeTensor } from '../loader/index.js';
import type { InputMetadata, InferenceSession } from '../session/session.js';
import { Tensor, fromTensorData, type TensorType } from '../session/tensor.js';

/** Concrete dims for an input: --shape overrides, symbolic/unknown dims default to 1. */
export function concreteDims(meta: InputMetadata, shapes: Map<string, number[]>): number[] {
  const given = shapes.get(meta.name);
  if (given) return given;
  return (meta.dims ?? [1]).map((d) => (typeof d === 'number' ? d : 1));
}

/** A deterministic pseudo-random tensor of the input's type: floats in [-1, 1), ints in [0, 10), bools 0/1. */
export function randomTensor(type: string, dims: number[], seed: number): Tensor {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const n = sizeOf(dims);
  switch (type) {
    case 'float32':
    case 'float64':
      return new Tensor(type, Array.from({ length: n }, () => next() * 2 - 1), dims);
    case 'float16':
      return new Tensor('float16', new Uint16Array(n), dims);
    case 'bool':
      return new Tensor('bool', Array.from({ length: n }, () => (next() < 0.5 ? 1 : 0)), dims);
    case 'string':
      return new Tensor('string', Array.from({ length: n }, () => 'a'), dims);
    default:
      return new Tensor(type as TensorType, Array.from({ length: n }, () => Math.floor(next() * 10)), dims);
  }
}

export function makeFeeds(session: InferenceSession, files: string[], shapes: Map<string, number[]>): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const spec of files) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new TinferError(`--input expects name=file.pb, got '${spec}'`);
    const name = spec.slice(0, eq);
    if (!session.inputNames.includes(name)) throw new TinferError(`--input: model has no input '${name}'; inputs are ${session.inputNames.join(', ')}`);
    feeds[name] = fromTensorData(decodeTensor(new Uint8Array(readFileSync(spec.slice(eq + 1)))));
  }
  session.inputMetadata.forEach((meta, i) => {
    if (!(meta.name in feeds)) feeds[meta.name] = randomTensor(meta.type, concreteDims(meta, shapes), 1234 + i);
  });
  return feeds;
}
