export * from './run-config';
export * from './runs.service';
export * from './scoring.service';
export * from './sweeps.service';
