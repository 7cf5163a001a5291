/**
 * The environment test's live probe (`liveProbe: true`): one short Job from the agent's own image and configuration
 * (the sample run's manifest, with a probe script instead of the agent's run) that answers three questions, each as
 * its own check: does the claude CLI run, does the model API accept the credentials (one `Respond with hello.`
 * request, as claude_local's hello probe), and does `paperclipApiUrl` answer from a pod.
 *
 * The probe's output is the container log, in three sections: `ck8s-probe:<name>:begin`, the step's output, and
 * `ck8s-probe:<name>:end <exit code>`.
 */
import type { AdapterEnvironmentCheck } from '@paperclipai/adapter-utils';
import type { RunSpec } from '@claude-k8s/kube-runtime';
import type { AdapterConfig } from './config-schema.ts';
import type { RunAccumulatorLike } from './ports.ts';

/** The probe's prompt (the same words as claude_local's hello probe). */
const LIVE_PROBE_PROMPT = 'Respond with hello.';

/** `CLAUDE_CODE_MAX_RETRIES` of the hello request: a refused key or a dead endpoint is reported in seconds. */
const LIVE_PROBE_MAX_RETRIES = 2;

/**
 * The probe container's script. Arguments: the working directory, then claude's command line for the hello request.
 * Every step runs whatever the one before it did; each prints its section (see the module comment). The Paperclip
 * check uses node (which the CLI's npm distribution needs), else curl, else wget.
 */
export const LIVE_PROBE_SCRIPT = [
  'set -u',
  'mkdir -p -- "$1" 2>/dev/null; cd -- "$1" 2>/dev/null || cd /tmp',
  'shift',
  'echo ck8s-probe:cli:begin',
  '"$1" --version 2>&1',
  'echo "ck8s-probe:cli:end $?"',
  'echo ck8s-probe:paperclip:begin',
  'if [ -z "${PAPERCLIP_API_URL:-}" ]; then echo "PAPERCLIP_API_URL is not set in the pod"; (exit 2)',
  'else',
  '  CK8S_PROBE_URL="${PAPERCLIP_API_URL%/}/api/health"; export CK8S_PROBE_URL',
  '  echo "GET $CK8S_PROBE_URL"',
  '  if command -v node >/dev/null 2>&1; then',
  '    node -e \'fetch(process.env.CK8S_PROBE_URL, { signal: AbortSignal.timeout(10000) }).then((r) => { console.log("HTTP " + r.status); process.exit(r.ok ? 0 : 1); }, (e) => { console.log(String((e && e.cause) || e)); process.exit(1); })\' 2>&1',
  '  elif command -v curl >/dev/null 2>&1; then',
  '    curl -sS -f -o /dev/null -w "HTTP %{http_code}\\n" --max-time 10 "$CK8S_PROBE_URL" 2>&1',
  '  elif command -v wget >/dev/null 2>&1; then',
  '    wget -q -O /dev/null -T 10 "$CK8S_PROBE_URL" 2>&1 && echo "HTTP 2xx"',
  '  else echo "the image has no node, curl or wget to make the request with"; (exit 127)',
  '  fi',
  'fi',
  'echo "ck8s-probe:paperclip:end $?"',
  'echo ck8s-probe:model:begin',
  // The CLI retries a refused key 10 times (about 170 s of backoff): the probe answers after 2.
  `printf '%s' '${LIVE_PROBE_PROMPT}' | CLAUDE_CODE_MAX_RETRIES=${LIVE_PROBE_MAX_RETRIES} "$@" 2>&1`,
  'echo "ck8s-probe:model:end $?"',
].join('\n');

/** claude's command line for the hello request: the run's model, one turn, stream-json. */
export function liveProbeClaudeArgs(config: Pick<AdapterConfig, 'model'>): string[] {
  return [
    'claude',
    '--print',
    '-',
    '--output-format',
    'stream-json',
    '--verbose',
    '--max-turns',
    '1',
    ...(config.model === undefined ? [] : ['--model', config.model]),
  ];
}

/**
 * The probe's Job: the sample run's manifest (image, env, Secrets, volumes, security context, resources) with the
 * probe script as its command, a deadline, no lock and no session.
 */
export function liveProbeSpec(sample: RunSpec, config: AdapterConfig, cwd: string, runId: string): RunSpec {
  return {
    ...sample,
    runId,
    command: ['/bin/sh', '-c', LIVE_PROBE_SCRIPT, 'ck8s-probe', cwd, ...liveProbeClaudeArgs(config)],
    timeoutSeconds: config.liveProbeTimeoutSec,
    lockPolicy: 'none',
    retention: { onSuccess: 'delete', onFailure: 'delete' },
  };
}

/** One section of the probe's output. */
export interface ProbeSection {
  output: string;
  /** The step's exit code; `null` when the section did not end (the container stopped inside it). */
  exitCode: number | null;
}

