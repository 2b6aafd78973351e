export * from './cluster.js';
export * from './runs.js';
export * from './ownership.js';
export * from './access.js';
export * from './compactions.js';
export * from './retention.js';
export * from './rateLimits.js';
export * from './batch.js';
