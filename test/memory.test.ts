import { describe, expect, it } from 'vitest';
import { planMemory, type MemoryPlan, type MemoryProblem } from '../src/memory/index.js';

/** Deterministic mulberry32 (local, so this test does not load the kernel registry). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A value of `bytes`, optionally external. */
const val = (bytes: number, external = false) => ({ bytes, external });
const step = (reads: number[], writes: number[], scratchBytes: number[] = [], inPlace?: { output: number; input: number }[]) => ({
  reads,
  writes,
  scratchBytes,
  inPlace,
});

function overlaps(aOff: number, aBytes: number, bOff: number, bBytes: number): boolean {
  return aOff < bOff + bBytes && bOff < aOff + aBytes;
}

/** Tiny union-find for the reference checks. */
function groups(n: number, pairs: [number, number][]): number[] {
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (v: number): number => (parent[v] === v ? v : (parent[v] = find(parent[v]!)));
  for (const [a, b] of pairs) parent[find(a)] = find(b);
  return parent.map((_, i) => find(i));
}

/**
 * Independent reference check of a plan: lifetimes recomputed naively from the spec, buffers grouped
 * by aliases and granted in-place pairs; any two groups (or scratch) live at a common step must not
 * share a byte; offsets are aligned; lowerBound equals the reference peak; lowerBound <= arena <= naive.
 */
function checkPlan(p: MemoryProblem, plan: MemoryPlan, alignment = 64): void {
  const n = p.values.length;
  const T = p.steps.length;
  const first = new Array<number>(n).fill(Infinity);
  const last = new Array<number>(n).fill(-Infinity);
  const touch = (v: number, t: number) => {
    first[v] = Math.min(first[v]!, t);
    last[v] = Math.max(last[v]!, t);
  };
  p.inputs.forEach((v) => touch(v, -1));
  p.steps.forEach((s, t) => [...s.reads, ...s.writes].forEach((v) => touch(v, t)));
  p.outputs.forEach((v) => touch(v, T));
  const root = groups(n, [
    ...(p.aliases ?? []).map((a) => [a.value, a.of] as [number, number]),
    ...plan.inPlace.map((g) => [g.output, g.input] as [number, number]),
  ]);
  const gFirst = new Map<number, number>();
  const gLast = new Map<number, number>();
  const gBytes = new Map<number, number>();
  const gExternal = new Set<number>();
  for (let v = 0; v < n; v++) {
    const r = root[v]!;
    gFirst.set(r, Math.min(gFirst.get(r) ?? Infinity, first[v]!));
    gLast.set(r, Math.max(gLast.get(r) ?? -Infinity, last[v]!));
    gBytes.set(r, Math.max(gBytes.get(r) ?? 0, p.values[v]!.bytes));
    if (p.values[v]!.external) gExternal.add(r);
  }
  type Buf = { off: number; bytes: number; from: number; to: number; what: string };
  const bufs: Buf[] = [];
  const groupOffsets = new Map<number, number>();
  for (let v = 0; v < n; v++) {
    const r = root[v]!;
    const live = gFirst.get(r)! <= gLast.get(r)!;
    const off = plan.valueOffsets[v]!;
    if (gExternal.has(r) || p.values[v]!.bytes === 0 || !live) {
      expect(off, `value ${v} needs no arena space`).toBe(-1);
      continue;
    }
    expect(off % alignment, `value ${v} aligned`).toBe(0);
    expect(off + gBytes.get(r)!).toBeLessThanOrEqual(plan.arenaBytes);
    // Members of one group share one offset.
    const groupOffset = groupOffsets.get(r);
    if (groupOffset !== undefined) {
      expect(off, `value ${v} shares its group's buffer`).toBe(groupOffset);
      continue;
    }
    groupOffsets.set(r, off);
    bufs.push({ off, bytes: gBytes.get(r)!, from: gFirst.get(r)!, to: gLast.get(r)!, what: `value ${v}` });
  }
  p.steps.forEach((s, t) =>
    s.scratchBytes.forEach((bytes, j) => {
      const off = plan.scratchOffsets[t]![j]!;
      expect(off % alignment).toBe(0);
      expect(off + bytes).toBeLessThanOrEqual(plan.arenaBytes);
      if (bytes > 0) bufs.push({ off, bytes, from: t, to: t, what: `scratch ${t}.${j}` });
    }),
  );
  for (let i = 0; i < bufs.length; i++) {
    for (let j = i + 1; j < bufs.length; j++) {
      const a = bufs[i]!;
      const b = bufs[j]!;
      if (a.from <= b.to && b.from <= a.to && overlaps(a.off, a.bytes, b.off, b.bytes)) {
        throw new Error(`${a.what} [${a.off}, +${a.bytes}) t[${a.from},${a.to}] overlaps ${b.what} [${b.off}, +${b.bytes}) t[${b.from},${b.to}]`);
      }
    }
  }
  let peak = 0;
  for (let t = -1; t <= T; t++) {
    let live = 0;
    for (const b of bufs) if (b.from <= t && t <= b.to) live += b.bytes;
    peak = Math.max(peak, live);
  }
  expect(plan.lowerBound).toBe(peak);
  expect(plan.lowerBound).toBeLessThanOrEqual(plan.arenaBytes);
  expect(plan.arenaBytes).toBeLessThanOrEqual(plan.naiveBytes);
  // Every grant respects the in-place rules (checked against the alias-only groups).
  const aliasRoot = groups(n, (p.aliases ?? []).map((a) => [a.value, a.of] as [number, number]));
  for (const g of plan.inPlace) {
    expect(p.steps[g.step]!.inPlace).toContainEqual({ output: g.output, input: g.input });
    expect(p.inputs).not.toContain(g.input);
    expect(p.outputs).not.toContain(g.input);
    expect(p.values[g.input]!.external).toBeFalsy();
    for (let v = 0; v < n; v++) {
      if (aliasRoot[v] === aliasRoot[g.input]) expect(last[v]!, `alias ${v} of in-place input ${g.input} read later`).toBeLessThanOrEqual(g.step);
    }
  }
}

