/**
 * @fundus/metrics — clinical classification metrics for disease screening, operating points,
 * uncertainty, calibration and reports. Positive class = disease (label 1); a score s is called
 * disease at threshold t when s >= t. Pure TypeScript: no framework imports.
 */
// Everything that also runs in a browser (the dashboard imports ./browser directly) ...
export * from './browser';
// ... and what needs Node: rendering with sharp and the reports.
export * from './plots/render';
export * from './report/types';
export * from './report/blocks';
export * from './report/run-report';
export * from './report/sweep-report';
