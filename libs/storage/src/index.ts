export * from './errors';
export * from './keys';
export * from './object-store';
export * from './retry';
export * from './local-object-store';
export * from './s3-object-store';
export * from './create-object-store';
export * from './datasets';
