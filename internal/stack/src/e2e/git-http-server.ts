// A git smart-HTTP server for e2e tests: `git http-backend` (CGI) behind a Node http server with HTTP basic auth, on
// 127.0.0.1 (expose it to pods with the local cluster's portal). Serves the bare repositories under `root`.
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHttpServer {
  port: number;
  /** Requests seen: method, path and whether they carried the right credentials. */
  requests: { method: string; path: string; authorized: boolean }[];
  close(): Promise<void>;
}

/** Answers one request through `git http-backend`, the CGI response parsed into status, headers and body. */
function runBackend(root: string, user: string, request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://git.invalid');
  const backend = spawn('git', ['http-backend'], {
    env: {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: request.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: request.headers['content-type'] ?? '',
      REMOTE_USER: user,
      REMOTE_ADDR: request.socket.remoteAddress ?? '',
      ...(request.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: request.headers['content-encoding'] } : {}),
      ...(request.headers['git-protocol'] ? { GIT_PROTOCOL: String(request.headers['git-protocol']) } : {}),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  request.pipe(backend.stdin);
  let head = Buffer.alloc(0);
  let headDone = false;
  backend.stdout.on('data', (chunk: Buffer) => {
    if (headDone) {
      response.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) return;
    headDone = true;
    let status = 200;
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else response.setHeader(name, value);
    }
    response.writeHead(status);
    response.write(head.subarray(end + 4));
  });
  backend.stdout.on('end', () => response.end());
  backend.on('error', () => {
    response.writeHead(500);
    response.end();
  });
}

/** Starts the server on 127.0.0.1 (a free port); only `user`:`password` gets in, anyone else gets 401. */
export async function startGitHttpServer(options: {
  root: string;
  user: string;
  password: string;
}): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
  const requests: GitHttpServer['requests'] = [];
  const server = createServer((request, response) => {
    const authorized = request.headers.authorization === expected;
    requests.push({ method: request.method ?? '', path: request.url ?? '', authorized });
    if (!authorized) {
      request.resume();
      response.writeHead(401, { 'www-authenticate': 'Basic realm="e2e git"' });
      response.end('authentication required\n');
      return;
    }
    runBackend(options.root, options.user, request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
