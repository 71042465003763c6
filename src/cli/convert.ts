/**
 * `tinfer convert --fp16 IN.onnx OUT.onnx`: writes a float16 model with float32 inputs and outputs
 * (src/quantize/fp16.ts), then reports its size, its agreement with the float32 model on random inputs
 * (cosine similarity, max |error| per output) and both models' speed in tinfer.
 */
import { writeFileSync } from 'node:fs';
import { TinferError } from '../errors.js';
import { decodeModel, encodeModel } from '../loader/index.js';
import { readModelFileSync } from '../node.js';
import { convertToFloat16, DEFAULT_FLOAT32_OPS } from '../quantize/fp16.js';
import { cosineSimilarity, maxAbsDifference } from '../quantize/compare.js';
import { InferenceSession } from '../session/session.js';
import type { Tensor } from '../session/tensor.js';
import { flagNumber, flagShapes, parseArgs } from './args.js';
import { concreteDims, randomTensor } from './feeds.js';
import { formatBytes, median } from './format.js';

export const CONVERT_USAGE = `usage: tinfer convert --fp16 IN.onnx OUT.onnx [options]

  --fp16                   float16 weights and compute, float32 inputs/outputs (Cast at the interface)
  --keep-float32 Op,Op     more op types to keep in float32 (besides Range, TopK, CumSum, NonMaxSuppression,
                           control flow, random and quantization ops)
  --samples N              random inputs to compare the two models on (default 8)
  --iterations N           timed runs of each model (default 5)
  --shape name=d0,d1,...   sizes of symbolic input dims
`;

export async function convertCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['fp16', 'help']);
  if (args.flags.has('help')) {
    process.stdout.write(CONVERT_USAGE);
    return 0;
  }
  const [input, output] = args.positional;
  if (!args.flags.has('fp16')) throw new TinferError(`convert: say which format (--fp16 is the one there is)\n${CONVERT_USAGE}`);
  if (!input || !output) throw new TinferError(`convert: give IN.onnx and OUT.onnx\n${CONVERT_USAGE}`);
  const extra = (args.flags.get('keep-float32') ?? []).flatMap((s) => s.split(',')).filter((s) => s !== '');
  const samples = flagNumber(args, 'samples', 8);
  const iterations = flagNumber(args, 'iterations', 5);
  const shapes = flagShapes(args);

  const { bytes, externalData } = readModelFileSync(input);
  const model = decodeModel(bytes, { externalData });
  const { model: half, report } = convertToFloat16(model, { float32Ops: [...DEFAULT_FLOAT32_OPS, ...extra] });
  const halfBytes = encodeModel(half);
  writeFileSync(output, halfBytes);
  const out: string[] = [
    `converted: ${input} (${formatBytes(bytes.length)}) -> ${output} (${formatBytes(halfBytes.length)}, ${((100 * halfBytes.length) / bytes.length).toFixed(1)}%)`,
    `weights float16: ${report.weightsConverted}, kept float32: ${report.weightsKeptFloat32}; nodes kept float32: ${report.float32Nodes}; casts inserted: ${report.castsInserted}`,
  ];

  const f32 = InferenceSession.fromModel(model);
  const f16 = InferenceSession.createSync(halfBytes);
  const cos = new Map<string, number[]>();
  const err = new Map<string, number>();
  const feedsOf = (seed: number): Record<string, Tensor> =>
    Object.fromEntries(f32.inputMetadata.map((m, i) => [m.name, randomTensor(m.type, concreteDims(m, shapes), seed * 7919 + i + 1)]));
  for (let s = 0; s < samples; s++) {
    const feeds = feedsOf(s);
    const a = f32.runSync(feeds);
    const b = f16.runSync(feeds);
    for (const name of f32.outputNames) {
      const x = numbers(a[name]!);
      const y = numbers(b[name]!);
      if (x === undefined || y === undefined) continue;
      cos.set(name, [...(cos.get(name) ?? []), cosineSimilarity(x, y)]);
      err.set(name, Math.max(err.get(name) ?? 0, maxAbsDifference(x, y)));
    }
  }
  out.push(`accuracy vs float32 over ${samples} random inputs:`);
  for (const [name, c] of cos) {
    out.push(`  ${name}: cosine mean ${mean(c).toFixed(6)} (min ${Math.min(...c).toFixed(6)}), max |error| ${err.get(name)!.toExponential(2)}`);
  }

  const time = (session: InferenceSession): number => {
    const feeds = feedsOf(0);
    session.runSync(feeds);
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const t = performance.now();
      session.runSync(feeds);
      times.push(performance.now() - t);
    }
    return median(times);
  };
  out.push(`speed (tinfer, median of ${iterations} runs): float32 ${time(f32).toFixed(2)} ms, float16 ${time(f16).toFixed(2)} ms`);
  for (const note of f16.passNotes) out.push(`  (${note})`);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

function numbers(t: Tensor): ArrayLike<number> | undefined {
  const d = t.data;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Array.from(d, Number);
  if (Array.isArray(d)) return undefined;
  return d as ArrayLike<number>;
}

function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}
