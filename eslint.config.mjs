import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '.scratch*/**',
      '.data/**',
      '.cache/**',
      '.gpu/**',
      'bench/.work/**',
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'apps/dashboard/dist/**',
      '**/*.js',
      '**/*.mjs',
      'libs/db/src/generated/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='only']", message: 'No .only in tests.' },
      ],
    },
  },
  {
    files: ['libs/metrics/**/*.ts', 'libs/imaging/**/*.ts', 'libs/model/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['@nestjs/*', 'bullmq', '@prisma/*', '@fundus/db', '@fundus/jobs', '@fundus/storage'] },
      ],
    },
  },
);
