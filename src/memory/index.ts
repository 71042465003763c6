export type { MemoryPlan, MemoryProblem, MemoryStep } from './types.js';
export { planMemory } from './plan.js';
