/**
 * scripts/bundle.mjs, the package build's module bundler: the bundled entry points must export and compute what
 * the modules did (test/fixtures/bundle: names that collide between modules, an import alias whose module's name
 * a local also has, a global that a module of the chunk declares, live bindings, export *, a default export, file
 * names for new URL() and import() from a module that moves), share one copy of a module between entry points,
 * and refuse what it cannot bundle faithfully. The package test runs the real build.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleModules } from '../scripts/bundle.mjs';
import { REPO_ROOT } from './shared.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures/bundle');
const ENTRIES = ['a.js', 'b-entry.js', 'worker.js'];

const work = mkdtempSync(join(tmpdir(), 'tinfer-bundle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** The fixture modules as they would sit in `dir`, with `extra` files added or replaced. */
function modulesIn(dir: string, extra: Record<string, string> = {}): Map<string, string> {
  const files = new Map(filesUnder(FIXTURES).map((f) => [join(dir, relative(FIXTURES, f)), readFileSync(f, 'utf8')]));
  for (const [name, text] of Object.entries(extra)) files.set(join(dir, name), text);
  return files;
}

function bundle(dir: string, extra: Record<string, string> = {}, entries = ENTRIES): Map<string, string> {
  return bundleModules(modulesIn(dir, extra), entries.map((e) => join(dir, e)), entries.map((e) => e.replace(/[-.].*/, '')));
}

function write(files: Map<string, string>): void {
  for (const [path, text] of files) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

type A = { runA: () => Record<string, unknown>; Thing: unknown; workerUrl: () => string; loadB: () => Promise<() => unknown>; count: number };
type B = { runB: () => Record<string, unknown>; Thing: unknown; starred: string; default: unknown };

describe('bundle', () => {
  const before = join(work, 'before');
  const after = join(work, 'after');
  cpSync(FIXTURES, before, { recursive: true });
  writeFileSync(join(before, 'package.json'), '{"type":"module"}');
  const output = bundle(after);
  mkdirSync(after);
  writeFileSync(join(after, 'package.json'), '{"type":"module"}');
  write(output);

  const load = async (dir: string) => ({
    a: (await import(pathToFileURL(join(dir, 'a.js')).href)) as A,
    b: (await import(pathToFileURL(join(dir, 'b-entry.js')).href)) as B,
  });

  it('writes the entry points at their paths and the shared modules in one chunk', () => {
    expect([...output.keys()].map((f) => relative(after, f)).sort()).toEqual(['a.js', 'b-entry.js', 'chunk-a-b.js', 'worker.js']);
    const shared = output.get(join(after, 'chunk-a-b.js'))!;
    // b.js and c.js both declare ZERO and helper: c.js's come second and are renamed, its { ZERO } expanded.
    expect(shared).toContain('const ZERO$1 = ');
    expect(shared).toContain('function helper$1()');
    expect(shared).toContain('{ ZERO: ZERO$1, bZero: ZERO,');
    // a.js has a local ZERO, so b.js's ZERO (imported as zero) cannot be called ZERO there; e.js's URL is renamed.
    expect(output.get(join(after, 'a.js'))).toMatch(/import \{[^}]*\bZERO as ZERO\$1\b[^}]*\} from '\.\/chunk-a-b\.js'/);
    expect(output.get(join(after, 'a.js'))).toContain('const URL$1 = ');
  });

  it('computes what the modules computed, with live bindings and one copy of the shared modules', async () => {
    const x = await load(before);
    const y = await load(after);
    expect(y.a.runA()).toEqual(x.a.runA());
    expect(y.b.runB()).toEqual(x.b.runB());
    expect(y.a.count).toBe(2);
    expect(y.a.Thing).toBe(y.b.Thing);
    expect([y.b.starred, y.b.default]).toEqual([x.b.starred, x.b.default]);
    expect(Object.keys(y.a).sort()).toEqual(Object.keys(x.a).sort());
    expect(Object.keys(y.b).sort()).toEqual(Object.keys(x.b).sort());
    // The class keeps its name; b.js's helper keeps its own (c.js's is the one renamed).
    expect(y.a.runA()['thing']).toBe('Thing b');
    expect(y.a.runA()['described']).toBe('helper');
  });

  it('rewrites the file names of a module that moves: new URL(name, import.meta.url) and import()', async () => {
    const y = await load(after);
    expect(y.a.workerUrl()).toBe(pathToFileURL(join(after, 'worker.js')).href);
    expect(output.get(join(after, 'chunk-a-b.js'))).toContain("const WORKER = './worker.js';");
    const runB = await y.a.loadB();
    expect(runB).toBe(y.b.runB);
  });

  it('refuses what it cannot bundle faithfully', () => {
    const refuses = (extra: Record<string, string>, message: RegExp, entries = [...ENTRIES, 'extra.js']) =>
      expect(() => bundle(join(work, 'refused'), extra, entries)).toThrow(message);
    // A file name that would not exist beside the chunk.
    refuses({ 'extra.js': "export const f = './state.js';\n" }, /names a file that is not an entry point/);
    // Two classes of one name in a chunk: a class's name shows (new.target.name).
    refuses({ 'x1.js': 'export class Same {}\n', 'x2.js': 'export class Same {}\n', 'extra.js': "export { Same } from './x1.js';\nexport { Same as Other } from './x2.js';\n" }, /class Same would be renamed/);
    refuses({ 'extra.js': "import * as b from './b.js';\nexport const z = b.ZERO;\n" }, /not supported/);
    refuses({ 'extra.js': "import './lib/meta.js';\n", 'lib/meta.js': 'export const here = import.meta.dirname;\n' }, /only new URL\(name, import.meta.url\)/);
    refuses({ 'extra.js': "export const v = eval('1');\n" }, /uses eval/);
    refuses({ 'extra.js': "import './lib/wait.js';\n", 'lib/wait.js': 'await 0;\n' }, /top-level await/);
  });
});
