/** Every workflow the worker registers (the bundle's entry point). */
export { rolloutWorkflow } from './rollout.js';
export { batchWorkflow } from './batch.js';
