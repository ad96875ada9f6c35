export * from './client';
export * from './errors';
export * from './runs.repository';
export * from './datasets.repository';
export { WorkStatus, DatasetSplit, Role } from './generated/enums';