describe('planMemory: hand-checkable schedules', () => {
  it('a chain x->a->b->c->y reuses the buffer of a for c', () => {
    // values: 0 x (input), 1 a, 2 b, 3 c, 4 y (output); 1000 bytes each.
    const p: MemoryProblem = {
      values: [val(1000), val(1000), val(1000), val(1000), val(1000)],
      steps: [step([0], [1]), step([1], [2]), step([2], [3]), step([3], [4])],
      inputs: [0],
      outputs: [4],
    };
    const plan = planMemory(p);
    checkPlan(p, plan);
    // Two 1000-byte buffers live at every step (1024 each after alignment) -> 2048 bytes total.
    expect(plan.lowerBound).toBe(2000);
    expect(plan.arenaBytes).toBe(2048);
    expect(plan.naiveBytes).toBe(5 * 1024);
    expect(plan.valueOffsets[2]).toBe(plan.valueOffsets[0]);
    expect(plan.valueOffsets[3]).toBe(plan.valueOffsets[1]);
  });

  it('a diamond keeps both branches alive until they join', () => {
    // 0 x -> 1 a; a -> 2 b; a -> 3 c; (b, c) -> 4 d (output)
    const p: MemoryProblem = {
      values: [val(64), val(64), val(64), val(64), val(64)],
      steps: [step([0], [1]), step([1], [2]), step([1], [3]), step([2, 3], [4])],
      inputs: [0],
      outputs: [4],
    };
    const plan = planMemory(p);
    checkPlan(p, plan);
    const o = plan.valueOffsets;
    expect(o[2]).not.toBe(o[3]);
    expect(o[2]).not.toBe(o[1]);
    expect(o[3]).not.toBe(o[1]);
    expect(o[4]).not.toBe(o[2]);
    expect(o[4]).not.toBe(o[3]);
    expect(plan.arenaBytes).toBe(3 * 64);
  });

  it('an alias keeps its source alive until the alias is last read', () => {
    // 0 x -> 1 a; 2 r = view of a (step 1 writes nothing new); 3 b from x at step 2; r read at step 3.
    const p: MemoryProblem = {
      values: [val(64), val(64), val(64), val(64), val(64)],
      steps: [step([0], [1]), step([1], [2]), step([0], [3]), step([2, 3], [4])],
      inputs: [0],
      outputs: [4],
      aliases: [{ value: 2, of: 1 }],
    };
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(plan.valueOffsets[2]).toBe(plan.valueOffsets[1]);
    expect(plan.valueOffsets[3]).not.toBe(plan.valueOffsets[1]);
    // Without the alias, b could take a's place.
    const plain = planMemory({ ...p, aliases: [] });
    expect(plain.valueOffsets[3]).toBe(plain.valueOffsets[1]);
  });

  it('alias chains resolve transitively', () => {
    const p: MemoryProblem = {
      values: [val(64), val(64), val(64), val(64), val(64)],
      steps: [step([0], [1]), step([1], [2]), step([2], [3]), step([3], [4])],
      inputs: [0],
      outputs: [4],
      aliases: [
        { value: 3, of: 2 },
        { value: 2, of: 1 },
      ],
    };
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(plan.valueOffsets[3]).toBe(plan.valueOffsets[1]);
    expect(plan.valueOffsets[4]).not.toBe(plan.valueOffsets[1]);
  });

  it('external and 0-byte values get offset -1 and no arena space', () => {
    const p: MemoryProblem = {
      values: [val(64), val(4096, true), val(64), val(0)],
      steps: [step([0, 1], [2, 3])],
      inputs: [0],
      outputs: [2],
    };
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(plan.valueOffsets[1]).toBe(-1);
    expect(plan.valueOffsets[3]).toBe(-1);
    expect(plan.arenaBytes).toBe(128);
  });

  it('a value nobody writes (an optional output never produced) needs no space', () => {
    const p: MemoryProblem = {
      values: [val(64), val(64), val(64)],
      steps: [step([0], [1])],
      inputs: [0],
      outputs: [1],
    };
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(plan.valueOffsets[2]).toBe(-1);
  });

  it('a value that is both input and output lives the whole run', () => {
    const p: MemoryProblem = {
      values: [val(64), val(64), val(64)],
      steps: [step([0], [1]), step([1], [2])],
      inputs: [0],
      outputs: [0, 2],
    };
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(new Set(plan.valueOffsets).size).toBe(3);
  });

  it('scratch never overlaps anything live in its step, and is reused across steps', () => {
    const p: MemoryProblem = {
      values: [val(100), val(100), val(100)],
      steps: [step([0], [1], [500, 0, 30]), step([1], [2], [500])],
      inputs: [0],
      outputs: [2],
    };
    const plan = planMemory(p);
    checkPlan(p, plan);
    const [s0, s0empty, s0b] = plan.scratchOffsets[0]!;
    const [s1] = plan.scratchOffsets[1]!;
    expect(s0empty).toBe(0);
    expect(s0).toBe(s1); // the two 500-byte scratch buffers live at different steps
    for (const [off, bytes] of [
      [s0!, 500],
      [s0b!, 30],
    ]) {
      expect(overlaps(off!, bytes!, plan.valueOffsets[0]!, 100)).toBe(false);
      expect(overlaps(off!, bytes!, plan.valueOffsets[1]!, 100)).toBe(false);
    }
    expect(overlaps(s0!, 500, s0b!, 30)).toBe(false);
  });

  it('places largest first at the lowest aligned offset', () => {
    // Four buffers all live at step 1: 10, 300, 100 and 1 bytes.
    const p: MemoryProblem = {
      values: [val(10), val(300), val(100), val(1)],
      steps: [step([0], [1, 2]), step([0, 1, 2], [3])],
      inputs: [0],
      outputs: [3],
    };
    const plan = planMemory(p, 16);
    checkPlan(p, plan, 16);
    expect(plan.valueOffsets[1]).toBe(0);
    expect(plan.valueOffsets[2]).toBe(304);
    expect(plan.valueOffsets[0]).toBe(416);
    expect(plan.valueOffsets[3]).toBe(432); // the 1-byte output, live at step 1 too
    expect(plan.arenaBytes).toBe(448);
  });
});

