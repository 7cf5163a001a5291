// Helpers of browser.e2e.test.ts: a stand-in adapter that replays a recorded Claude Code transcript but ships OUR
// built UI parser, and small page helpers for Paperclip's single-page UI.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserHarness } from '@claude-k8s/paperclip-server';
import { repoRoot } from '../start-stack.ts';

/** A page of the headless Chromium (the `playwright-core` type, reached through the harness). */
export type BrowserPage = Awaited<ReturnType<BrowserHarness['newPage']>>;

/** The built adapter package: `dist/index.js` (server module) and `dist/ui-parser.cjs` (transcript parser). */
export const builtAdapter = {
  dir: join(repoRoot, 'packages', 'paperclip-adapter'),
  entry: join(repoRoot, 'packages', 'paperclip-adapter', 'dist', 'index.js'),
  uiParser: join(repoRoot, 'packages', 'paperclip-adapter', 'dist', 'ui-parser.cjs'),
};

/** `<repo>/.artifacts/e2e`: the screenshots of the browser test (gitignored, uploaded by CI). */
export const e2eArtifactsDir = join(repoRoot, '.artifacts', 'e2e');

export const REPLAY_ADAPTER_TYPE = 'claude_k8s_replay';

/**
 * Writes a throwaway local-path adapter of type {@link REPLAY_ADAPTER_TYPE} into `directory`: its `execute()` sends the
 * lines of `transcriptPath` (Claude Code stream-json) to stdout one `onLog` call per line and returns a success with
 * the transcript's final `result` as summary; its `./ui-parser` is a byte-for-byte copy of `uiParserPath`.
 */
export async function writeReplayAdapter(
  directory: string,
  transcriptPath: string,
  uiParserPath: string,
): Promise<void> {
  await mkdir(directory, { recursive: true });
  const lines = (await readFile(transcriptPath, 'utf8')).split('\n').filter((line) => line.trim() !== '');
  await writeFile(
    join(directory, 'package.json'),
    `${JSON.stringify(
      {
        name: 'ck8s-replay-adapter',
        version: '0.0.1',
        private: true,
        type: 'module',
        exports: { '.': './index.js', './ui-parser': './ui-parser.cjs' },
        paperclip: { adapterUiParser: '1.0.0' },
      },
      null,
      2,
    )}\n`,
  );
  await writeFile(join(directory, 'transcript.json'), `${JSON.stringify(lines)}\n`);
  await writeFile(join(directory, 'index.js'), REPLAY_ADAPTER_SOURCE);
  await copyFile(uiParserPath, join(directory, 'ui-parser.cjs'));
}

const REPLAY_ADAPTER_SOURCE = `// Stand-in adapter of the browser e2e test: replays a recorded Claude Code stream-json transcript.
import { readFileSync } from 'node:fs';

const lines = JSON.parse(readFileSync(new URL('./transcript.json', import.meta.url), 'utf8'));

export function createServerAdapter() {
  return {
    type: '${REPLAY_ADAPTER_TYPE}',
    supportsLocalAgentJwt: true,
    models: [{ id: 'claude-replay', label: 'Claude (replayed transcript)' }],
    async execute(ctx) {
      await ctx.onCancellationReady();
      ctx.onDispatch?.();
      let result;
      for (const line of lines) {
        await ctx.onLog('stdout', line + '\\n');
        const event = JSON.parse(line);
        if (event.type === 'result') result = event;
      }
      const usage = result?.usage ?? {};
      return {
        exitCode: 0,
        signal: null,
        timedOut: false,
        usage: {
          inputTokens: usage.input_tokens ?? 0,
          outputTokens: usage.output_tokens ?? 0,
          cachedInputTokens: usage.cache_read_input_tokens ?? 0,
        },
        usageBasis: 'per_run',
        provider: 'anthropic',
        biller: 'anthropic',
        model: 'claude-replay',
        billingType: 'api',
        costUsd: result?.total_cost_usd ?? 0,
        summary: result?.result ?? '',
        resultJson: { replayed: true, lines: lines.length },
      };
    },
    async testEnvironment(ctx) {
      return { adapterType: ctx.adapterType, status: 'pass', checks: [], testedAt: new Date().toISOString() };
    },
  };
}
`;

/** The agent's `urlKey` (the `:agentId` of the UI's routes), or its id. */
export function agentRef(agent: { id: string; [key: string]: unknown }): string {
  return typeof agent['urlKey'] === 'string' ? agent['urlKey'] : agent.id;
}

/**
 * Works around a bug of Paperclip 2026.916.1's UI: the Web Worker that sandboxes an external adapter's UI parser starts
 * with `"use strict"` and disables globals by assignment (`self.indexedDB = undefined`, `self.caches = undefined`).
 * `indexedDB` (and `caches`, in secure contexts) are getter-only accessors of `WorkerGlobalScope`, so in strict mode
 * the assignment throws `TypeError: Cannot set property indexedDB of #<WorkerGlobalScope> which has only a getter`,
 * the worker dies before it reads the parser, and the UI silently falls back to its generic stdout rendering. Every
 * external adapter's transcript parser is affected, in every browser.
 *
 * The fix, applied in the page before its scripts run: when the page creates the sandbox worker's source (a `Blob`
 * whose text starts the sandbox's lock-down section), prepend a prologue that turns those two globals into own
 * writable properties of the worker's global, so the sandbox's assignments do what it intends (hide them). Nothing else
 * of the sandbox or of the parser changes.
 */
export async function fixParserSandbox(page: BrowserPage): Promise<void> {
  await page.addInitScript(() => {
    const marker = 'Lock down dangerous globals';
    const prologue =
      '"use strict";\nfor (const name of ["caches", "indexedDB"]) { if (name in self) Object.defineProperty(self, name, { value: undefined, writable: true, configurable: true }); }\n';
    const scope = globalThis as unknown as { Blob: typeof Blob };
    const NativeBlob = scope.Blob;
    class SandboxFixBlob extends NativeBlob {
      constructor(parts?: ConstructorParameters<typeof Blob>[0], options?: ConstructorParameters<typeof Blob>[1]) {
        const list = parts ? [...parts] : [];
        const first = list[0];
        const isSandbox = list.length === 1 && typeof first === 'string' && first.includes(marker);
        super(isSandbox ? [prologue + first] : list, options);
      }
    }
    scope.Blob = SandboxFixBlob;
  });
}
