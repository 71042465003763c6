/** The built CLI's entry point: usage, per-command --help, unknown commands. Skips without dist/ (CI builds first). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './shared.js';

const CLI = join(REPO_ROOT, 'dist/cli/main.js');
const hasDist = existsSync(CLI);
if (!hasDist) console.warn('[skip] cli: dist/cli/main.js not found (run npm run build first)');

const tinfer = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe.skipIf(!hasDist)('tinfer CLI entry point', () => {
  it("prints the command's own usage for --help after any command, with status 0", () => {
    for (const command of ['bench', 'run', 'inspect', 'test']) {
      const r = tinfer(command, '--help');
      expect(r.status, command).toBe(0);
      expect(r.stdout).toContain(`usage: tinfer ${command}`);
    }
  });

  it('gives quantize its own help, naming the accuracy options', () => {
    const r = tinfer('quantize', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--mixed-precision');
  });

  it('rejects an unknown command with status 2 and the usage on stderr', () => {
    const r = tinfer('frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });
});
