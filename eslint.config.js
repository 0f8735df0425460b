// ESLint: the recommended rules plus type-aware checks for promises, which is
// where asynchronous controllers and servers most often go wrong.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.roost/',
      '**/target/',
      'runtime-java-bridge/',
      'testenv/go/',
      'proto/generated/',
      'console/ui/dist/',
    ],
  },
  js.configs.recommended,
  { languageOptions: { globals: globals.node } },
  ...tseslint.configs.recommended,
  // The console's front end runs in browsers (console/ui/tsconfig.json types it).
  { files: ['console/ui/src/**'], languageOptions: { globals: globals.browser } },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
);
