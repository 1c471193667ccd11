export { NodeAgent, startNodeAgent, type NodeAgentOptions } from './agent.js';
export { SimRuntime, SIM_ANNOTATION_PREFIX, type SimDefaults } from './runtime/sim.js';
export type * from './runtime/runtime.js';
