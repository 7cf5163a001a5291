import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '../../..');
const fixturesDir = join(import.meta.dirname, '__fixtures__/layering');

/**
 * Each bad fixture is linted as if it were the given (virtual) file inside a package, with the repository's own
 * eslint.config.js. The import bans are syntactic rules, so the type-aware parser is switched off: the virtual files
 * do not exist on disk, and the TypeScript project service only knows files that do.
 */
interface Case {
  fixture: string;
  filePath: string;
  rule: string;
  message: RegExp;
}

const badCases: Case[] = [
  // 1. The stream-json core uses no Node.js built-in module or global (it runs in browsers).
  {
    fixture: 'stream-json-core-imports-node-builtin.ts',
    filePath: 'packages/stream-json/src/read-transcript.ts',
    rule: 'no-restricted-imports',
    message: /no Node\.js built-in modules/,
  },
  {
    fixture: 'stream-json-core-imports-bare-builtin.ts',
    filePath: 'packages/stream-json/src/line-decoder/decoder.ts',
    rule: 'no-restricted-imports',
    message: /no Node\.js built-in modules/,
  },
  {
    fixture: 'stream-json-core-imports-builtin-dynamically.ts',
    filePath: 'packages/stream-json/src/load-fs.ts',
    rule: 'no-restricted-syntax',
    message: /no Node\.js built-in modules/,
  },
  {
    fixture: 'stream-json-core-uses-node-global.ts',
    filePath: 'packages/stream-json/src/decode-base64.ts',
    rule: 'no-restricted-globals',
    message: /'Buffer' is a Node\.js global/,
  },
  // 2. stream-json and kube-runtime never import paperclip-adapter or each other (nor Paperclip itself).
  {
    fixture: 'stream-json-imports-kube-runtime.ts',
    filePath: 'packages/stream-json/src/runtime-version.ts',
    rule: 'no-restricted-imports',
    message: /stream-json imports no other workspace package/,
  },
  {
    fixture: 'stream-json-imports-paperclip-adapter.ts',
    filePath: 'packages/stream-json/src/cli.ts',
    rule: 'no-restricted-imports',
    message: /stream-json imports no other workspace package/,
  },
  {
    fixture: 'kube-runtime-imports-stream-json.ts',
    filePath: 'packages/kube-runtime/src/log-follow.ts',
    rule: 'no-restricted-imports',
    message: /kube-runtime never imports stream-json or paperclip-adapter/,
  },
  {
    fixture: 'kube-runtime-imports-paperclip-adapter.ts',
    filePath: 'packages/kube-runtime/src/nested/adapter-version.ts',
    rule: 'no-restricted-imports',
    message: /kube-runtime never imports stream-json or paperclip-adapter/,
  },
  {
    fixture: 'kube-runtime-imports-paperclip.ts',
    filePath: 'packages/kube-runtime/src/context.ts',
    rule: 'no-restricted-imports',
    message: /Only paperclip-adapter knows Paperclip/,
  },
  // 3. No deep import into another package's src (or dist), by package name or by relative path, from any package.
  {
    fixture: 'adapter-deep-imports-by-name.ts',
    filePath: 'packages/paperclip-adapter/src/execute.ts',
    rule: 'no-restricted-imports',
    message: /never its src or dist/,
  },
  {
    fixture: 'adapter-deep-imports-relative.ts',
    filePath: 'packages/paperclip-adapter/src/execute.ts',
    rule: 'no-restricted-imports',
    message: /never its src or dist/,
  },
  {
    fixture: 'adapter-deep-imports-dist.ts',
    filePath: 'packages/paperclip-adapter/src/ui-parser.ts',
    rule: 'no-restricted-imports',
    message: /never its src or dist/,
  },
  {
    fixture: 'adapter-test-deep-imports.ts',
    filePath: 'packages/paperclip-adapter/src/execute/execute.test.ts',
    rule: 'no-restricted-imports',
    message: /never its src or dist/,
  },
  {
    fixture: 'internal-deep-imports.ts',
    filePath: 'internal/kube-fakes/src/fake-ports.ts',
    rule: 'no-restricted-imports',
    message: /never its src or dist/,
  },
  // 4. Published code never imports a private workspace package (package.json: see private-dependencies.test.ts).
  {
    fixture: 'published-imports-private-package.ts',
    filePath: 'packages/kube-runtime/src/split.ts',
    rule: 'no-restricted-imports',
    message: /never imports a private workspace package/,
  },
  {
    fixture: 'published-imports-private-package.ts',
    filePath: 'packages/paperclip-adapter/src/split.ts',
    rule: 'no-restricted-imports',
    message: /never imports a private workspace package/,
  },
  // Any @claude-k8s/* name that is not a published package counts as private, including ones added later.
  {
    fixture: 'published-imports-new-private-package.ts',
    filePath: 'packages/stream-json/src/cli.ts',
    rule: 'no-restricted-imports',
    message: /never imports a private workspace package/,
  },
  {
    fixture: 'published-imports-new-private-package.ts',
    filePath: 'packages/paperclip-adapter/src/start.ts',
    rule: 'no-restricted-imports',
    message: /never imports a private workspace package/,
  },
];

