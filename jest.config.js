/** Jest: unit specs beside the code (`*.spec.ts`), integration and e2e specs in test/ (`*.e2e-spec.ts`). */
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};
const libs = ['jobs', 'metrics', 'imaging', 'model', 'storage', 'db', 'config', 'platform', 'services'];
const moduleNameMapper = Object.fromEntries(libs.map((l) => [`^@fundus/${l}$`, `<rootDir>/libs/${l}/src`]));
const common = {
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', swc] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper,
  testEnvironment: 'node',
};
module.exports = {
  rootDir: __dirname,
  testTimeout: 60000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/apps/**/*.spec.ts', '<rootDir>/libs/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};
