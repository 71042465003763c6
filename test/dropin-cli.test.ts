/**
 * The command line as a user meets it (the built dist/cli/main.js): the inputs it used, guesses stated on stderr,
 * literal and file inputs, one-line errors listing the valid values, per-command help, bench rows with sizes,
 * test lines that say which tolerance failed, and reports that count Constant weights and subgraph nodes.
 * Skips without dist/ (CI builds first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeTensor } from '../src/loader/encode.js';
import { VERSION } from '../src/version.js';
import { ModelBuilder } from './onnx-builder.js';
import { tensor } from './harness.js';
import { REPO_ROOT } from './shared.js';

const CLI = join(REPO_ROOT, 'dist/cli/main.js');
const hasDist = existsSync(CLI);
if (!hasDist) console.warn('[skip] dropin-cli: dist/cli/main.js not found (run npm run build first)');

const dir = mkdtempSync(join(tmpdir(), 'tinfer-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tinfer = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir });

/** z = Conv(x [batch,3,h,w], W 4×3×3×3 of 0.1, pads 1) * Cast(sr int64 scalar). */
function convModel(): string {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', ['batch', 3, 'h', 'w']);
  const sr = b.input('sr', 'int64', []);
  const [y] = b.node('Conv', [x, b.initializer('w', tensor('float32', [4, 3, 3, 3], new Float32Array(108).fill(0.1)))], { pads: [1, 1, 1, 1] });
  const [c] = b.node('Cast', [sr], { to: 1 });
  b.output(b.node('Mul', [y!, c!], {}, { outputs: ['z'] })[0]!);
  const path = join(dir, 'conv.onnx');
  writeFileSync(path, b.toBytes());
  return path;
}

/** y = x + C, with C [2] = [1, 2] held in a Constant node (paddle2onnx style), and an If whose branches hold nodes. */
function constantModel(): string {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', [2]);
  const [k] = b.node('Constant', [], { value: tensor('float32', [2], [1, 2]) });
  const [y] = b.node('Add', [x, k!]);
  const cond = b.input('cond', 'bool', []);
  const then = b.subgraph('then');
  then.output(then.node('Relu', [y!])[0]!);
  const orElse = b.subgraph('else');
  orElse.output(orElse.node('Neg', [y!])[0]!);
  b.output(b.node('If', [cond], { then_branch: then, else_branch: orElse }, { outputs: ['out'] })[0]!);
  const path = join(dir, 'constant.onnx');
  writeFileSync(path, b.toBytes());
  return path;
}

