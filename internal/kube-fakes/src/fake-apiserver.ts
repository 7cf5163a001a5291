/**
 * A fake apiserver on 127.0.0.1:0: real HTTP (node:http) in front of a {@link createFakeCluster} store, speaking the
 * REST paths, Status bodies and NDJSON watch streams client-node uses. Scripted faults come from the cluster
 * (`failNext`), dropped watch connections from {@link FakeApiserver.dropWatches}, 410 Gone from `cluster.compact()`
 * (sent as the apiserver does: a 200 stream carrying an ERROR event with a 410 Status).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import {
  createFakeCluster,
  FakeStatusError,
  statusBody,
  type FakeCluster,
  type FakeKind,
  type FakeObject,
} from './fake-cluster.ts';

export interface FakeApiserver {
  /** `http://127.0.0.1:<port>` */
  url: string;
  cluster: FakeCluster;
  /** Options for `KubeConfig.loadFromOptions` pointing at this server. */
  kubeConfigOptions(): { clusters: object[]; users: object[]; contexts: object[]; currentContext: string };
  /** A KubeConfig whose current cluster is this server (plain HTTP, a dummy token). */
  kubeConfig(): KubeConfig;
  /** Destroys every open watch connection mid-stream (as a network drop would). */
  dropWatches(): void;
  /** Every request line received, e.g. `GET /apis/batch/v1/namespaces/a/jobs?watch=true&...`. */
  log: string[];
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const KINDS: Record<string, { kind: FakeKind; listKind: string; apiVersion: string }> = {
  jobs: { kind: 'jobs', listKind: 'JobList', apiVersion: 'batch/v1' },
  pods: { kind: 'pods', listKind: 'PodList', apiVersion: 'v1' },
  secrets: { kind: 'secrets', listKind: 'SecretList', apiVersion: 'v1' },
  events: { kind: 'events', listKind: 'EventList', apiVersion: 'v1' },
  leases: { kind: 'leases', listKind: 'LeaseList', apiVersion: 'coordination.k8s.io/v1' },
};

const PATH = /^\/(?:api\/v1|apis\/[^/]+\/v1)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/;
const EVICTION = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/eviction$/;

