/**
 * Runs folders in the ONNX backend-test layout (model.onnx + test_data_set_N/{input,output}_K.pb) and compares
 * each output with |got - exp| <= atol + rtol * |exp| (NaN equals NaN); sequence and optional values are compared
 * element by element. Used by `tinfer test` and the test suite.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isContainer, type TensorData } from '../dtype.js';
import { UnsupportedError } from '../errors.js';
import type { ValueInfo, ValueType } from '../loader/model.js';
import { decodeValue, tensorAsDeclared, type ValueData } from '../loader/value.js';
import { InferenceSession, type SessionOptions } from '../session/session.js';
import { fromTensorData, toTensorData } from '../session/tensor.js';
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
  /**
   * The largest |got - exp| / (atol + rtol·|exp|) over the elements: the share of the tolerance used (<= 1
   * passes). maxRel alone can be huge where |exp| is near 0 and atol governs; this is the number that decides.
   */
  worst?: number;
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

function pbFiles(dir: string, prefix: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith(prefix) && n.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3)))
    .map((f) => join(dir, f));
}

/**
 * Reads test-data files as values of the declared graph inputs/outputs (file K is the K-th one unless it names
 * another): TensorProto, SequenceProto or OptionalProto by the declared type.
 */
function readValues(dir: string, prefix: string, declared: readonly ValueInfo[]): { name: string; value: TensorData }[] {
  const unknown: ValueType = { kind: 'unknown' };
  return pbFiles(dir, prefix).map((file, k) => {
    const bytes = new Uint8Array(readFileSync(file));
    let info = declared[k];
    let decoded = decodeValue(bytes, info?.type ?? unknown);
    const named = decoded.name ? declared.find((d) => d.name === decoded.name) : undefined;
    if (named && named !== info) {
      info = named;
      decoded = decodeValue(bytes, named.type);
    }
    const name = info?.name ?? decoded.name;
    if (!name) throw new Error(`${file}: no matching model value`);
    return { name, value: toValue(decoded.value, info?.type ?? unknown) };
  });
}

/** Decoded test data -> the runtime representation (sequences and optionals as TensorData holding TensorData[]). */
function toValue(v: ValueData, type: ValueType): TensorData {
  const elem = type.kind === 'sequence' || type.kind === 'optional' ? type.elem : null;
  const inner = (x: ValueData): TensorData => toValue(x, elem ?? { kind: 'unknown' });
  let out: TensorData;
  switch (v.kind) {
    case 'tensor':
      return v.value;
    case 'sequence':
      out = { dtype: 'sequence', shape: [v.elems.length], data: v.elems.map(inner) };
      break;
    case 'optional':
      out = { dtype: 'optional', shape: [v.value ? 1 : 0], data: v.value ? [inner(v.value)] : [] };
      break;
  }
  if (elem?.kind === 'tensor') out.elemType = elem.dtype;
  else if (elem?.kind === 'sequence' || elem?.kind === 'optional') out.elemType = elem.kind;
  return out;
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
    const graph = session.model.graph;
    for (const v of [...graph.inputs, ...graph.outputs]) {
      if (v.type.kind === 'map') throw new UnsupportedError(`'${v.name}' is a map value; map values are not supported`);
    }
    const required = graph.inputs.filter((i) => session.inputNames.includes(i.name));
    const inputs = readValues(dir, 'input_', required);
    const expected = readValues(dir, 'output_', graph.outputs);
    const feeds = new Map(inputs.map(({ name, value }) => [name, value]));
    const t1 = performance.now();
    const got = session.runValues(feeds);
    const ms = performance.now() - t1;
    const outputs = expected.map(({ name, value }): OutputCheck => {
      const out = got.get(name);
      if (!out) return { name, ok: false, maxAbs: NaN, maxRel: NaN, message: 'the model has no such output' };
      return compareValues(name, asPublic(out), value, tol);
    });
    return { dataset, ok: outputs.every((o) => o.ok), ms, outputs };
  } catch (e) {
    return { dataset, ok: false, ms: performance.now() - t0, outputs: [], error: describe(e) };
  }
}

/** Tensors as the public API returns them (float16/bfloat16 rounded to their formats), inside containers too. */
function asPublic(t: TensorData): TensorData {
  if (isContainer(t.dtype)) return { ...t, data: (t.data as TensorData[]).map(asPublic) };
  return toTensorData(fromTensorData(t));
}

/**
 * Tensors by compareTensors (bfloat16 expectations stored as uint16 bits are read as bfloat16); sequences element
 * by element; optionals both empty or holding matching values.
 */
export function compareValues(name: string, got: TensorData, exp: TensorData, tol: Tolerance): OutputCheck {
  if (!isContainer(exp.dtype)) return compareTensors(name, got, tensorAsDeclared(exp, got.dtype), tol);
  const fail = (message: string): OutputCheck => ({ name, ok: false, maxAbs: NaN, maxRel: NaN, message });
  if (got.dtype !== exp.dtype) return fail(`got ${got.dtype}, expected ${exp.dtype}`);
  const g = got.data as TensorData[];
  const e = exp.data as TensorData[];
  if (g.length !== e.length) return fail(`${got.dtype} of ${g.length} values, expected ${e.length}`);
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < e.length; i++) {
    const check = compareValues(`${name}[${i}]`, g[i]!, e[i]!, tol);
    if (!check.ok) return { ...check, name, message: `value ${i}: ${check.message}` };
    maxAbs = Math.max(maxAbs, check.maxAbs);
    maxRel = Math.max(maxRel, check.maxRel);
  }
  return { name, ok: true, maxAbs, maxRel };
}

/** Elementwise |got - exp| <= atol + rtol*|exp|; exact for non-float types; NaN equals NaN. */
export function compareTensors(name: string, got: TensorData, exp: TensorData, tol: Tolerance): OutputCheck {
  const fail = (message: string): OutputCheck => ({ name, ok: false, maxAbs: NaN, maxRel: NaN, message });
  if (got.shape.join(',') !== exp.shape.join(',')) return fail(`shape [${got.shape}] != expected [${exp.shape}]`);
  if (got.dtype !== exp.dtype) return fail(`type ${got.dtype} != expected ${exp.dtype}`);
  let maxAbs = 0;
  let maxRel = 0;
  let worst = 0;
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
    const bound = tol.atol + tol.rtol * Math.abs(e);
    if (!(abs <= bound)) bad = bad < 0 ? i : bad;
    const ratio = Number.isNaN(abs) ? Infinity : abs / bound;
    if (ratio > worst) worst = ratio;
    if (abs > maxAbs || Number.isNaN(abs)) maxAbs = Number.isNaN(abs) ? Infinity : abs;
    const rel = abs / Math.max(Math.abs(e), 1e-12);
    if (rel > maxRel) maxRel = rel;
  }
  const check: OutputCheck = { name, ok: bad < 0, maxAbs, maxRel, worst };
  if (bad >= 0) {
    const g = got.data[bad];
    const e = exp.data[bad];
    if (isStr) check.message = `element ${bad}: got '${String(g)}', expected '${String(e)}'`;
    else {
      const diff = Math.abs(Number(g) - Number(e));
      const bound = tol.atol + tol.rtol * Math.abs(Number(e));
      check.message =
        `element ${bad}: got ${String(g)}, expected ${String(e)}: |diff| ${fmt(diff)} > atol ${fmt(tol.atol)} + rtol ${fmt(tol.rtol)} × |expected| = ${fmt(bound)}`;
    }
  }
  return check;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toExponential(2) : String(x);
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