describe.skipIf(!hasDist)('tinfer CLI, honestly', () => {
  it('prints --version', () => {
    const r = tinfer('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`tinfer ${VERSION}`);
  });

  it('run prints the input shapes it used and states guessed symbolic dims loudly on stderr', () => {
    const r = tinfer('run', convModel());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('x: float32[1,3,1,1] (random; symbolic batch, h, w set to 1)');
    expect(r.stderr).toContain("input 'x' has symbolic dims (batch, h, w); GUESSED 1 for each. Give the real sizes with --shape x=<batch>,3,<h>,<w>");
  });

  it('run takes --shape and literal --input values, and says so', () => {
    const r = tinfer('run', convModel(), '--shape', 'x=1,3,8,8', '--input', 'sr=16000');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('x: float32[1,3,8,8] (random)');
    expect(r.stdout).toContain('sr: int64[] (literal)');
    expect(r.stdout).toMatch(/z: float32\[1,4,8,8\]/);
  });

  it('run takes --memory-limit and prints the planned memory', () => {
    const r = tinfer('run', convModel(), '--shape', 'x=1,3,8,8', '--input', 'sr=1', '--memory-limit', '1M');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/memory: planned peak [\d.]+ MB \(weights [\d.]+ MB, arena [\d.]+ MB/);
    const bad = tinfer('run', convModel(), '--memory-limit', 'lots');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--memory-limit must be a positive byte count (e.g. 120000000 or 120M), got 'lots'");
  });

  it('run reads .pb input files', () => {
    const pb = join(dir, 'x.pb');
    writeFileSync(pb, encodeTensor(tensor('float32', [1, 3, 2, 2], new Float32Array(12).fill(1)), 'x'));
    const r = tinfer('run', convModel(), '--input', `x=${pb}`, '--input', 'sr=1');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('x: float32[1,3,2,2] (file)');
    // Corner output of a 3×3 conv of ones with pads 1: 3 channels × 4 taps × 0.1.
    expect(r.stdout).toMatch(/z: float32\[1,4,2,2\] \[1\.2, 1\.2/);
  });

  it.each([
    ['a missing input file', ['run', 'conv.onnx', '--input', 'x=missing.npy'], 1, "tinfer: InputError: --input x: cannot read 'missing.npy': no such file"],
    ['a missing model', ['run', 'nope.onnx'], 1, "tinfer: ModelFileError: cannot read model 'nope.onnx': no such file"],
    ['a bad literal', ['run', 'conv.onnx', '--input', 'sr=abc'], 1, "tinfer: InputError: --input sr: 'abc' is not a number"],
    ['an unknown backend', ['run', 'conv.onnx', '--backend', 'foo'], 2, "tinfer: OptionError: --backend must be one of auto, wasm, js, got 'foo'"],
    ['zero iterations', ['bench', 'conv.onnx', '--iterations', '0'], 2, "tinfer: OptionError: --iterations must be an integer >= 1, got '0'"],
    ['an unknown flag', ['bench', '--frob'], 2, "tinfer: OptionError: bench: unknown option '--frob'; valid options: --iterations --warmup"],
    ['a --shape for no input', ['run', 'conv.onnx', '--shape', 'y=1'], 2, "tinfer: OptionError: --shape: the model has no input 'y'"],
    ['a flag without its value', ['run', 'conv.onnx', '--shape'], 2, 'tinfer: OptionError: run: --shape needs a value'],
  ])('refuses %s with one line and no stack trace', (_, args, status, line) => {
    convModel();
    const r = tinfer(...args);
    expect(r.status).toBe(status);
    expect(r.stderr.startsWith(line), r.stderr).toBe(true);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("gives each command its own --help", () => {
    for (const [command, flag] of [['run', '--input name=VALUE'], ['bench', '--iterations N'], ['test', '--rtol R'], ['inspect', '--shape'], ['quantize', '--calib DIR']]) {
      const r = tinfer(command!, '--help');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`usage: tinfer ${command}`);
      expect(r.stdout).toContain(flag);
    }
  });

  it('bench prints a row per model with params, MACs, arena, load, first and median run', () => {
    const r = tinfer('bench', convModel(), '--shape', 'x=1,3,8,8', '--iterations', '2', '--warmup', '0');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('| model | load ms | first run ms | median ms | min ms | max ms | runs | params | MACs | arena | input |');
    // 108 weights; MACs = 4·8·8 outputs × 27 taps = 6912.
    expect(r.stdout).toMatch(/\| .*conv\.onnx \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| 2 \| 108 \| 6\.9 K \| [\d.]+ KiB \| x\[1,3,8,8\] sr\[\] \|/);
  });

  it('test names the tolerance that failed, and explains a large relative error on a pass', () => {
    const b = new ModelBuilder({ opset: 13 });
    b.output(b.node('Identity', [b.input('x', 'float32', [3])], {}, { outputs: ['y'] })[0]!, { dtype: 'float32', shape: [3] });
    const t = join(dir, 'case');
    mkdirSync(join(t, 'test_data_set_0'), { recursive: true });
    writeFileSync(join(t, 'model.onnx'), b.toBytes());
    writeFileSync(join(t, 'test_data_set_0/input_0.pb'), encodeTensor(tensor('float32', [3], [1, 2, 1e-7]), 'x'));
    writeFileSync(join(t, 'test_data_set_0/output_0.pb'), encodeTensor(tensor('float32', [3], [1, 2.5, 0]), 'y'));
    const fail = tinfer('test', t);
    expect(fail.status).toBe(1);
    expect(fail.stdout).toContain('tolerance: |got - expected| <= atol 0.00001 + rtol 0.001 × |expected|');
    expect(fail.stdout).toMatch(/FAIL test_data_set_0 y: element 1: got 2, expected 2\.5: \|diff\| 5\.00e-1 > atol 1\.00e-5 \+ rtol 1\.00e-3 × \|expected\| = 2\.51e-3/);
    const pass = tinfer('test', t, '--atol', '1');
    expect(pass.status).toBe(0);
    expect(pass.stdout).toMatch(/ok {3}test_data_set_0 y: tolerance used 0\.50 \(max abs 5\.00e-1, max rel 1\.00e\+5; the large relative error is where \|expected\| is near 0, within atol\)/);
    expect(pass.stdout).not.toContain('FAIL');
  });

  it('inspect counts weights held in Constant nodes and the nodes inside subgraphs', () => {
    const r = tinfer('inspect', constantModel());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('nodes: 3 (+2 in subgraphs, counted in ops below)');
    expect(r.stdout).toMatch(/ops: .*Relu×1.*|ops: .*Neg×1/);
    expect(r.stdout).toContain('parameters: 2 (1 initializers and Constant tensors)');
    expect(r.stdout).toMatch(/weights 8 B/);
  });

  it('quantize says when no weight was quantized, and why', () => {
    const out = join(dir, 'q.onnx');
    const r = tinfer('quantize', constantModel(), '--out', out, '--generate', '2');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('tinfer quantize: no weight was quantized: the model has no Conv, ConvTranspose, MatMul or Gemm node to quantize (its ops: Constant, Add, If)');
  });
});