describe('planMemory: in place', () => {
  // x (0, input) -> a (1) -> [relu in place] b (2) -> y (3, output)
  const base = (over: Partial<{ aBytes: number; bBytes: number; aReadLater: boolean; aliasOfAReadLater: boolean }> = {}): MemoryProblem => {
    const values = [val(64), val(over.aBytes ?? 256), val(over.bBytes ?? 256), val(64), val(over.aBytes ?? 256)];
    const later = over.aReadLater ? [1] : over.aliasOfAReadLater ? [4] : [];
    return {
      values,
      steps: [step([0], [1]), step([1], [2], [], [{ output: 2, input: 1 }]), step([2, ...later], [3])],
      inputs: [0],
      outputs: [3],
      aliases: over.aliasOfAReadLater ? [{ value: 4, of: 1 }] : [],
    };
  };

  it('is granted when the input dies at that step', () => {
    const p = base();
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(plan.inPlace).toEqual([{ step: 1, output: 2, input: 1 }]);
    expect(plan.valueOffsets[2]).toBe(plan.valueOffsets[1]);
  });

  it('is granted when the input is larger than the output', () => {
    const plan = planMemory(base({ aBytes: 512, bBytes: 256 }));
    expect(plan.inPlace).toHaveLength(1);
  });

  it('is refused when the input is read by a later step', () => {
    const p = base({ aReadLater: true });
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(plan.inPlace).toEqual([]);
    expect(plan.valueOffsets[2]).not.toBe(plan.valueOffsets[1]);
  });

  it('is refused when another alias of the input is read later', () => {
    const p = base({ aliasOfAReadLater: true });
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(plan.inPlace).toEqual([]);
  });

  it('is refused when the input is smaller than the output', () => {
    const p = base({ aBytes: 128, bBytes: 256 });
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(plan.inPlace).toEqual([]);
  });

  it('is refused for a graph input', () => {
    const p: MemoryProblem = {
      values: [val(64), val(64)],
      steps: [step([0], [1], [], [{ output: 1, input: 0 }])],
      inputs: [0],
      outputs: [1],
    };
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(plan.inPlace).toEqual([]);
  });

  it('is refused for a graph output', () => {
    const p: MemoryProblem = {
      values: [val(64), val(64), val(64)],
      steps: [step([0], [1]), step([1], [2], [], [{ output: 2, input: 1 }])],
      inputs: [0],
      outputs: [1, 2],
    };
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(plan.inPlace).toEqual([]);
  });

  it('is refused for an external input', () => {
    const p: MemoryProblem = {
      values: [val(64), val(64, true), val(64)],
      steps: [step([0, 1], [2], [], [{ output: 2, input: 1 }])],
      inputs: [0],
      outputs: [2],
    };
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(plan.inPlace).toEqual([]);
  });

  it('grants only one of two requests on the same dying input', () => {
    const p: MemoryProblem = {
      values: [val(64), val(64), val(64), val(64), val(64)],
      steps: [
        step([0], [1]),
        step([1], [2, 3], [], [
          { output: 2, input: 1 },
          { output: 3, input: 1 },
        ]),
        step([2, 3], [4]),
      ],
      inputs: [0],
      outputs: [4],
    };
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(plan.inPlace).toEqual([{ step: 1, output: 2, input: 1 }]);
  });

  it('chains in place through consecutive elementwise steps', () => {
    const p: MemoryProblem = {
      values: [val(64), val(64), val(64), val(64), val(64)],
      steps: [step([0], [1]), step([1], [2], [], [{ output: 2, input: 1 }]), step([2], [3], [], [{ output: 3, input: 2 }]), step([3], [4])],
      inputs: [0],
      outputs: [4],
    };
    const plan = planMemory(p);
    checkPlan(p, plan);
    expect(plan.inPlace).toHaveLength(2);
    expect(plan.valueOffsets[3]).toBe(plan.valueOffsets[1]);
  });
});

