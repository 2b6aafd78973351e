// Lint rules for the whole tree. Type-aware: background promises are everywhere in agentpg
// (heartbeats, listeners, lock sessions), so a promise nobody awaits or catches is an error.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'drizzle/**', '.agentpg/**', 'coverage/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/require-await': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      // Aborts reject/rethrow with the AbortSignal's own reason (any/unknown) on purpose, as fetch does.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // `self`/`runner` capture the instance for object literals whose own methods rebind `this`.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self', 'runner'] }],
    },
  },
  {
    // The console's browser script (src/console/assets): plain JS, no type information, browser globals.
    files: ['src/console/assets/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'fetch',
          'EventSource',
          'DOMParser',
          'CustomEvent',
          'CSS',
          'FormData',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'console',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    // expect(obj.method).toHaveBeenCalled() and the like pass methods unbound on purpose.
    files: ['test/**'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
);
