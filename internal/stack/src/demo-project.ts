// The demo's project (issue 12, item 7): a small git repository with history that the demo creates where Paperclip's
// server runs (this machine, or Paperclip's pod with --in-cluster), registers as a Paperclip project, and reads back
// after the run to show what came back into it. Every step is a POSIX shell script run as the workspace's owner (the
// server's user), so the same code serves both places.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { ServiceUser } from '@claude-k8s/paperclip-server';

/** Runs a POSIX shell script as the owner of the demo's workspace, where Paperclip's server runs; resolves to stdout. */
export type WorkspaceShell = (script: string) => Promise<string>;

/** A shell on this machine as `user` (the Paperclip server's), with a plain environment. */
export function localWorkspaceShell(user: ServiceUser): WorkspaceShell {
  return async (script) => {
    try {
      const { stdout } = await promisify(execFile)('sh', ['-c', script], {
        uid: user.uid,
        gid: user.gid,
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: user.home },
        cwd: '/',
        timeout: 60_000,
      });
      return stdout;
    } catch (error) {
      const stderr = (error as { stderr?: unknown }).stderr;
      throw new Error(
        `a shell as ${user.name} failed: ${typeof stderr === 'string' && stderr.trim() ? stderr.trim().slice(-500) : (error as Error).message}`,
        { cause: error },
      );
    }
  };
}

/** `value` as one single-quoted shell word. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The project's name in Paperclip, and its directory's name. */
export const DEMO_PROJECT_NAME = 'greeter';

/** The repository's history: each commit's message and the files it writes. */
const HISTORY: readonly { message: string; files: Record<string, string> }[] = [
  {
    message: 'Add the README',
    files: {
      'README.md': '# greeter\n\nA tiny project for the claude-k8s demo: `node src/greet.js NAME` prints a greeting.\n',
      '.gitignore': 'node_modules/\n',
    },
  },
  {
    message: 'Add greet.js',
    files: {
      'src/greet.js':
        "// Prints a greeting for the name given on the command line.\nconst name = process.argv[2] ?? 'world';\nconsole.log('Hello, ' + name);\n",
    },
  },
];

/** The task the agent gets with the real model. */
export const DEMO_TASK =
  'The git repository in your working directory is a tiny Node.js project. Read src/greet.js, make the greeting end ' +
  'with an exclamation mark, add a CHANGELOG.md with one line describing the change, and commit both with a short ' +
  'message, as the author "claude-k8s demo agent <agent@claude-k8s.invalid>" (the pod\'s git has no identity: use ' +
  '`git -c user.name=... -c user.email=... commit`). Then run `git log --oneline -3` and `node src/greet.js Kubernetes`.';

// The commit's identity is given on git's command line, not as GIT_AUTHOR_* in the agent's env: Paperclip in
// authenticated mode (--in-cluster) takes any env name matching /auth/i for a credential and requires a secret
// reference for it.
/**
 * The same task scripted for the fake model: one Bash call that prints the demo's greeting from the pod, reads the
 * file, edits it, adds one, commits, and shows the result.
 */
export const DEMO_FAKE_COMMAND = [
  'echo hello from a Kubernetes Job; id -u; pwd',
  'cat src/greet.js',
  `sed -i "s/+ name);/+ name + '!');/" src/greet.js`,
  "printf '%s\\n' '- greet.js: the greeting ends with an exclamation mark.' > CHANGELOG.md",
  'git add src/greet.js CHANGELOG.md',
  "git -c user.name='claude-k8s demo agent' -c user.email=agent@claude-k8s.invalid commit -q -m 'Greet with an exclamation mark'",
  'git log --oneline -3',
  'node src/greet.js Kubernetes',
].join(' && ');

/**
 * Creates the repository in `dir` (which must not exist, or be empty) with {@link HISTORY}, and resolves to its HEAD.
 * Commits carry a fixed demo identity; the branch is `main`.
 */
