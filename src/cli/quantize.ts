/**
 * `tinfer quantize`: INT8 post-training quantization from the command line (QUANTIZE_USAGE lists the flags).
 * Calibration / evaluation directories hold one sample per file (.pb TensorProto or .npy; a leading batch dim
 * larger than the model's is split into samples) for single-input models, or one sample per subdirectory
 * (e.g. the ONNX test layout: test_data_set_N directories of input_N.pb), files matched to inputs by tensor name, file stem or index.
 * --generate N draws N seeded N(0,1) inputs (--seed S, default 0); --eval-generate N draws N more with seed S+1.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, basename } from 'node:path';
import { sizeOf, type TensorData } from '../dtype.js';
import { InputError, ModelFileError, OptionError } from '../errors.js';
import { decodeModel, decodeTensor } from '../loader/index.js';
import type { Model } from '../loader/model.js';
import { readModelFileSync } from '../node.js';
import { decodeNpy, generateFeeds, quantizeModel, type QuantizeOptions, type QuantizeReport } from '../quantize/index.js';
import { quantizeDynamic } from '../quantize/dynamic.js';
import type { CalibrationMethod } from '../quantize/ranges.js';
import type { Feeds } from '../session/session.js';
import { fromTensorData } from '../session/tensor.js';
import { flagNumber, flagShapes, parseArgs, type FlagSpec, type ParsedArgs } from './args.js';
import { formatBytes } from './format.js';

const METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy', 'mse'];

export const QUANTIZE_USAGE = `usage: tinfer quantize MODEL.onnx --out OUT.onnx (--calib DIR | --generate N [--seed S]) [options]
       tinfer quantize --dynamic IN.onnx OUT.onnx [--per-channel] [--eval DIR | --eval-generate N] [--runs N]

  --calib DIR              calibration samples: .pb / .npy files, or one subdirectory per sample
  --generate N             N seeded random inputs instead (N(0,1) floats); --seed S (default 0)
  --eval DIR | --eval-generate N
                           inputs to compare the int8 model with fp32 on (cosine, max error, top-1)
  --shape name=d0,d1,...   sizes of symbolic input dims for --generate / --eval-generate
  --per-channel            int8 weight scales per output channel (recommended)
  --format qdq|qoperator   QuantizeLinear/DequantizeLinear pairs (default) or QLinearConv & co.
  --activation-type uint8|int8
                           asymmetric uint8 (default) or symmetric int8 activations
  --method minmax|percentile|entropy|mse
                           activation ranges: min/max (default), percentile of |x| (--percentile P, default
                           99.99), KL-divergence threshold, or the range minimising the expected squared error
  --gptq                   round Conv/Gemm weights with GPTQ error feedback over calibration input correlations
  --empirical-bias         absorb each Conv/Gemm's measured mean output error (layer by layer) into its bias
  --no-bias-correction     skip the analytic correction of the weight rounding's mean shift (on by default)
  --mixed-precision COS    keep the activations/weights whose quantization costs most in float until the mean
                           output cosine on the calibration inputs reaches COS (QDQ only; the model is then not
                           integer-only); --max-float N caps how many (default 16), --probes N sets how many
                           calibration inputs measure it (default 8)
  --dynamic IN OUT         dynamic int8 instead (onnxruntime's quantize_dynamic form: DynamicQuantizeLinear +
                           MatMulInteger / ConvInteger, no calibration); compared with float on --eval DIR or
                           --eval-generate N random inputs (default 4) and timed (--runs N, default 5);
                           --per-channel: MatMul weight scales per column
  --help                   this text
`;

function flag(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name)?.at(-1);
}

function oneOf<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[], fallback: T): T {
  const v = flag(args, name) ?? fallback;
  if (!allowed.includes(v as T)) throw new OptionError(`--${name} must be one of ${allowed.join(', ')}, got '${v}'`, name, allowed);
  return v as T;
}

function readSampleFile(path: string): TensorData & { name?: string } {
  const bytes = new Uint8Array(readFileSync(path));
  return extname(path) === '.npy' ? decodeNpy(bytes) : decodeTensor(bytes);
}

function isSampleFile(name: string): boolean {
  return name.endsWith('.pb') || name.endsWith('.npy');
}

function modelInputs(model: Model): { name: string; dims: (number | string | null)[] | null }[] {
  return model.graph.inputs
    .filter((i) => !model.graph.initializers.has(i.name))
    .map((i) => ({ name: i.name, dims: i.type.kind === 'tensor' ? i.type.shape : null }));
}

/** Splits a tensor whose leading dim is a multiple of the model's fixed batch dim into samples of that batch. */
function splitBatch(t: TensorData, batch: number | undefined): TensorData[] {
  const n = t.shape[0];
  if (batch === undefined || n === undefined || n === batch || n % batch !== 0) return [t];
  const per = sizeOf(t.shape) / (n / batch);
  return Array.from({ length: n / batch }, (_, k) => ({
    dtype: t.dtype,
    shape: [batch, ...t.shape.slice(1)],
    data: (t.data as Float32Array).slice(k * per, (k + 1) * per),
  }));
}

