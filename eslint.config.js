// ESLint for src/: the size and safety limits of ../shared/style.md
// (complexity 10, depth 3, four parameters, no floating promises, explicit
// return types on exported functions), type-aware through the TypeScript
// project service so the promise rule sees real types.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Files that still break a limit rule and are being refactored. For them the
// limit rules warn instead of failing CI; everything else in src/ must be
// clean. Known debt, being refactored: remove a file from this list when it
// is clean (`npx eslint <file>` reports nothing).
const knownDebt = [];

const limits = {
  complexity: ['error', 10],
  'max-depth': ['error', 3],
  'max-params': ['error', 4],
  '@typescript-eslint/no-floating-promises': 'error',
  '@typescript-eslint/explicit-module-boundary-types': 'error',
};

const asWarnings = Object.fromEntries(Object.keys(limits).map((rule) => [rule, 'warn']));

export default defineConfig(
  {
    // The Rego runtime is AssemblyScript compiled to wasm
    // (scripts/build-runtime.mjs): its decorators and number types are not
    // TypeScript the parser accepts, and tsconfig.json excludes it too.
    ignores: ['src/policy/rego/runtime/**'],
  },
  {
    files: ['src/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: limits,
  },
  ...(knownDebt.length > 0 ? [{ files: knownDebt, rules: asWarnings }] : []),
);