export async function createDemoRepository(shell: WorkspaceShell, dir: string): Promise<string> {
  const lines = [
    'set -eu',
    `dir=${shellQuote(dir)}`,
    'mkdir -p "$dir"',
    'if [ -n "$(ls -A "$dir")" ]; then echo "the demo project directory $dir is not empty" >&2; exit 3; fi',
    'cd "$dir"',
    'git init -q -b main',
    'export GIT_AUTHOR_NAME="claude-k8s demo" GIT_AUTHOR_EMAIL=demo@claude-k8s.invalid',
    'export GIT_COMMITTER_NAME="claude-k8s demo" GIT_COMMITTER_EMAIL=demo@claude-k8s.invalid',
  ];
  for (const commit of HISTORY) {
    for (const [path, content] of Object.entries(commit.files)) {
      if (path.includes('/')) lines.push(`mkdir -p ${shellQuote(path.slice(0, path.lastIndexOf('/')))}`);
      lines.push(`printf '%s' ${shellQuote(content)} > ${shellQuote(path)}`);
    }
    lines.push('git add -A', `git commit -q -m ${shellQuote(commit.message)}`);
  }
  lines.push('git rev-parse HEAD');
  return (await shell(lines.join('\n'))).trim();
}

/** What the repository holds after the run, relative to its HEAD before it (read with git where the server runs). */
export interface DemoChanges {
  branch: string;
  head: string;
  /** Commits since the HEAD before the run, newest first: short hash and subject. */
  commits: { hash: string; subject: string }[];
  /** Files those commits changed: git's status letter (A, M, D, R…) and path. */
  committedFiles: { status: string; path: string }[];
  /** `git status --porcelain` lines of the working tree: what the run changed and did not commit. */
  uncommitted: string[];
}

/** Reads {@link DemoChanges} of the repository in `dir` since `baseHead`. */
export async function readDemoChanges(shell: WorkspaceShell, dir: string, baseHead: string): Promise<DemoChanges> {
  const separator = '--ck8s-demo--';
  const script = [
    'set -eu',
    `cd ${shellQuote(dir)}`,
    'git rev-parse --abbrev-ref HEAD',
    'git rev-parse HEAD',
    `echo ${separator}`,
    `git log --format='%h %s' ${shellQuote(`${baseHead}..HEAD`)}`,
    `echo ${separator}`,
    `git diff --name-status ${shellQuote(baseHead)} HEAD`,
    `echo ${separator}`,
    'git status --porcelain',
  ].join('\n');
  const [head = '', log = '', diff = '', status = ''] = (await shell(script)).split(`${separator}\n`);
  const [branch = '', hash = ''] = head.trim().split('\n');
  const nonEmpty = (text: string) => text.split('\n').filter((line) => line.trim() !== '');
  return {
    branch,
    head: hash,
    commits: nonEmpty(log).map((line) => {
      const space = line.indexOf(' ');
      return { hash: line.slice(0, space), subject: line.slice(space + 1) };
    }),
    committedFiles: nonEmpty(diff).map((line) => {
      const [letter = '', ...paths] = line.split('\t');
      return { status: letter, path: paths.join(' -> ') };
    }),
    uncommitted: nonEmpty(status),
  };
}

/** The summary's lines for the project: the commits and the files that came back, or that nothing did. */
export function formatDemoChanges(changes: DemoChanges, baseHead: string): string[] {
  const commits =
    changes.commits.length === 0
      ? `none (HEAD still ${baseHead.slice(0, 7)} on ${changes.branch})`
      : changes.commits
          .map((commit, index) =>
            index === 0
              ? `${commit.hash} ${commit.subject} (${changes.branch}, on top of ${baseHead.slice(0, 7)})`
              : `${commit.hash} ${commit.subject}`,
          )
          .join('\n             ');
  return [
    `commit:      ${commits}`,
    `changed:     ${changes.committedFiles.length === 0 ? 'no file' : changes.committedFiles.map((file) => `${file.status} ${file.path}`).join(', ')}`,
    `uncommitted: ${changes.uncommitted.length === 0 ? 'none' : changes.uncommitted.map((line) => line.trim()).join(', ')}`,
  ];
}

/**
 * A shell in Paperclip's pod (`deploy/<deployment>`, container `paperclip`) through `kubectl exec`: the script goes on
 * stdin, so its length and quoting do not matter.
 */
export function podWorkspaceShell(options: {
  kubectl: string;
  kubeconfig: string;
  namespace: string;
  deployment?: string;
}): WorkspaceShell {
  return (script) =>
    new Promise((resolvePromise, reject) => {
      const child = spawn(
        options.kubectl,
        [
          '--kubeconfig',
          options.kubeconfig,
          '-n',
          options.namespace,
          'exec',
          '-i',
          `deploy/${options.deployment ?? 'paperclip'}`,
          '-c',
          'paperclip',
          '--',
          'sh',
          '-s',
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolvePromise(stdout);
        else reject(new Error(`a shell in Paperclip's pod exited with ${code}: ${stderr.trim().slice(-500)}`));
      });
      child.stdin.end(script);
    });
}
