/**
 * @fundus/metrics — clinical classification metrics for disease screening, operating points,
 * uncertainty, calibration and reports. Positive class = disease (label 1); a score s is called
 * disease at threshold t when s >= t. Pure TypeScript: no framework imports.
 */
export * from './errors';
export * from './validate';
export * from './format';
export * from './rng';
export * from './stats';
export * from './confusion';
export * from './curves';
export * from './policies';
export * from './uncertainty';
export * from './calibration';
export * from './classification-report';
export * from './plots/specs';
export * from './plots/render';
export * from './report/types';
export * from './report/blocks';
export * from './report/run-report';
export * from './report/sweep-report';
