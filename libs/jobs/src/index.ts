export * from './jobs';
export * from './queues';
export * from './handlers';
export * from './schedule';
