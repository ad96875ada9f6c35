export * from './dataset-types';
export * from './dataset-logic';
export * from './register-dataset';
