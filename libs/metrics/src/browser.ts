/**
 * The browser-safe part of @fundus/metrics (no sharp, no Node APIs): metrics, curves, policies,
 * uncertainty, calibration and the Vega-Lite spec builders. The dashboard imports this entry, so its
 * numbers and charts are the ones the reports use.
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
