/**
 * scripts/minify.mjs, the package build's minifier: code it has minified must compute what the input computed, on
 * the constructs a minifier breaks (regular expressions, templates, automatic semicolon insertion, fusing
 * operators, shorthand properties, captured names, function names: test/fixtures/minify/sample.mjs); the package
 * test runs the real build.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { minifyDeclarations, minifyJavaScript } from '../scripts/minify.mjs';
import { REPO_ROOT } from './shared.js';

const SOURCE = readFileSync(join(REPO_ROOT, 'test/fixtures/minify/sample.mjs'), 'utf8');

const work = mkdtempSync(join(tmpdir(), 'tinfer-minify-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function load(name: string, text: string): Promise<{ sample: (input: number) => unknown[] }> {
  const file = join(work, name);
  writeFileSync(file, text);
  return (await import(pathToFileURL(file).href)) as { sample: (input: number) => unknown[] };
}

describe('minify', () => {
  const files = new Map([[join(work, 'sample.mjs'), SOURCE]]);
  minifyJavaScript(files);
  const minified = [...files.values()][0] as string;

  it('computes what the input computed', async () => {
    const before = (await load('before.mjs', SOURCE)).sample(3);
    const after = (await load('after.mjs', minified)).sample(3);
    expect(JSON.stringify(after)).toBe(JSON.stringify(before));
    expect(before).toContain('namedArrow');
    expect(before).toContain('later');
  });

  it('drops comments and spaces, shortens locals, functions and unexported module-level variables, keeps the shebang and the strings', () => {
    expect(minified.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(minified).not.toContain('A line comment');
    expect(minified).not.toContain('A doc comment');
    expect(minified).toContain("'a /* not a comment */ b // nor this'");
    expect(minified).toContain('`line one\n      indented ${');
    expect(minified).not.toContain('parameterOne');
    // Function declarations are renamed like variables (classes and exported functions keep their names).
    expect(minified).not.toContain('function inner(');
    expect(minified).not.toContain('moduleLevelUser');
    expect(minified).toContain('export function sample(');
    expect(minified).toContain('width:'); // { width } became { width: a }
    // Module-level variables too, but for the exported ones.
    expect(minified).not.toContain('moduleTable');
    expect(minified).toContain('export{sharedTable}');
    expect(minified).toContain('export const exportedTable=');
    expect(minified.length).toBeLessThan(SOURCE.length * 0.75);
  });

  it('drops the comments of declarations and keeps their tokens', () => {
    const text = '/** Doc. */\nexport declare function f(a: number, b?: string): `x${number}`;\n// note\nexport interface I {\n    x: 1;\n}\n';
    expect(minifyDeclarations(text, join(work, 'a.d.ts'))).toBe('export declare function f(a:number,b?:string):`x${number}`;export interface I{x:1;}\n');
  });
});
