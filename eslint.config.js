// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { builtinModules } from 'node:module';

/** Product code: what ships in the package (tests, benchmarks and examples are not). */
const PRODUCT = ['src/**/*.ts', 'activities/**/*.ts', 'workflows/**/*.ts'];

/**
 * The pure core: deterministic code the workflow sandbox runs or could run. No Node built-ins, no I/O
 * libraries, no clocks or randomness. Layer direction (what may import what) is checked by
 * test/architecture/layers.test.ts.
 */
const PURE = ['src/loadtest/**/*.ts', 'activities/types.ts', 'workflows/**/*.ts'];

/** Imports nothing in product code may make: the tests' code. */
const NO_TEST_IMPORTS = { group: ['**/test/**'], message: 'product code never imports test code' };

export default tseslint.config(
  // .testbed/ holds the test bed's state, among it containerd's unpacked images (the product's dist/ inside).
  { ignores: ['dist/**', 'node_modules/**', 'test/artifacts/**', '.testbed/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // One module owns the Kubernetes client (src/k8s); others may use its types, never call it.
    files: PRODUCT,
    ignores: ['src/k8s/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              allowTypeImports: true,
              message: 'only src/k8s/ calls the Kubernetes API; import its clients, or types only',
            },
          ],
          patterns: [NO_TEST_IMPORTS],
        },
      ],
    },
  },
  {
    files: PURE,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].map((name) => ({
            name,
            message: 'the pure core (src/loadtest, activities/types.ts, workflows) uses no Node built-ins',
          })),
          patterns: [
            {
              group: [
                '@kubernetes/*',
                'undici',
                'pino',
                'hdr-histogram-js',
                '@temporalio/client',
                '@temporalio/worker',
              ],
              allowTypeImports: true,
              message: 'the pure core does no I/O: take the result as an argument instead',
            },
            { group: ['@temporalio/activity', 'commander', 'yaml'], message: 'the pure core does no I/O' },
            NO_TEST_IMPORTS,
          ],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'fetch', 'process', 'performance', 'crypto'],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now' },
        { object: 'Math', property: 'random' },
      ],
    },
  },
  {
    // Outside workflows, `new Date()` reads the machine's clock; inside, Temporal makes it deterministic.
    files: ['src/loadtest/**/*.ts', 'activities/types.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'the pure core reads no clock' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
);
