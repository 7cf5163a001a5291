// One lint setup for the whole workspace. The layering of the packages is encoded here as import bans;
// internal/lint-rules tests prove that each ban fires on a deliberately bad fixture.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const bareBuiltins = builtinModules.filter((name) => !name.startsWith('_'));
const nodeBuiltins = [...bareBuiltins, ...builtinModules.map((name) => `node:${name}`)];
// Published packages are the non-private ones under packages/; every other @claude-k8s/* name (internal/*, and any
// private package added later) is private tooling that published source must not import.
const publishedPackages = readdirSync(new URL('./packages/', import.meta.url), { withFileTypes: true })
  .filter(
    (entry) => entry.isDirectory() && existsSync(new URL(`./packages/${entry.name}/package.json`, import.meta.url)),
  )
  .map((entry) => JSON.parse(readFileSync(new URL(`./packages/${entry.name}/package.json`, import.meta.url), 'utf8')))
  .filter((manifest) => manifest.private !== true)
  .map((manifest) => manifest.name);

const deepImportBan = {
  group: [
    '@claude-k8s/*/src',
    '@claude-k8s/*/src/**',
    '@claude-k8s/*/dist',
    '@claude-k8s/*/dist/**',
    '**/packages/*/src/**',
    '**/internal/*/src/**',
    '../../*/src/**',
    '../../../*/src/**',
  ],
  message: "Import another package through its public entry ('@claude-k8s/<name>'), never its src or dist.",
};
const privateBan = {
  group: ['@claude-k8s/*', ...publishedPackages.map((name) => `!${name}`)],
  message: 'Published code never imports a private workspace package (tests may).',
};
const paperclipBan = {
  group: ['@paperclipai/*', 'paperclipai'],
  message: 'Only paperclip-adapter knows Paperclip; the lower layers stay independent of it.',
};

/** The import bans of one layer; `extra` lists further banned patterns with their message. */
function layer(extra = []) {
  return { 'no-restricted-imports': ['error', { patterns: [deepImportBan, privateBan, ...extra] }] };
}

const namedExportsOnly = { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' };
// `import('fs')`, `import('node:fs')`, `require('fs')`: the dynamic forms that no-restricted-imports cannot see.
const builtinSpecifier = `/^(node:.+|(${bareBuiltins.map((name) => name.replace(/[/.]/g, '\\$&')).join('|')})(\\/.*)?)$/`;
const coreBuiltinMessage = 'The stream-json core runs in browsers: no Node.js built-in modules (only src/cli.ts may).';

const testFiles = ['**/*.test.ts', '**/*.test-d.ts', '**/test/**', '**/__fixtures__/**'];

export default tseslint.config(
  {
    ignores: [
      // tsup's transient bundled config, written next to tsup.config.ts while a build runs in parallel with lint.
      '**/*.bundled_*.mjs',
      '**/dist/**',
      '**/.cache/**',
      '**/node_modules/**',
      '**/coverage/**',
      '**/__fixtures__/**',
      '**/__snapshots__/**',
      '**/.artifacts/**',
      '**/.turbo/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.js', '*.mjs', 'scripts/*.mjs', 'vitest.shared.ts'],
          defaultProject: 'tsconfig.base.json',
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', namedExportsOnly],
    },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  // Plain JavaScript (scripts, tool configs) runs on Node; TypeScript files get their globals from @types/node.
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], languageOptions: { globals: globals.node } },
  // Config files of tools that require a default export.
  {
    files: ['**/*.config.ts', '**/*.config.js', '**/*.config.mjs', 'eslint.config.js'],
    rules: { 'no-restricted-syntax': 'off' },
  },

  // Layer 1: stream-json is pure: no node: modules or Node globals (except its CLI) and no other workspace package.
  {
    files: ['packages/stream-json/src/**/*.ts'],
    ignores: [...testFiles, 'packages/stream-json/src/cli.ts', 'packages/stream-json/src/cli/**'],
    rules: {
      ...layer([
        { group: nodeBuiltins, message: coreBuiltinMessage },
        {
          group: ['@claude-k8s/*', '!@claude-k8s/stream-json'],
          message: 'stream-json imports no other workspace package.',
        },
        paperclipBan,
      ]),
      'no-restricted-syntax': [
        'error',
        namedExportsOnly,
        { selector: `ImportExpression > Literal.source[value=${builtinSpecifier}]`, message: coreBuiltinMessage },
        {
          selector: `CallExpression[callee.name='require'] > Literal[value=${builtinSpecifier}]`,
          message: coreBuiltinMessage,
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['Buffer', 'process', 'global', '__dirname', '__filename', 'require', 'setImmediate', 'clearImmediate'].map(
          (name) => ({
            name,
            message: `The stream-json core runs in browsers: '${name}' is a Node.js global (only src/cli.ts may use it).`,
          }),
        ),
      ],
    },
  },
  {
    files: ['packages/stream-json/src/cli.ts', 'packages/stream-json/src/cli/**/*.ts'],
    ignores: testFiles,
    rules: layer([
      {
        group: ['@claude-k8s/*', '!@claude-k8s/stream-json'],
        message: 'stream-json imports no other workspace package.',
      },
      paperclipBan,
    ]),
  },

  // Layer 2: kube-runtime knows Kubernetes only: never stream-json, the adapter or Paperclip.
  {
    files: ['packages/kube-runtime/src/**/*.ts'],
    ignores: testFiles,
    rules: layer([
      {
        group: [
          '@claude-k8s/stream-json',
          '@claude-k8s/stream-json/**',
          '@claude-k8s/paperclip-adapter',
          '@claude-k8s/paperclip-adapter/**',
        ],
        message:
          'kube-runtime never imports stream-json or paperclip-adapter (lower layers never import higher ones, and the two lower layers are independent).',
      },
      paperclipBan,
    ]),
  },

  // Layer 3: the adapter may import both lower layers, through their public entries only.
  { files: ['packages/paperclip-adapter/src/**/*.ts'], ignores: testFiles, rules: layer() },

  // Tests of published packages may use private helpers, but still no deep imports.
  {
    files: testFiles.map((glob) => `packages/${glob}`),
    rules: { 'no-restricted-imports': ['error', { patterns: [deepImportBan] }] },
  },

  // Private packages may import anything public, but never another package's src or dist.
  { files: ['internal/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [deepImportBan] }] } },
);
