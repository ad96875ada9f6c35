export * from './client';
export * from './errors';
export * from './runs.repository';
export * from './datasets.repository';
export { WorkStatus, DatasetSplit, Role } from './generated/enums';
export * from './models.repository';
export * from './scoring-jobs.repository';
export * from './predictions.repository';
