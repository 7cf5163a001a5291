/**
 * A TCP proxy on 127.0.0.1:0 that cuts connections on a script: used in front of the real kube-apiserver (TLS passes
 * through untouched; the kubeconfig's server is rewritten to the proxy) to prove the log follow survives cuts.
 */
import { createServer, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface CuttingProxyOptions {
  targetHost: string;
  targetPort: number;
  /**
   * Bytes from the target after which connection `index` (0-based) is destroyed; `undefined` = never. Called once
   * per accepted connection.
   */
  cutAfterBytes?: (index: number) => number | undefined;
}

export interface CuttingProxy extends AsyncDisposable {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections cut by the script or by `cutAll`. */
  readonly cuts: number;
  /** Destroys every open connection now. */
  cutAll(): void;
  close(): Promise<void>;
}

export async function startCuttingProxy(options: CuttingProxyOptions): Promise<CuttingProxy> {
  const open = new Set<Socket>();
  let connections = 0;
  let cuts = 0;
  const server = createServer((client) => {
    const index = connections++;
    const limit = options.cutAfterBytes?.(index);
    const upstream = connect(options.targetPort, options.targetHost);
    open.add(client);
    open.add(upstream);
    let received = 0;
    const cut = (): void => {
      cuts += 1;
      client.destroy();
      upstream.destroy();
    };
    upstream.on('data', (data: Buffer) => {
      if (limit !== undefined && received + data.length >= limit) {
        client.write(data.subarray(0, limit - received), () => cut());
        received = limit;
        upstream.pause();
        return;
      }
      received += data.length;
      if (!client.write(data)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
    client.on('data', (data: Buffer) => {
      if (!upstream.write(data)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    });
    const finish = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('close', finish);
    upstream.on('close', finish);
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: CuttingProxy = {
    port,
    get connections() {
      return connections;
    },
    get cuts() {
      return cuts;
    },
    cutAll() {
      for (const socket of open) {
        cuts += 1;
        socket.destroy();
      }
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async [Symbol.asyncDispose]() {
      await proxy.close();
    },
  };
  return proxy;
}