/** Splits the probe's output into its sections by name. Lines outside a section are ignored. */
export function parseLiveProbeOutput(text: string): Map<string, ProbeSection> {
  const open = new Map<string, { lines: string[]; exitCode: number | null }>();
  let current: { lines: string[]; exitCode: number | null } | null = null;
  let currentName = '';
  for (const line of text.split('\n')) {
    const begin = /^ck8s-probe:([a-z]+):begin$/.exec(line);
    const end = /^ck8s-probe:([a-z]+):end (\d+)$/.exec(line);
    if (begin !== null) {
      currentName = begin[1]!;
      current = { lines: [], exitCode: null };
      open.set(currentName, current);
    } else if (end !== null && current !== null && end[1] === currentName) {
      current.exitCode = Number(end[2]);
      current = null;
    } else if (current !== null) {
      current.lines.push(line);
    }
  }
  return new Map(
    [...open].map(([name, section]) => [name, { output: section.lines.join('\n'), exitCode: section.exitCode }]),
  );
}

/** What the probe's Job did, as the environment probe reports it. */
export interface LiveProbeRun {
  /** The container log (stdout and stderr). */
  output: string;
  /** kube-runtime's outcome code (`succeeded`, `exit-code`, `image-pull`, `deadline-exceeded`, …). */
  code: string;
  /** The outcome's message, for a Job that did not run to its end. */
  message: string | null;
  jobName: string;
}

const MAX_DETAIL = 2_000;

function clip(text: string): string {
  const trimmed = text.trim();
  return trimmed.length <= MAX_DETAIL ? trimmed : `${trimmed.slice(0, MAX_DETAIL)}…`;
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .at(-1) ?? ''
  );
}

/** The three checks of a finished probe (or one error when its Job never ran the script). */
export function liveProbeChecks(
  run: LiveProbeRun,
  createAccumulator: () => RunAccumulatorLike,
  paperclipApiUrl: string | null,
): AdapterEnvironmentCheck[] {
  const sections = parseLiveProbeOutput(run.output);
  if (!sections.has('cli')) {
    return [
      {
        code: 'claude_k8s_probe_not_run',
        level: 'error',
        message: `the live probe's Job ${run.jobName} ended (${run.code}) before its script ran${run.message ? `: ${run.message}` : ''}`,
        detail: clip(run.output) || null,
        hint: 'See the reason: an image that cannot be pulled, a pod the cluster refuses, or a probe slower than liveProbeTimeoutSec.',
      },
    ];
  }
  const checks: AdapterEnvironmentCheck[] = [];
  const unfinished = (name: string): string =>
    `the probe's Job ended (${run.code}) inside the ${name} step${run.message ? `: ${run.message}` : ''}`;

  const cli = sections.get('cli')!;
  if (cli.exitCode === 0)
    checks.push({
      code: 'claude_k8s_probe_cli_ok',
      level: 'info',
      message: `the claude CLI runs in the image (${lastLine(cli.output)})`,
    });
  else
    checks.push({
      code: 'claude_k8s_probe_cli_failed',
      level: 'error',
      message:
        cli.exitCode === null
          ? unfinished('claude --version')
          : `claude --version failed in the image (exit ${cli.exitCode})`,
      detail: clip(cli.output) || null,
      hint: 'The image must have the claude CLI on its PATH: use the published agent image or install @anthropic-ai/claude-code in yours.',
    });

  const paperclip = sections.get('paperclip');
  if (paperclip === undefined || paperclip.exitCode !== 0)
    checks.push({
      code: 'claude_k8s_probe_paperclip_unreachable',
      level: 'error',
      message:
        paperclip === undefined || paperclip.exitCode === null
          ? unfinished('Paperclip')
          : `a pod cannot reach Paperclip at ${paperclipApiUrl ?? '(no URL)'}: ${lastLine(paperclip.output)}`,
      detail: clip(paperclip?.output ?? '') || null,
      hint: "Set paperclipApiUrl to an address pods can reach (a Service's cluster DNS name, not the server's loopback) and check the NetworkPolicy's egress.",
    });
  else
    checks.push({
      code: 'claude_k8s_probe_paperclip_ok',
      level: 'info',
      message: `a pod reaches Paperclip at ${paperclipApiUrl ?? '(no URL)'} (${lastLine(paperclip.output)})`,
    });

  const model = sections.get('model');
  if (model === undefined || model.exitCode === null) {
    checks.push({
      code: 'claude_k8s_probe_model_failed',
      level: 'error',
      message: unfinished('model request'),
      detail: clip(model?.output ?? '') || null,
    });
    return checks;
  }
  const accumulator = createAccumulator();
  accumulator.push(model.output.endsWith('\n') ? model.output : `${model.output}\n`);
  const summary = accumulator.finish({ exitCode: model.exitCode, signal: null });
  if (summary.hasResult && !summary.isError && summary.failure === null && model.exitCode === 0)
    checks.push({
      code: 'claude_k8s_probe_model_ok',
      level: 'info',
      message: `the model API accepted the credentials and answered${summary.model ? ` (${summary.model})` : ''}: ${clip(summary.summary ?? '').slice(0, 120)}`,
    });
  else {
    const failure = summary.failure;
    checks.push({
      code: failure?.code === 'authentication' ? 'claude_k8s_probe_model_auth_failed' : 'claude_k8s_probe_model_failed',
      level: 'error',
      message:
        failure === null
          ? `the hello request failed (exit ${model.exitCode}): ${lastLine(model.output)}`
          : `the hello request failed: ${failure.message}`,
      detail: clip(model.output) || null,
      hint:
        failure?.hint ??
        'Check anthropicApiKeySecret (or the credentials in env), anthropicBaseUrl, and that the model API is reachable from pods.',
    });
  }
  return checks;
}
