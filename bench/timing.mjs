// Shared timing for the kernel micro-benchmarks.
// CPU time of this (single-threaded) process, so other processes on a shared machine disturb it less than wall
// time; WALL=1 switches to wall time.
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
export const clock = process.env.WALL ? () => performance.now() : cpuMs;

/** Median ms of `iterations` calls of fn after `warmup` untimed calls. */
export function medianTime(fn, iterations, warmup = 2) {
  for (let i = 0; i < warmup; i++) fn();
  const times = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = clock();
    fn();
    times.push(clock() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}