/** A random DAG schedule: each step reads 1-3 earlier values and writes 1-2 new ones. */
function randomProblem(seed: number, nSteps: number): MemoryProblem {
  const r = rng(seed);
  const pick = (k: number) => Math.floor(r() * k);
  const values: { bytes: number; external?: boolean }[] = [];
  const newValue = (): number => {
    const roll = r();
    values.push({ bytes: roll < 0.05 ? 0 : 1 + pick(roll < 0.3 ? 5000 : 300), external: roll > 0.93 });
    return values.length - 1;
  };
  const nInputs = 1 + pick(3);
  const inputs = Array.from({ length: nInputs }, newValue).filter((v) => !values[v]!.external);
  const produced = [...Array(values.length).keys()];
  const aliases: { value: number; of: number }[] = [];
  const steps: MemoryProblem['steps'] = [];
  for (let t = 0; t < nSteps; t++) {
    const reads = [...new Set(Array.from({ length: 1 + pick(3) }, () => produced[produced.length - 1 - pick(Math.min(produced.length, 6))]!))];
    const writes = Array.from({ length: 1 + (r() < 0.2 ? 1 : 0) }, newValue);
    const scratchBytes = r() < 0.3 ? Array.from({ length: 1 + pick(2) }, () => pick(2000)) : [];
    const inPlace = r() < 0.5 ? [{ output: writes[0]!, input: reads[pick(reads.length)]! }] : undefined;
    if (r() < 0.15) aliases.push({ value: writes[0]!, of: reads[0]! });
    steps.push({ reads, writes, scratchBytes, inPlace });
    produced.push(...writes);
  }
  const outputs = [...new Set([produced[produced.length - 1]!, produced[pick(produced.length)]!])];
  return { values, steps, inputs, outputs, aliases };
}

