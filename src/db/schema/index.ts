export * from './cluster.js';
export * from './runs.js';
export * from './ownership.js';
