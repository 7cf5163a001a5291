import { CoreV1Api, Exec, KubeConfig, PortForward, type V1Pod, type V1Status } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@claude-k8s/test-utils';
import { restrictedNamespace, restrictedPodSpec } from './restricted.ts';
import { resolveTestCluster } from './test-cluster.ts';

// The cluster's network as the product's users have it: Services routed by kube-proxy, names answered by cluster
// DNS, and a kubelet that reaches its pods (HTTP probes) and proxies exec and port-forward. On the local cluster it
// also proves all of it stays inside the node's network namespace.
const cluster = resolveTestCluster();
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(cluster.kubeconfig);
const core = kubeConfig.makeApiClient(CoreV1Api);
const namespace = `ck8s-net-${process.pid}`;

// A tiny HTTP server in the agent image (Node is there); answers with its pod name.
const SERVER = `require('http').createServer((q, s) => s.end('hello from ' + process.env.HOSTNAME)).listen(8080)`;

// Client checks, run in a pod: resolve names through cluster DNS, call the Service by name, reach the apiserver
// through the kubernetes Service. Prints one JSON line.
const CLIENT = `
const dns = require('dns').promises, http = require('http'), https = require('https');
const get = (mod, url, opts = {}) => new Promise((resolve) => {
  const req = mod.get(url, { timeout: 10000, ...opts }, (res) => { let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => resolve({ status: res.statusCode, body })); });
  req.on('error', (e) => resolve({ error: e.code || e.message }));
  req.on('timeout', () => req.destroy(new Error('timeout')));
});
(async () => {
  const out = {};
  out.kubernetes = await dns.lookup('kubernetes.default.svc.cluster.local').then((a) => a.address, (e) => 'error ' + e.code);
  out.echo = await dns.lookup('echo').then((a) => a.address, (e) => 'error ' + e.code);
  out.missing = await dns.lookup('no-such-service').then((a) => a.address, (e) => 'error ' + e.code);
  out.nameservers = require('fs').readFileSync('/etc/resolv.conf', 'utf8').split(String.fromCharCode(10)).filter((l) => l.startsWith('nameserver ')).map((l) => l.slice(11).trim());
  const viaService = new dns.Resolver();
  viaService.setServers([process.env.DNS_SERVICE_IP]);
  out.viaService = await viaService.resolve4('echo.' + process.env.NAMESPACE + '.svc.cluster.local').then((a) => a, (e) => 'error ' + e.code);
  out.byName = await get(http, 'http://echo/');
  out.apiserver = await get(https, 'https://kubernetes.default.svc/livez', { rejectUnauthorized: false });
  console.log(JSON.stringify(out));
})();`;

function pod(name: string, labels: Record<string, string>, script: string): V1Pod {
  return {
    metadata: { name, namespace, labels },
    spec: restrictedPodSpec(cluster, { name: 'main', command: ['node', '-e', script] }),
  };
}

async function podReady(name: string): Promise<V1Pod> {
  return waitFor(`pod ${name} to be Ready`, 120_000, async () => {
    const current = await core.readNamespacedPod({ name, namespace });
    return current.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? current : undefined;
  });
}