/** One sample from a directory: files matched to inputs by tensor name, file stem, input_N index, then order. */
function sampleFromDir(dir: string, inputs: { name: string }[]): Feeds {
  const files = readdirSync(dir).filter(isSampleFile).sort();
  const feeds: Feeds = {};
  files.forEach((f, order) => {
    const t = readSampleFile(join(dir, f));
    const stem = basename(f, extname(f));
    const index = /^input_(\d+)$/.exec(stem)?.[1];
    const input =
      inputs.find((i) => i.name === t.name) ??
      inputs.find((i) => i.name === stem) ??
      (index !== undefined ? inputs[Number(index)] : undefined) ??
      inputs[order];
    if (input) feeds[input.name] = fromTensorData(t);
  });
  for (const i of inputs) if (!(i.name in feeds)) throw new InputError(`${dir}: no file for input '${i.name}'`, { input: i.name, expected: 'a sample file', actual: 'none' });
  return feeds;
}

export function loadSamples(dir: string, model: Model): Feeds[] {
  const inputs = modelInputs(model);
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch (e) {
    throw new ModelFileError(`cannot read calibration directory '${dir}': ${(e as Error).message}`, dir);
  }
  const subdirs = entries.filter((e) => statSync(join(dir, e)).isDirectory());
  if (subdirs.length > 0) return subdirs.map((d) => sampleFromDir(join(dir, d), inputs));
  const files = entries.filter(isSampleFile);
  if (files.length === 0) throw new OptionError(`${dir}: no .pb or .npy files and no sample subdirectories`, 'calib');
  if (inputs.length !== 1) {
    throw new OptionError(`${dir}: the model has ${inputs.length} inputs; put each sample's files in its own subdirectory`, 'calib');
  }
  const batch = inputs[0]!.dims?.[0];
  return files.flatMap((f) => splitBatch(readSampleFile(join(dir, f)), typeof batch === 'number' ? batch : undefined)).map((t) => ({ [inputs[0]!.name]: fromTensorData(t) }));
}

/** A progress bar with ETA on a TTY; plain lines otherwise. */
function progressPrinter(): (phase: string, done: number, total: number) => void {
  const tty = process.stderr.isTTY === true;
  // A phase starts when the previous one ended (or when the printer was made).
  let start = performance.now();
  let last = start;
  let current = '';
  return (phase, done, total) => {
    const now = performance.now();
    if (phase !== current) {
      current = phase;
      start = last;
    }
    last = now;
    const elapsed = (now - start) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : 0;
    if (tty) {
      const width = 30;
      const filled = Math.round((done / total) * width);
      process.stderr.write(`\r${phase.padEnd(9)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}  ETA ${eta.toFixed(0)}s `);
      if (done === total) process.stderr.write('\n');
    } else {
      process.stderr.write(`${phase} ${done}/${total} (${elapsed.toFixed(1)}s, ETA ${eta.toFixed(0)}s)\n`);
    }
  };
}

