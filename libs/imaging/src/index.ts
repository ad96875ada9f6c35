/** @fundus/imaging — everything between an image file and a model tensor, plus synthetic test data. */
export * from './errors';
export * from './decode';
export * from './fov';
export * from './quality';
export * from './augment';
export * from './enhance';
export * from './preprocess';
export * from './random';
export * from './synthetic';
export * from './fixtures';
export * from './dataset';
export * from './resample';
export * from './sniff';