const goodCases: Omit<Case, 'rule' | 'message'>[] = [
  { fixture: 'good-stream-json-core.ts', filePath: 'packages/stream-json/src/user-agent.ts' },
  { fixture: 'good-stream-json-cli-uses-node.ts', filePath: 'packages/stream-json/src/cli.ts' },
  {
    fixture: 'good-kube-runtime-uses-node-and-client-node.ts',
    filePath: 'packages/kube-runtime/src/client-node-ports.ts',
  },
  { fixture: 'good-adapter-imports-public-entries.ts', filePath: 'packages/paperclip-adapter/src/execute.ts' },
  { fixture: 'good-published-test-uses-private-helpers.ts', filePath: 'packages/kube-runtime/src/job-watch.test.ts' },
  {
    fixture: 'good-published-test-uses-private-helpers.ts',
    filePath: 'packages/paperclip-adapter/test/execute.test.ts',
  },
  { fixture: 'good-internal-imports-public-entries.ts', filePath: 'internal/kube-fakes/src/fake-ports.ts' },
];

let eslint: ESLint;

beforeAll(() => {
  const syntaxOnly: Linter.Config = {
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false, project: null } },
  };
  eslint = new ESLint({ cwd: repoRoot, overrideConfig: [syntaxOnly] });
});

async function lintFixture(fixture: string, filePath: string): Promise<Linter.LintMessage[]> {
  const code = readFileSync(join(fixturesDir, fixture), 'utf8');
  const [result] = await eslint.lintText(code, { filePath: join(repoRoot, filePath), warnIgnored: true });
  if (result === undefined) throw new Error(`lint ${fixture} as ${filePath}: ESLint returned no result`);
  return result.messages;
}

describe('layering rules', () => {
  it.each(badCases)('$rule fires on $fixture linted as $filePath', async ({ fixture, filePath, rule, message }) => {
    const messages = await lintFixture(fixture, filePath);
    expect(messages.filter((m) => m.fatal === true)).toEqual([]);
    const fired = messages.filter((m) => m.ruleId === rule);
    expect(fired.map((m) => m.message)).toContainEqual(expect.stringMatching(message));
    expect(fired.every((m) => m.severity === 2)).toBe(true);
  });

  it.each(goodCases)('$fixture linted as $filePath passes', async ({ fixture, filePath }) => {
    const messages = await lintFixture(fixture, filePath);
    expect(messages.map((m) => `${m.ruleId ?? 'parser'}: ${m.message}`)).toEqual([]);
  });

  it('uses every fixture file, so none is silently forgotten', () => {
    const used = new Set([...badCases, ...goodCases].map(({ fixture }) => fixture));
    expect(readdirSync(fixturesDir).filter((name) => !used.has(name))).toEqual([]);
  });

  it('is not fooled by ignores: the virtual paths are linted, not skipped', async () => {
    const [result] = await eslint.lintText('export const x = 1;\n', {
      filePath: join(repoRoot, 'packages/stream-json/src/x.ts'),
      warnIgnored: true,
    });
    expect(result?.messages).toEqual([]);
    expect(await eslint.isPathIgnored(join(repoRoot, 'packages/stream-json/src/x.ts'))).toBe(false);
  });
});