export function formatReport(r: QuantizeReport): string {
  const lines = [
    `format ${r.format}, method ${r.method}, weights int8 ${r.perChannel ? 'per channel' : 'per tensor'}, activations ${r.activationType}`,
    `size: ${formatBytes(r.sizeBefore)} -> ${formatBytes(r.sizeAfter)} (${(r.sizeAfter / r.sizeBefore).toFixed(3)}x); ${r.quantizedWeights} int8 weights, ${r.quantizedActivations} quantized activations`,
  ];
  if (r.probeCosine) {
    const p = r.probeCosine;
    lines.push(`mixed precision: cosine on the calibration probes ${p.before.toFixed(5)} -> ${p.after.toFixed(5)} (target ${p.target}); ${r.keptFloat?.length ?? 0} kept in float`);
    for (const k of r.keptFloat ?? []) lines.push(`  float ${k.kind} ${k.name} (alone costs ${k.sensitivity.toExponential(2)} of cosine)`);
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  if (r.evaluation.length > 0) {
    lines.push('', '| input | output | cosine | max abs error | top-1 |', '|---:|---|---:|---:|---|');
    r.evaluation.forEach((outs, i) => {
      for (const c of outs) {
        const top1 = c.top1Agrees === undefined ? '' : c.top1Agrees ? 'same' : 'differs';
        lines.push(`| ${i} | ${c.output} | ${c.cosine.toFixed(6)} | ${c.maxAbsError.toPrecision(4)} | ${top1} |`);
      }
    });
    lines.push('', `mean cosine ${r.meanCosine!.toFixed(6)} (min ${r.minCosine!.toFixed(6)}), max abs error ${r.maxAbsError!.toPrecision(4)}` +
      (r.top1Agreement === undefined ? '' : `, top-1 agreement ${(r.top1Agreement * 100).toFixed(1)}%`));
  }
  return lines.join('\n') + '\n';
}

const BOOLEAN_FLAGS = ['per-channel', 'gptq', 'empirical-bias', 'no-bias-correction', 'help', 'dynamic'];

/**
 * `tinfer quantize --dynamic IN.onnx OUT.onnx` (or --out OUT.onnx): onnxruntime's quantize_dynamic form, no
 * calibration; compared with the float model on --eval DIR or --eval-generate N random inputs (default 4) and timed.
 */
function dynamicCommand(args: ParsedArgs): number {
  const path = args.positional[0];
  const out = flag(args, 'out') ?? args.positional[1];
  if (!path || !out) throw new OptionError(`quantize --dynamic: IN.onnx and OUT.onnx are required\n${QUANTIZE_USAGE}`, 'dynamic');
  const { bytes, externalData } = readModelFileSync(path);
  const model = decodeModel(bytes, { externalData });
  const evalDir = flag(args, 'eval');
  const count = flagNumber(args, 'eval-generate', 4);
  const evaluation = evalDir ? loadSamples(evalDir, model) : generateFeeds(model, { count, seed: flagNumber(args, 'seed', 0) + 1, shapes: flagShapes(args) });
  const { bytes: quantized, report: r } = quantizeDynamic(model, { perChannel: args.flags.has('per-channel'), evaluation, timingRuns: flagNumber(args, 'runs', 5) });
  r.sizeBefore = bytes.length;
  writeFileSync(out, quantized);
  const lines = [
    `wrote ${out}`,
    `dynamic int8: ${r.matmuls} MatMul -> MatMulInteger (int8 weights ${args.flags.has('per-channel') ? 'per column' : 'per tensor'}), ${r.convs} Conv -> ConvInteger (uint8 weights), ${r.dynamicInputs} DynamicQuantizeLinear`,
    `size: ${formatBytes(r.sizeBefore)} -> ${formatBytes(r.sizeAfter)} (${(r.sizeAfter / r.sizeBefore).toFixed(3)}x)`,
  ];
  if (r.meanCosine !== undefined) lines.push(`vs float on ${evaluation.length} inputs: mean cosine ${r.meanCosine.toFixed(6)} (min ${r.minCosine!.toFixed(6)}), max abs error ${r.maxAbsError!.toPrecision(4)}`);
  if (r.floatMs !== undefined) lines.push(`speed (tinfer, median of ${flagNumber(args, 'runs', 5)} runs): float ${r.floatMs.toFixed(2)} ms, dynamic int8 ${r.dynamicMs!.toFixed(2)} ms`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

const FLAGS: FlagSpec = {
  command: 'quantize',
  values: ['out', 'calib', 'generate', 'seed', 'eval', 'eval-generate', 'shape', 'format', 'method', 'percentile', 'activation-type', 'mixed-precision', 'max-float', 'probes', 'runs'],
  booleans: BOOLEAN_FLAGS,
};

const WEIGHTED_OPS = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm']);

/**
 * Why a model came out with no int8 weights: it has no Conv/ConvTranspose/MatMul/Gemm, or their weights are not
 * initializers (computed at run time, or held in Constant nodes, which the quantizer leaves alone).
 */
export function nothingQuantizedReason(model: Model): string {
  const g = model.graph;
  const weighted = g.nodes.filter((n) => n.domain === '' && WEIGHTED_OPS.has(n.opType));
  if (weighted.length === 0) {
    const ops = [...new Set(g.nodes.map((n) => n.opType))].slice(0, 8).join(', ');
    return `the model has no Conv, ConvTranspose, MatMul or Gemm node to quantize (its ops: ${ops || 'none'})`;
  }
  const constants = new Set(g.nodes.filter((n) => n.opType === 'Constant').flatMap((n) => n.outputs));
  const inConstants = weighted.filter((n) => constants.has(n.inputs[1] ?? ''));
  if (inConstants.length > 0) {
    return `the weights of ${inConstants.length} of ${weighted.length} Conv/MatMul/Gemm nodes are Constant nodes, not initializers (paddle2onnx style); the quantizer reads initializers only`;
  }
  const computed = weighted.filter((n) => !g.initializers.has(n.inputs[1] ?? ''));
  if (computed.length === weighted.length) return `none of the ${weighted.length} Conv/MatMul/Gemm nodes has a constant weight (both operands are computed at run time)`;
  return 'no weight met the quantizer\'s conditions (see the warnings above)';
}

/** The quantizeModel options the command line asks for (calibration and evaluation inputs aside). */
export function quantizeOptionsFromArgs(args: ParsedArgs): QuantizeOptions {
  const options: QuantizeOptions = {
    format: oneOf(args, 'format', ['qdq', 'qoperator'] as const, 'qdq'),
    method: oneOf(args, 'method', METHODS, 'minmax'),
    percentile: flagNumber(args, 'percentile', 99.99, { integer: false }),
    perChannel: args.flags.has('per-channel'),
    activationType: oneOf(args, 'activation-type', ['uint8', 'int8'] as const, 'uint8'),
    gptq: args.flags.has('gptq'),
    empiricalBiasCorrection: args.flags.has('empirical-bias'),
    biasCorrection: !args.flags.has('no-bias-correction'),
  };
  if (args.flags.has('mixed-precision')) {
    const targetCosine = flagNumber(args, 'mixed-precision', 0.99, { integer: false });
    if (!(targetCosine > 0 && targetCosine <= 1)) throw new OptionError(`--mixed-precision takes a cosine in (0, 1], got ${targetCosine}`, 'mixed-precision');
    options.mixedPrecision = { targetCosine, maxKept: flagNumber(args, 'max-float', 16), probes: flagNumber(args, 'probes', 8) };
  }
  return options;
}

export async function quantizeCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  if (args.flags.has('help')) {
    process.stdout.write(QUANTIZE_USAGE);
    return 0;
  }
  if (args.flags.has('dynamic')) return dynamicCommand(args);
  const path = args.positional[0];
  const out = flag(args, 'out');
  if (!path || !out) throw new OptionError('quantize: MODEL.onnx and --out OUT.onnx are required (tinfer quantize --help)', path ? 'out' : 'MODEL');
  const { bytes, externalData } = readModelFileSync(path);
  const model = decodeModel(bytes, { externalData });
  const seed = flagNumber(args, 'seed', 0);
  const shapes = flagShapes(args);
  const calibDir = flag(args, 'calib');
  const generate = flagNumber(args, 'generate', 0);
  if (!calibDir && generate <= 0) throw new OptionError('quantize: give --calib DIR or --generate N', 'calib');
  const calibration = calibDir ? loadSamples(calibDir, model) : generateFeeds(model, { count: generate, seed, shapes });
  const evalDir = flag(args, 'eval');
  const evalGenerate = flagNumber(args, 'eval-generate', 0);
  const evaluation = evalDir ? loadSamples(evalDir, model) : evalGenerate > 0 ? generateFeeds(model, { count: evalGenerate, seed: seed + 1, shapes }) : undefined;
  const options = quantizeOptionsFromArgs(args);
  const { bytes: quantized, report } = quantizeModel(model, calibration, { ...options, evaluation, onProgress: progressPrinter() });
  // Report the file's own size as "before" (the re-encoded model may differ by a few bytes).
  report.sizeBefore = bytes.length;
  writeFileSync(out, quantized);
  process.stdout.write(`wrote ${out}\n${formatReport(report)}`);
  if (report.quantizedWeights === 0 && report.quantizedActivations === 0) {
    process.stderr.write(`tinfer quantize: nothing was quantized: ${nothingQuantizedReason(model)}; ${out} is the float model\n`);
  } else if (report.quantizedWeights === 0) {
    process.stderr.write(`tinfer quantize: no weight was quantized: ${nothingQuantizedReason(model)}\n`);
  }
  return 0;
}
