/** Locates ../shared (beside the repo). Suites that need it skip with a clear message when it is absent. */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED = process.env.TINFER_SHARED ?? resolve(REPO_ROOT, '../shared');
export const NODE_SUITE = resolve(SHARED, 'onnx-backend/node');
export const MODEL_ZOO = resolve(SHARED, 'models');

export function sharedAvailable(path: string, suite: string): boolean {
  const ok = existsSync(path);
  if (!ok) console.warn(`[skip] ${suite}: ${path} not found (../shared is absent); skipping.`);
  return ok;
}
