// The wasm modules pre-built at build time (src/wasm/prebuilt.ts, scripts/prebuild-wasm.mjs): the file format, that
// the built file holds exactly what the emitters in src/ generate for each key, and that a Node process creating a
// session from the build registers them (and gets the same outputs as generating them).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodePrebuiltModules, encodePrebuiltModules, prebuiltModule, registerPrebuiltModules, withSharedMemory } from '../src/wasm/prebuilt.js';
import { familyModuleBytes, familyModuleKey, mainModuleBytes, mainModuleKey, WASM_GEMM_TILE, winogradModuleBytes, winogradModuleKey } from '../src/wasm/context.js';
import { MATH_KERNELS } from '../src/wasm/math-kernels.js';
import { INT8_KERNELS } from '../src/wasm/int8-kernels.js';
import { tensor } from './harness.js';
import { ModelBuilder } from './onnx-builder.js';

const root = resolve(__dirname, '..');
const builtFile = join(root, 'dist', 'wasm', 'modules.bin');
const builtNode = join(root, 'dist', 'node.js');
/** The build's file, when there is one made after its JavaScript (else the Node edge would not use it either). */
const built = existsSync(builtFile) && existsSync(builtNode) && statSync(builtFile).mtimeMs >= statSync(builtNode).mtimeMs;
if (!built) console.warn('prebuilt-modules.test: no dist/wasm/modules.bin newer than dist/node.js (run npm run build); the checks of the built file are skipped');

const bytes = (...b: number[]) => new Uint8Array(b) as Uint8Array<ArrayBuffer>;

describe('pre-built module file', () => {
  it('decodes what it encodes, storing identical bytes once', () => {
    const modules = new Map([['a', bytes(0, 97, 115, 109, 1)], ['b:x', bytes(9, 8, 7)], ['c', bytes(0, 97, 115, 109, 1)], ['empty', bytes()]]);
    const file = encodePrebuiltModules(modules);
    const twoBlobsLength = 8 + (2 + 1 + 4) + (2 + 3 + 4) + (2 + 1 + 4) + (2 + 5 + 4) + 4 + (4 + 5) + (4 + 3) + (4 + 0);
    expect(() => encodePrebuiltModules(new Map([['é', bytes(1)]]))).toThrow(/ASCII/);
    expect(file.length).toBe(twoBlobsLength);
    const back = decodePrebuiltModules(file)!;
    expect([...back.keys()]).toEqual(['a', 'b:x', 'c', 'empty']);
    for (const [key, b] of modules) expect([...back.get(key)!]).toEqual([...b]);
  });

  it('refuses a file that is not one, or is cut short anywhere', () => {
    const file = encodePrebuiltModules(new Map([['key', bytes(1, 2, 3, 4)], ['other', bytes(5)]]));
    expect(decodePrebuiltModules(bytes(1, 2, 3, 4, 5, 6, 7, 8))).toBeUndefined();
    for (let cut = 0; cut < file.length; cut++) expect(decodePrebuiltModules(file.subarray(0, cut))).toBeUndefined();
  });

  it('keeps the first bytes registered for a key', () => {
    registerPrebuiltModules([['test:first-wins', bytes(1)]]);
    registerPrebuiltModules([['test:first-wins', bytes(2)]]);
    expect([...prebuiltModule('test:first-wins')!]).toEqual([1]);
  });
});

describe('modules on a shared memory (threads)', () => {
  it('are their unshared twins with the memory import made shared, byte for byte what the emitters write', () => {
    const pairs: [Uint8Array, Uint8Array][] = [
      [mainModuleBytes([WASM_GEMM_TILE], ['wasmsimd'], false), mainModuleBytes([WASM_GEMM_TILE], ['wasmsimd'], true)],
      [mainModuleBytes([WASM_GEMM_TILE], ['wasmrelaxedsimd'], false), mainModuleBytes([WASM_GEMM_TILE], ['wasmrelaxedsimd'], true)],
      [familyModuleBytes(MATH_KERNELS, false, false), familyModuleBytes(MATH_KERNELS, false, true)],
      [familyModuleBytes(INT8_KERNELS, false, false), familyModuleBytes(INT8_KERNELS, false, true)],
      [winogradModuleBytes('f43', false), winogradModuleBytes('f43', true)],
    ];
    for (const [unshared, shared] of pairs) {
      expect(Buffer.from(shared).equals(Buffer.from(unshared))).toBe(false);
      expect(Buffer.from(withSharedMemory(unshared)!).equals(Buffer.from(shared))).toBe(true);
    }
    // The input is left as it was, also when it is a Node Buffer (whose slice() is a view, not a copy).
    const asBuffer = Buffer.from(pairs[0]![0]);
    withSharedMemory(asBuffer);
    expect(asBuffer.equals(Buffer.from(pairs[0]![0]))).toBe(true);
    // Not a module the emitter wrote: no import section, or an import that is not env.memory.
    expect(withSharedMemory(bytes(0, 97, 115, 109, 1, 0, 0, 0))).toBeUndefined();
    expect(withSharedMemory(bytes(0, 97, 115, 109, 1, 0, 0, 0, 2, 11, 1, 3, 101, 110, 118, 3, 102, 111, 111, 2, 1, 1, 1))).toBeUndefined();
  });

  it('are made from the registered unshared bytes when asked for by their key', () => {
    const key = familyModuleKey(MATH_KERNELS, false, false).replace('math', 'math-test');
    registerPrebuiltModules([[key, familyModuleBytes(MATH_KERNELS, false, false)]]);
    expect(Buffer.from(prebuiltModule(`${key}:shared`)!).equals(Buffer.from(familyModuleBytes(MATH_KERNELS, false, true)))).toBe(true);
    expect(prebuiltModule('family:none:simd:shared')).toBeUndefined();
    expect(mainModuleKey([WASM_GEMM_TILE], ['wasmsimd'], true)).toBe(`${mainModuleKey([WASM_GEMM_TILE], ['wasmsimd'], false)}:shared`);
    expect(familyModuleKey(MATH_KERNELS, true, true)).toBe(`${familyModuleKey(MATH_KERNELS, true, false)}:shared`);
    expect(winogradModuleKey('f43', true)).toBe(`${winogradModuleKey('f43', false)}:shared`);
  });
});

