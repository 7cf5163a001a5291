/**
 * The transport port of the log follow, and its production implementation over `node:https`.
 *
 * Not client-node's `Log.log`: it pipes into a Writable and offers neither a promise for the end of the stream nor a
 * caller's abort signal, and maps only 500 bodies to errors. A plain request, authenticated by
 * `KubeConfig.applyToHTTPSOptions`, gives an async-iterable body (the socket pauses while the consumer awaits:
 * backpressure), clean-end vs. cut distinction, and abort by signal.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, MissingConfigurationError } from '../kube-runtime-error.ts';

/** One `GET /api/v1/namespaces/{namespace}/pods/{pod}/log` request; `timestamps=true` is always sent. */
export interface PodLogRequest {
  namespace: string;
  pod: string;
  container?: string;
  /** @see https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#read-log-of-the-specified-pod (`follow`) */
  follow: boolean;
  /** RFC3339, whole seconds (the apiserver truncates to seconds anyway). `sinceTime` of the API. */
  sinceTime?: string;
}

/**
 * Opens a log response. The body is the raw bytes; it ends when the server ends the response and throws when the
 * connection is cut. Rejects with `KubeApiError` on a non-200 status.
 */
export interface PodLogSource {
  open(request: PodLogRequest, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
}

/** The query string of a request (exported for the fake server's tests and the benchmarks). */
export function buildPodLogPath(request: PodLogRequest): string {
  const query = new URLSearchParams({ timestamps: 'true' });
  if (request.follow) query.set('follow', 'true');
  if (request.container !== undefined) query.set('container', request.container);
  if (request.sinceTime !== undefined) query.set('sinceTime', request.sinceTime);
  return `/api/v1/namespaces/${encodeURIComponent(request.namespace)}/pods/${encodeURIComponent(request.pod)}/log?${query.toString()}`;
}

/** Options of {@link createPodLogSource}. */
export interface CreatePodLogSourceOptions {
  kubeConfig: KubeConfig;
}

const ERROR_BODY_LIMIT = 64 * 1024;

export function createPodLogSource(options: CreatePodLogSourceOptions): PodLogSource {
  const { kubeConfig } = options;
  return {
    async open(request, signal) {
      const cluster = kubeConfig.getCurrentCluster();
      if (!cluster) throw new MissingConfigurationError(['current cluster'], 'kubeconfig');
      const url = new URL(cluster.server.replace(/\/+$/, '') + buildPodLogPath(request));
      const requestOptions: https.RequestOptions = { method: 'GET', headers: { accept: '*/*' } };
      await kubeConfig.applyToHTTPSOptions(requestOptions);
      const target = { verb: 'get' as const, resource: 'pods/log', namespace: request.namespace, name: request.pod };
      return new Promise<AsyncIterable<Uint8Array>>((resolve, reject) => {
        const transport = url.protocol === 'http:' ? http : https;
        const outgoing = transport.request(url, { ...requestOptions, ...(signal ? { signal } : {}) }, (response) => {
          const status = response.statusCode ?? 0;
          if (status === 200) {
            resolve(response);
            return;
          }
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (text: string) => {
            if (body.length < ERROR_BODY_LIMIT) body += text;
          });
          response.on('error', () => {});
          response.on('end', () => {
            let reason: string | null = null;
            let message = body.trim().slice(0, 500);
            try {
              const parsed = JSON.parse(body) as { reason?: string; message?: string };
              reason = parsed.reason ?? null;
              message = parsed.message ?? message;
            } catch {
              // not a Status body
            }
            reject(new KubeApiError(target, { status, reason, message }));
          });
        });
        outgoing.on('error', (error) => {
          reject(
            signal?.aborted === true
              ? (signal.reason as Error)
              : new KubeApiError(target, { status: 0, reason: null, message: error.message }, { cause: error }),
          );
        });
        outgoing.end();
      });
    },
  };
}
