/** The batch feature's public surface. */
export { batchesRouter } from './router';
export { batchEngine, startBatchDispatcher, stopBatches } from './registry';
