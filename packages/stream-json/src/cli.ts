import process from 'node:process';
import { runCli } from './cli/run-cli.ts';

// `claude-stream-json`: pretty-prints Claude Code stream-json from a file or stdin. See `--help`.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // A closed pipe (e.g. `| head`) ends the program quietly.
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
process.exitCode = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stdoutIsTty: process.stdout.isTTY,
  columns: process.stdout.columns,
});
