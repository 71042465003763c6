import type { BufferTable } from './liveness.js';
import type { MemoryStep } from './types.js';

export interface InPlaceGrant {
  step: number;
  output: number;
  input: number;
}

/**
 * Grants in-place requests in schedule order, merging the output's buffer into the input's.
 * A request at step s is safe when the input's buffer dies at s (no later read of it or of any
 * alias of it), it holds no graph input/output and no external data, the output's buffer is born at
 * s, and the input's buffer is at least as large. Granting extends the merged buffer's lifetime, so
 * a second request on the same input is then refused by the same rule.
 */
export function grantInPlace(table: BufferTable, steps: readonly MemoryStep[]): InPlaceGrant[] {
  const granted: InPlaceGrant[] = [];
  for (let s = 0; s < steps.length; s++) {
    const step = steps[s]!;
    const requests = step.inPlace;
    if (requests === undefined) continue;
    for (let k = 0; k < requests.length; k++) {
      const req = requests[k]!;
      if (canShare(table, step, s, req.output, req.input)) {
        table.union(req.input, req.output);
        granted.push({ step: s, output: req.output, input: req.input });
      }
    }
  }
  return granted;
}

function canShare(table: BufferTable, step: MemoryStep, s: number, output: number, input: number): boolean {
  if (output === input || !inRange(table, output) || !inRange(table, input)) return false;
  if (!step.writes.includes(output) || !step.reads.includes(input)) return false;
  const ri = table.find(input);
  const ro = table.find(output);
  if (ri === ro) return false;
  if (table.external[ri] || table.external[ro]) return false;
  if (table.holdsGraphInput[ri] || table.holdsGraphOutput[ri]) return false;
  if (table.end[ri] !== s || table.start[ro] !== s) return false;
  return table.bytes[ro]! > 0 && table.bytes[ri]! >= table.bytes[ro]!;
}

function inRange(table: BufferTable, v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v < table.size;
}
