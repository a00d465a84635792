// ESLint for the whole repository (npm run lint; CI runs it). The rules are the ones that catch
// real bugs here rather than restyle the code (Prettier owns the style): promises nobody awaits
// or that are passed where a callback's result is ignored, values computed and dropped, `any`
// in production code, switches that miss a case of a union, throwing what is not an Error.
// Type-aware: typescript-eslint reads each file with its tsconfig (TypeScript 5.9, see package.json).
// Rules that judge types finely (no-unnecessary-type-assertion) are left out: TypeScript 5.9 and
// the build's TypeScript 7 do not always agree, and its fixes broke the build.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'deploy/**',
      'bench/**',
      'coverage/**',
      '.tools/**',
      '.data/**',
      'infra/**',
      // Small standalone apps the fidelity suite starts as a user would: plain JavaScript, their own style.
      'packages/local-azure/test/fidelity/apps/**',
      'test/fixtures/**',
      'bench/baseline-app/**',
    ],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } },
    rules: {
      // The compiler checks these (noUnusedLocals, strict): ESLint's versions only disagree with it.
      'no-undef': 'off',
      'no-unused-vars': 'off',
      'no-redeclare': 'off',
      'no-dupe-class-members': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-expressions': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      '@typescript-eslint/no-duplicate-type-constituents': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // Control characters in a regular expression are what the input checks look for on purpose.
      'no-control-regex': 'off',
      'no-console': 'off',
    },
  },
  {
    // Tests may reach for `any` where a fixture is deliberately malformed.
    files: ['test/**/*.ts', 'packages/*/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-control-regex': 'off' },
  },
  {
    // The operations dashboard's page runs in the browser.
    files: ['dashboard/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser } },
  },
);