/** Starts the server; stop it with `await using` or `close()`. */
export async function startFakeApiserver(
  options: {
    cluster?: FakeCluster;
    /** Labels of namespaces read with `GET /api/v1/namespaces/<name>`. @default Pod Security `restricted` */
    namespaceLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  } = {},
): Promise<FakeApiserver> {
  const cluster = options.cluster ?? createFakeCluster();
  const namespaceLabels = options.namespaceLabels ?? {};
  const watchResponses = new Set<ServerResponse>();
  const log: string[] = [];

  const server = createServer((request, response) => {
    log.push(`${request.method} ${request.url}`);
    handle(request, response).catch((error: unknown) => sendError(response, error));
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const eviction = EVICTION.exec(url.pathname);
    if (eviction !== null && request.method === 'POST') {
      await readBody(request);
      cluster.evictPod(decodeURIComponent(eviction[1] ?? ''), decodeURIComponent(eviction[2] ?? ''));
      sendJson(response, 201, { kind: 'Status', apiVersion: 'v1', status: 'Success', metadata: {}, code: 201 });
      return;
    }
    // The few cluster-level reads and reviews the environment test makes: the version, a namespace (Pod Security
    // `restricted` unless the test relabels it), and SelfSubjectAccessReviews (allowed).
    if (request.method === 'GET' && url.pathname === '/version') {
      sendJson(response, 200, { major: '1', minor: '35', gitVersion: 'v1.35.0-fake', platform: 'linux/amd64' });
      return;
    }
    const namespaceRead = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(url.pathname);
    if (namespaceRead !== null && request.method === 'GET') {
      const name = decodeURIComponent(namespaceRead[1] ?? '');
      sendJson(response, 200, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: namespaceLabels[name] ?? { 'pod-security.kubernetes.io/enforce': 'restricted' } },
      });
      return;
    }
    if (request.method === 'POST' && url.pathname === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
      const review = (await readBody(request)) as { spec?: object } | null;
      sendJson(response, 201, {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: review?.spec ?? {},
        status: { allowed: true },
      });
      return;
    }
    const match = PATH.exec(url.pathname);
    const resource = match === null ? undefined : KINDS[match[2] ?? ''];
    if (match === null || resource === undefined) {
      sendJson(
        response,
        404,
        statusBody(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`),
      );
      return;
    }
    const namespace = decodeURIComponent(match[1] ?? '');
    const name = match[3] === undefined ? null : decodeURIComponent(match[3]);
    const { kind } = resource;
    const query = url.searchParams;
    const selectors = {
      ...(query.get('labelSelector') === null ? {} : { labelSelector: query.get('labelSelector') ?? '' }),
      ...(query.get('fieldSelector') === null ? {} : { fieldSelector: query.get('fieldSelector') ?? '' }),
    };
    const body = await readBody(request);
    switch (request.method) {
      case 'GET': {
        if (name !== null) {
          const object = await cluster.ports.get(kind, namespace, name);
          if (object === null) throw new FakeStatusError(404, 'NotFound', `${kind} "${name}" not found`);
          sendJson(response, 200, object);
          return;
        }
        if (query.get('watch') === 'true') {
          await streamWatch(
            request,
            response,
            kind,
            namespace,
            { ...selectors, resourceVersion: query.get('resourceVersion') ?? '0' },
            {
              timeoutSeconds: Number(query.get('timeoutSeconds') ?? '0') || 0,
            },
          );
          return;
        }
        const list = await cluster.ports.list(kind, namespace, selectors);
        sendJson(response, 200, {
          kind: resource.listKind,
          apiVersion: resource.apiVersion,
          metadata: { resourceVersion: list.resourceVersion },
          items: list.items,
        });
        return;
      }
      case 'POST': {
        if (query.get('dryRun') === 'All') {
          // Admitted, nothing persisted (as `dryRun=All` does).
          const object = body as FakeObject & { metadata?: { name?: string; generateName?: string } };
          const metadata = {
            ...object.metadata,
            name: object.metadata?.name ?? `${object.metadata?.generateName ?? ''}dry`,
          };
          sendJson(response, 201, { ...object, metadata });
          return;
        }
        sendJson(response, 201, await cluster.ports.create(kind, namespace, body as FakeObject));
        return;
      }
      case 'PUT':
        sendJson(response, 200, await cluster.ports.replace(kind, namespace, name ?? '', body as FakeObject));
        return;
      case 'PATCH': {
        const type = request.headers['content-type'] ?? '';
        if (!type.startsWith('application/merge-patch+json')) {
          sendJson(
            response,
            415,
            statusBody(415, 'UnsupportedMediaType', `the fake apiserver only supports merge patches, got ${type}`),
          );
          return;
        }
        sendJson(response, 200, await cluster.ports.patch(kind, namespace, name ?? '', body as object));
        return;
      }
      case 'DELETE': {
        // Like the apiserver: with a body, the options come from the body only (query parameters are ignored).
        const options =
          body === null
            ? { propagationPolicy: query.get('propagationPolicy') ?? undefined }
            : (body as { propagationPolicy?: string; preconditions?: { uid?: string; resourceVersion?: string } });
        const preconditions = 'preconditions' in options ? options.preconditions : undefined;
        const propagationPolicy = options.propagationPolicy as 'Foreground' | 'Background' | 'Orphan' | undefined;
        const existing = cluster.peek(kind, namespace, name ?? '');
        if (
          preconditions?.resourceVersion !== undefined &&
          existing !== undefined &&
          existing.metadata?.resourceVersion !== preconditions.resourceVersion
        )
          throw new FakeStatusError(
            409,
            'Conflict',
            `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${existing.metadata?.resourceVersion}`,
          );
        const deleted = await cluster.ports.delete(kind, namespace, name ?? '', {
          ...(preconditions?.uid === undefined ? {} : { uid: preconditions.uid }),
          ...(propagationPolicy === undefined ? {} : { propagationPolicy }),
        });
        if (!deleted) throw new FakeStatusError(404, 'NotFound', `${kind} "${name}" not found`);
        sendJson(response, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success', metadata: {} });
        return;
      }
      default:
        sendJson(response, 405, statusBody(405, 'MethodNotAllowed', `method ${request.method} not allowed`));
    }
  }

  async function streamWatch(
    request: IncomingMessage,
    response: ServerResponse,
    kind: FakeKind,
    namespace: string,
    watchOptions: { labelSelector?: string; fieldSelector?: string; resourceVersion: string },
    timing: { timeoutSeconds: number },
  ): Promise<void> {
    const controller = new AbortController();
    response.on('close', () => controller.abort());
    // Like the real apiserver: a request with `timeoutSeconds` ends cleanly at its deadline (the client resumes from
    // the last resourceVersion it saw). Bookmarks are sent only when a test asks (`cluster.bookmark`): the real
    // apiserver sent none to a quiet watch of 4, 8 or 70 s. Checked against the real cluster by the contract suite.
    const timers: NodeJS.Timeout[] = [];
    if (timing.timeoutSeconds > 0) timers.push(setTimeout(() => controller.abort(), timing.timeoutSeconds * 1000));
    response.on('close', () => timers.forEach((timer) => clearTimeout(timer)));
    const lines: string[] = [];
    let headersSent = false;
    const write = (line: object): void => {
      if (!headersSent) lines.push(JSON.stringify(line));
      else response.write(`${JSON.stringify(line)}\n`);
    };
    const ended = cluster.ports.watch(kind, namespace, { ...watchOptions, signal: controller.signal }, (event) => {
      if (event.type === 'BOOKMARK')
        write({ type: 'BOOKMARK', object: { kind: 'Bookmark', metadata: { resourceVersion: event.resourceVersion } } });
      else write(event);
    });
    // A scripted fault answers like a refused watch: a non-200 Status before the stream starts.
    const early = await Promise.race([ended, new Promise((resolve) => setImmediate(() => resolve(null)))]);
    response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    headersSent = true;
    for (const line of lines) response.write(`${line}\n`);
    watchResponses.add(response);
    const end = early ?? (await ended);
    watchResponses.delete(response);
    if (response.destroyed || response.writableEnded) return;
    if ((end as { type: string }).type === 'gone') {
      response.write(
        `${JSON.stringify({ type: 'ERROR', object: statusBody(410, 'Expired', `too old resource version: ${watchOptions.resourceVersion}`) })}\n`,
      );
    }
    response.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const close = async (): Promise<void> => {
    for (const response of watchResponses) response.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const kubeConfigOptions = () => ({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'fake', token: 'fake-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake', namespace: 'default' }],
    currentContext: 'fake',
  });
  return {
    url,
    cluster,
    log,
    kubeConfigOptions,
    kubeConfig: () => {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromOptions(kubeConfigOptions());
      return kubeConfig;
    },
    dropWatches: () => {
      for (const response of [...watchResponses]) {
        watchResponses.delete(response);
        response.socket?.destroy();
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function sendError(response: ServerResponse, error: unknown): void {
  if (error instanceof FakeStatusError) {
    if (response.headersSent) response.end();
    else {
      response.writeHead(error.code, { 'content-type': 'application/json' });
      response.end(error.body);
    }
    return;
  }
  sendJson(response, 500, statusBody(500, 'InternalError', String(error)));
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return null;
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? null : (JSON.parse(text) as unknown);
}
