// One lint setup for the whole workspace. The layering of the packages is encoded here as import bans;
// internal/lint-rules tests prove that each ban fires on a deliberately bad fixture.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules.filter((name) => !name.startsWith('_')), ...builtinModules.map((name) => `node:${name}`)];
const privatePackages = ['@claude-k8s/test-utils', '@claude-k8s/kube-fakes', '@claude-k8s/local-cluster', '@claude-k8s/fake-model-api', '@claude-k8s/lint-rules'];

const deepImportBan = {
  group: ['@claude-k8s/*/src', '@claude-k8s/*/src/**', '@claude-k8s/*/dist/**', '**/packages/*/src/**', '**/internal/*/src/**', '../../*/src/**', '../../../*/src/**'],
  message: "Import another package through its public entry ('@claude-k8s/<name>'), never its src or dist.",
};
const privateBan = {
  group: privatePackages,
  message: 'Published code never imports a private workspace package (tests may).',
};

/** The import bans of one layer; `extra` lists further banned patterns with their message. */
function layer(extra = []) {
  return { 'no-restricted-imports': ['error', { patterns: [deepImportBan, privateBan, ...extra] }] };
}

const testFiles = ['**/*.test.ts', '**/*.test-d.ts', '**/test/**', '**/__fixtures__/**'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/.cache/**', '**/node_modules/**', '**/coverage/**', '**/__fixtures__/**', '**/.artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', '*.mjs', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
    },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  // Config files of tools that require a default export.
  { files: ['**/*.config.ts', '**/*.config.js', 'eslint.config.js'], rules: { 'no-restricted-syntax': 'off' } },

  // Layer 1: stream-json is pure: no node: modules (except its CLI) and no other workspace package.
  {
    files: ['packages/stream-json/src/**/*.ts'],
    ignores: [...testFiles, 'packages/stream-json/src/cli.ts', 'packages/stream-json/src/cli/**'],
    rules: layer([
      { group: nodeBuiltins, message: 'The stream-json core runs in browsers: no Node.js built-in modules (only src/cli.ts may).' },
      { group: ['@claude-k8s/*', '!@claude-k8s/stream-json'], message: 'stream-json imports no other workspace package.' },
    ]),
  },
  { files: ['packages/stream-json/src/cli.ts', 'packages/stream-json/src/cli/**/*.ts'], ignores: testFiles, rules: layer([{ group: ['@claude-k8s/*', '!@claude-k8s/stream-json'], message: 'stream-json imports no other workspace package.' }]) },

  // Layer 2: kube-runtime knows Kubernetes only: never stream-json or the adapter.
  {
    files: ['packages/kube-runtime/src/**/*.ts'],
    ignores: testFiles,
    rules: layer([{ group: ['@claude-k8s/stream-json', '@claude-k8s/paperclip-adapter'], message: 'kube-runtime never imports stream-json or paperclip-adapter (lower layers never import higher ones, and the two lower layers are independent).' }]),
  },

  // Layer 3: the adapter may import both lower layers, through their public entries only.
  { files: ['packages/paperclip-adapter/src/**/*.ts'], ignores: testFiles, rules: layer() },

  // Tests of published packages may use private helpers, but still no deep imports.
  { files: testFiles.map((glob) => `packages/${glob}`), rules: { 'no-restricted-imports': ['error', { patterns: [deepImportBan] }] } },
);