describe(`cluster network (${cluster.kind}: ${cluster.server})`, () => {
  let serverPod: V1Pod;
  let serviceIp: string;

  beforeAll(async () => {
    await core.createNamespace({ body: restrictedNamespace(namespace) });
    // The server becomes Ready only through an HTTP readiness probe: the kubelet must reach the pod's address.
    const server = pod('echo-server', { app: 'echo' }, SERVER);
    server.spec!.containers[0]!.ports = [{ name: 'http', containerPort: 8080 }];
    server.spec!.containers[0]!.readinessProbe = { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 };
    await core.createNamespacedPod({ namespace, body: server });
    const service = await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'echo' },
        spec: { selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      },
    });
    serviceIp = service.spec!.clusterIP!;
    serverPod = await podReady('echo-server');
  });

  afterAll(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('an HTTP readiness probe passes: the kubelet reaches the pod network', () => {
    expect(serverPod.status?.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(serverPod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('a pod resolves Services through cluster DNS and reaches them, and the apiserver, through Service routing', async () => {
    const dnsService = await core.readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' });
    const client = pod('client', { app: 'client' }, CLIENT);
    client.spec!.containers[0]!.env = [
      { name: 'DNS_SERVICE_IP', value: dnsService.spec!.clusterIP! },
      { name: 'NAMESPACE', value: namespace },
    ];
    await core.createNamespacedPod({ namespace, body: client });
    await waitFor('the client pod to finish', 120_000, async () => {
      const current = await core.readNamespacedPod({ name: 'client', namespace });
      return current.status?.phase === 'Succeeded' || current.status?.phase === 'Failed' ? true : undefined;
    });
    const log = await core.readNamespacedPodLog({ name: 'client', namespace });
    const last = log.trim().split('\n').at(-1) ?? '';
    if (!last.startsWith('{')) throw new Error(`the client pod printed no result:\n${log}`);
    const result = JSON.parse(last) as Record<string, unknown>;
    const kubernetesService = await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
    expect(result['kubernetes']).toBe(kubernetesService.spec?.clusterIP);
    expect(result['echo']).toBe(serviceIp);
    // The same answer from the kube-dns Service, whatever nameserver the kubelet gave the pod (node-local DNS on the
    // local cluster).
    expect(result['viaService']).toEqual([serviceIp]);
    expect(result['nameservers']).toHaveLength(1);
    // Names outside the cluster are not forwarded anywhere (the local cluster's CoreDNS has no upstream).
    expect(result['missing']).toMatch(/^error (ENOTFOUND|EAI_AGAIN)$/);
    expect(result['byName']).toEqual({ status: 200, body: 'hello from echo-server' });
    // Any HTTP answer proves the route; an anonymous /livez is allowed by the default RBAC.
    expect(result['apiserver']).toMatchObject({ status: 200, body: 'ok' });
  });

  it('exec into a pod works through the apiserver and the kubelet', async () => {
    let stdout = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        stdout += chunk.toString('utf8');
        callback();
      },
    });
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(kubeConfig)
        .exec(
          namespace,
          'echo-server',
          'main',
          ['node', '-e', 'console.log("exec " + process.env.HOSTNAME)'],
          sink,
          null,
          null,
          false,
          resolve,
        )
        .catch(reject);
    });
    expect(status.status).toBe('Success');
    expect(stdout.trim()).toBe('exec echo-server');
  });

  it('port-forward to a pod works through the apiserver and the kubelet', async () => {
    const forward = new PortForward(kubeConfig);
    const listener = createServer((socket) => {
      void forward.portForward(namespace, 'echo-server', [8080], socket, null, socket);
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = listener.address() as AddressInfo;
      const body = await waitFor('an answer through the port-forward', 30_000, async () => {
        const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
        return response?.ok ? response.text() : undefined;
      });
      expect(body).toBe('hello from echo-server');
    } finally {
      listener.close();
    }
  });

  it.runIf(cluster.kind === 'local')(
    'the kubelet, kube-proxy and CoreDNS run in the node network namespace, not the host one',
    () => {
      const state = JSON.parse(
        execFileSync(new URL('../bin/local-cluster', import.meta.url).pathname, ['status'], { encoding: 'utf8' })
          .trim()
          .split('\n')
          .at(-1) ?? '{}',
      ) as { components: Record<string, { pid?: number }> };
      const netns = (pid: number | 'self') => statSync(`/proc/${pid}/ns/net`).ino;
      const host = netns('self');
      const node = statSync(`/run/netns/${process.env['CK8S_NETNS'] ?? 'claude-k8s-node'}`).ino;
      expect(node).not.toBe(host);
      for (const component of ['kubelet', 'kube-proxy', 'coredns']) {
        const launcher = state.components[component]?.pid;
        expect(launcher, `${component} is running`).toBeTypeOf('number');
        // The recorded pid is nsenter's, which execs the component in place.
        expect(netns(launcher!), component).toBe(node);
      }
    },
  );
});
