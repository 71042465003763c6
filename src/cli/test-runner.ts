/**
 * Runs folders in the ONNX backend-test layout (model.onnx + test_data_set_N/{input,output}_K.pb) and compares
 * each output with |got - exp| <= atol + rtol * |exp| (NaN equals NaN). Used by `tinfer test` and the test suite.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TensorData } from '../dtype.js';
import { decodeTensor } from '../loader/index.js';
import { UnsupportedError } from '../errors.js';
import { InferenceSession, type SessionOptions } from '../session/session.js';
import { Tensor, fromTensorData, toTensorData } from '../session/tensor.js';
import { readModelFileSync } from '../node.js';

export interface Tolerance {
  rtol: number;
  atol: number;
}

export interface OutputCheck {
  name: string;
  ok: boolean;
  maxAbs: number;
  maxRel: number;
  message?: string;
}

export interface DatasetResult {
  dataset: string;
  ok: boolean;
  ms: number;
  outputs: OutputCheck[];
  error?: string;
}

export interface ModelResult {
  dir: string;
  ok: boolean;
  loadMs: number;
  datasets: DatasetResult[];
  error?: string;
}

/** Folders under `root` (itself included) that hold a model.onnx. */
export function findTestDirs(root: string): string[] {
  if (existsSync(join(root, 'model.onnx'))) return [root];
  if (!existsSync(root) || !statSync(root).isDirectory()) return [];
  return readdirSync(root)
    .sort()
    .flatMap((name) => {
      const p = join(root, name);
      return statSync(p).isDirectory() ? findTestDirs(p) : [];
    });
}

function datasetDirs(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith('test_data_set_'))
    .sort()
    .map((n) => join(dir, n));
}

function readPbs(dir: string, prefix: string): (TensorData & { name: string })[] {
  const files = readdirSync(dir)
    .filter((n) => n.startsWith(prefix) && n.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3)));
  return files.map((f) => decodeTensor(new Uint8Array(readFileSync(join(dir, f)))));
}

export function runTestDir(dir: string, tol: Tolerance, options: SessionOptions = {}): ModelResult {
  const t0 = performance.now();
  let session: InferenceSession;
  try {
    const { bytes, externalData } = readModelFileSync(join(dir, 'model.onnx'));
    session = InferenceSession.createSync(bytes, { externalData, ...options });
  } catch (e) {
    return { dir, ok: false, loadMs: performance.now() - t0, datasets: [], error: describe(e) };
  }
  const loadMs = performance.now() - t0;
  const datasets = datasetDirs(dir).map((ds) => runDataset(session, ds, tol));
  return { dir, ok: datasets.length > 0 && datasets.every((d) => d.ok), loadMs, datasets };
}

function runDataset(session: InferenceSession, dir: string, tol: Tolerance): DatasetResult {
  const dataset = dir.split(/[\\/]/).pop()!;
  const t0 = performance.now();
  try {
    for (const m of [...session.inputMetadata, ...session.outputMetadata]) {
      if (m.type === 'sequence' || m.type === 'optional' || m.type === 'map') {
        throw new UnsupportedError(`'${m.name}' is a ${m.type} value; sequence, optional and map values are not supported`);
      }
    }
    const inputs = readPbs(dir, 'input_');
    const expected = readPbs(dir, 'output_');
    const feeds: Record<string, Tensor> = {};
    inputs.forEach((t, i) => {
      const name = t.name || session.inputNames[i];
      if (name === undefined) throw new Error(`input_${i}.pb has no matching model input`);
      const key = session.inputNames.includes(name) ? name : session.inputNames[i]!;
      const declared = session.inputMetadata.find((m) => m.name === key)?.type;
      feeds[key] = declared === 'bfloat16' && t.dtype === 'uint16' ? new Tensor('bfloat16', t.data as Uint16Array, t.shape) : fromTensorData(t);
    });
    const t1 = performance.now();
    const got = session.runSync(feeds);
    const ms = performance.now() - t1;
    const outputs = expected.map((exp, i) => {
      const name = exp.name && exp.name in got ? exp.name : session.outputNames[i]!;
      return compareTensors(name, toTensorData(got[name]!), bfloat16Bits(exp, got[name]), tol);
    });
    return { dataset, ok: outputs.every((o) => o.ok), ms, outputs };
  } catch (e) {
    return { dataset, ok: false, ms: performance.now() - t0, outputs: [], error: describe(e) };
  }
}

/**
 * The ONNX test generator stores bfloat16 tensors as uint16 bits; read them as bfloat16 when the model's output is
 * bfloat16.
 */
function bfloat16Bits(exp: TensorData, got: Tensor | undefined): TensorData {
  if (got?.type !== 'bfloat16' || exp.dtype !== 'uint16') return exp;
  return toTensorData(new Tensor('bfloat16', exp.data as Uint16Array, exp.shape));
}

/** Elementwise |got - exp| <= atol + rtol*|exp|; exact for non-float types; NaN equals NaN. */
export function compareTensors(name: string, got: TensorData, exp: TensorData, tol: Tolerance): OutputCheck {
  const fail = (message: string): OutputCheck => ({ name, ok: false, maxAbs: NaN, maxRel: NaN, message });
  if (got.shape.join(',') !== exp.shape.join(',')) return fail(`shape [${got.shape}] != expected [${exp.shape}]`);
  if (got.dtype !== exp.dtype) return fail(`type ${got.dtype} != expected ${exp.dtype}`);
  let maxAbs = 0;
  let maxRel = 0;
  let bad = -1;
  const isStr = Array.isArray(exp.data);
  for (let i = 0; i < exp.data.length; i++) {
    if (isStr) {
      if (got.data[i] !== exp.data[i]) bad = bad < 0 ? i : bad;
      continue;
    }
    const g = Number(got.data[i]);
    const e = Number(exp.data[i]);
    if (g === e || (Number.isNaN(g) && Number.isNaN(e))) continue;
    const abs = Math.abs(g - e);
    if (!(abs <= tol.atol + tol.rtol * Math.abs(e))) bad = bad < 0 ? i : bad;
    if (abs > maxAbs || Number.isNaN(abs)) maxAbs = Number.isNaN(abs) ? Infinity : abs;
    const rel = abs / Math.max(Math.abs(e), 1e-12);
    if (rel > maxRel) maxRel = rel;
  }
  const check: OutputCheck = { name, ok: bad < 0, maxAbs, maxRel };
  if (bad >= 0) check.message = `element ${bad}: got ${String(got.data[bad])}, expected ${String(exp.data[bad])}`;
  return check;
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