describe.skipIf(!built)('the built dist/wasm/modules.bin', () => {
  it('holds, key for key, the bytes the emitters in src/ generate', async () => {
    const { prebuiltModules } = (await import(pathToFileURL(join(root, 'scripts', 'prebuild-wasm.mjs')).href)) as {
      prebuiltModules: (load: (path: string) => Promise<Record<string, never>>) => Promise<Map<string, Uint8Array>>;
    };
    const fromSources = await prebuiltModules((path) => import(/* @vite-ignore */ join(root, 'src', `${path}.ts`)));
    const inFile = decodePrebuiltModules(new Uint8Array(readFileSync(builtFile)))!;
    expect([...inFile.keys()].sort()).toEqual([...fromSources.keys()].sort());
    // The default module and the common families, for plain and relaxed SIMD.
    expect(inFile.has('main:4x8:wasmsimd')).toBe(true);
    expect(inFile.has('main:4x8:wasmrelaxedsimd')).toBe(true);
    expect(inFile.has('family:math:simd')).toBe(true);
    for (const [key, b] of fromSources) expect(Buffer.from(inFile.get(key)!).equals(Buffer.from(b)), key).toBe(true);
  });

  it('is registered by a Node session from the build, which computes what generated modules compute', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinfer-prebuilt-'));
    try {
      const model = join(dir, 'model.onnx');
      writeFileSync(model, convModel());
      const script = join(dir, 'check.mjs');
      // A fresh process with the pre-built modules, then one with the file removed, which generates every module.
      writeFileSync(script, `
        const dist = ${JSON.stringify(pathToFileURL(join(root, 'dist')).href)};
        const { InferenceSession, Tensor } = await import(dist + '/index.js');
        const { prebuiltModuleCount } = await import(dist + '/wasm/prebuilt.js');
        const s = await InferenceSession.create(${JSON.stringify(model)});
        const x = new Tensor('float32', Float32Array.from({ length: 2 * 3 * 9 * 7 }, (_, i) => Math.sin(i)), [2, 3, 9, 7]);
        const y = (await s.run({ x })).y;
        console.log(JSON.stringify({ registered: prebuiltModuleCount(), info: s.backendInfo, y: Array.from(y.data) }));
      `);
      const run = () => JSON.parse(execFileSync(process.execPath, [script], { encoding: 'utf8' }).trim().split('\n').pop()!) as { registered: number; info: string; y: number[] };
      const withFile = run();
      expect(withFile.registered).toBeGreaterThan(20);
      expect(withFile.info).toContain('pre-built');
      const saved = readFileSync(builtFile);
      try {
        rmSync(builtFile);
        const generated = run();
        expect(generated.registered).toBe(0);
        expect(generated.info).toContain('generated in');
        expect(withFile.y).toEqual(generated.y);
      } finally {
        writeFileSync(builtFile, saved);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Conv 3×3 (Winograd-sized channels) + Relu + MaxPool 3×3/2 + Softmax: the main module, F(4,3) and two families. */
function convModel(): Uint8Array {
  const b = new ModelBuilder({ opset: 13 });
  const x = b.input('x', 'float32', [2, 3, 9, 7]);
  const w = (name: string, dims: number[]) => b.initializer(name, tensor('float32', dims, Float32Array.from({ length: dims.reduce((p, q) => p * q, 1) }, (_, i) => Math.cos(i) * 0.3)));
  const [c1] = b.node('Conv', [x, w('w1', [16, 3, 3, 3]), w('b1', [16])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const [c2] = b.node('Conv', [c1!, w('w2', [16, 16, 3, 3]), w('b2', [16])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const [r] = b.node('Relu', [c2!]);
  const [p] = b.node('MaxPool', [r!], { kernel_shape: [3, 3], strides: [2, 2] });
  const [s] = b.node('Softmax', [p!], { axis: 1 }, { outputs: ['y'] });
  b.output(s!, { dtype: 'float32', shape: [2, 16, 4, 3] });
  return b.toBytes();
}