describe('planMemory: randomized schedules', () => {
  it('never overlaps two live buffers, aligns every offset, and stays within the bounds', () => {
    let granted = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const p = randomProblem(seed, 5 + (seed % 40));
      for (const alignment of [64, 1, 16]) {
        const plan = planMemory(p, alignment);
        try {
          checkPlan(p, plan, alignment);
        } catch (e) {
          throw new Error(`seed ${seed}, alignment ${alignment}: ${(e as Error).message}`);
        }
        granted += plan.inPlace.length;
      }
    }
    expect(granted).toBeGreaterThan(50); // the generator does exercise in-place merging
  });
});

describe('planMemory: scale', () => {
  it('plans 10k values in under 100 ms', () => {
    // A long chain with skip connections (UNet-like): each step reads its predecessor and sometimes a value 50 back.
    const n = 10_000;
    const values = Array.from({ length: n }, (_, i) => ({ bytes: 1024 * (1 + (i % 7)) }));
    const steps = Array.from({ length: n - 1 }, (_, t) => ({
      reads: t % 10 === 0 && t >= 50 ? [t, t - 50] : [t],
      writes: [t + 1],
      scratchBytes: t % 3 === 0 ? [4096] : [],
      inPlace: [{ output: t + 1, input: t }],
    }));
    const p: MemoryProblem = { values, steps, inputs: [0], outputs: [n - 1] };
    // The best of a few runs: the first warms up the JIT, and the test machine may be shared.
    let ms = Infinity;
    let plan = planMemory(p);
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      plan = planMemory(p);
      ms = Math.min(ms, performance.now() - t0);
    }
    // A guard against quadratic blow-up, not a benchmark.
    expect(ms).toBeLessThan(1000);
    expect(plan.arenaBytes).toBeLessThan(plan.naiveBytes / 100);
    expect(plan.lowerBound).toBeLessThanOrEqual(plan.arenaBytes);
  });
});
