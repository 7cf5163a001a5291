import {
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  loadAllYaml,
  type V1NetworkPolicy,
  type V1Pod,
} from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@claude-k8s/test-utils';
import { restrictedNamespace, restrictedPodSpec } from './restricted.ts';
import { resolveTestCluster } from './test-cluster.ts';

// deploy/network-policy.yaml, enforced by a real policy engine (on the local cluster: kube-router's firewall
// controller in the node's network namespace). From an agent pod (the labels the runtime sets on every run): DNS,
// Paperclip and a configured model host are reachable; the API server, another pod, and Paperclip's pod on a port
// the policy does not open are not. The same checks from an unlabelled pod in the same namespace all connect: that
// control proves the refusals come from the policy, not from the network.
const cluster = resolveTestCluster();
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(cluster.kubeconfig);
const core = kubeConfig.makeApiClient(CoreV1Api);
const networking = kubeConfig.makeApiClient(NetworkingV1Api);
const agents = `ck8s-netpol-${process.pid}`;
const paperclip = `ck8s-netpol-pc-${process.pid}`;
const AGENT_LABELS = { 'app.kubernetes.io/managed-by': 'claude-k8s', 'app.kubernetes.io/component': 'agent-run' };
const POLICY_FILE = new URL('../../../deploy/network-policy.yaml', import.meta.url);

// An HTTP server answering on every port it is given, with its pod name.
const SERVER = `for (const port of process.argv.slice(1)) require('http').createServer((q, s) => s.end(process.env.HOSTNAME)).listen(Number(port));`;

// The checks, run in a pod: each a URL, the result 'open' (an HTTP answer) or why not; a new connection each time
// (no keep-alive: a connection made before the policy took effect stays allowed, as conntrack keeps it). A policy takes effect a moment
// after the pod starts (the engine programs it when it sees the pod), so the pod probes in rounds, every second,
// until every result is what EXPECT says or 60 s have passed, and prints its last round and how many it took.
const PROBE = `
const http = require('http'), https = require('https'), dns = require('dns').promises;
const targets = JSON.parse(process.env.TARGETS), expect = JSON.parse(process.env.EXPECT);
const probe = (url) => new Promise((resolve) => {
  const mod = url.startsWith('https:') ? https : http;
  const req = mod.get(url, { timeout: 3000, rejectUnauthorized: false, agent: false }, (res) => { res.resume(); res.on('end', () => resolve('open')); });
  req.on('error', (e) => resolve(e.code || e.message));
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
});
(async () => {
  const deadline = Date.now() + 60000;
  for (let round = 1; ; round++) {
    const out = { dns: await dns.lookup(process.env.DNS_NAME).then((a) => a.address, (e) => 'error ' + e.code) };
    const results = await Promise.all(Object.values(targets).map(probe));
    Object.keys(targets).forEach((name, i) => (out[name] = results[i]));
    const done = Object.entries(expect).every(([name, want]) => (out[name] === 'open') === (want === 'open'));
    if (done || Date.now() > deadline) { console.log(JSON.stringify({ ...out, rounds: round })); return; }
    await new Promise((r) => setTimeout(r, 1000));
  }
})();`;

function nodePod(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  args: string[],
  env: Record<string, string> = {},
): V1Pod {
  return {
    metadata: { name, namespace, labels },
    spec: restrictedPodSpec(cluster, {
      name: 'main',
      command: ['node', ...args],
      env: Object.entries(env).map(([envName, value]) => ({ name: envName, value })),
    }),
  };
}

async function runningPodIp(name: string, namespace: string): Promise<string> {
  return waitFor(`pod ${namespace}/${name} to run`, 120_000, async () => {
    const pod = await core.readNamespacedPod({ name, namespace });
    return pod.status?.phase === 'Running' && pod.status.podIP ? pod.status.podIP : undefined;
  });
}

async function probeFrom(
  name: string,
  labels: Record<string, string>,
  targets: Record<string, string>,
  expected: Record<string, 'open' | 'closed'>,
) {
  const env = {
    TARGETS: JSON.stringify(targets),
    EXPECT: JSON.stringify(expected),
    DNS_NAME: `paperclip.${paperclip}.svc.cluster.local`,
  };
  await core.createNamespacedPod({ namespace: agents, body: nodePod(name, agents, labels, ['-e', PROBE], env) });
  await waitFor(`pod ${name} to finish`, 180_000, async () => {
    const pod = await core.readNamespacedPod({ name, namespace: agents });
    return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' ? true : undefined;
  });
  const log = await core.readNamespacedPodLog({ name, namespace: agents });
  const last = log.trim().split('\n').at(-1) ?? '';
  if (!last.startsWith('{')) throw new Error(`pod ${name} printed no result:\n${log}`);
  return JSON.parse(last) as Record<string, string>;
}

/** The shipped policy, for this test's namespaces, with the model host configured as the guide says. */
function policyUnderTest(modelCidr: string): V1NetworkPolicy {
  const documents = loadAllYaml(readFileSync(POLICY_FILE, 'utf8')) as V1NetworkPolicy[];
  const policy = documents.find((document) => document.kind === 'NetworkPolicy');
  if (!policy?.spec) throw new Error(`no NetworkPolicy in ${POLICY_FILE.pathname}`);
  policy.metadata = { ...policy.metadata, namespace: agents };
  for (const rule of policy.spec.egress ?? [])
    for (const peer of rule.to ?? []) {
      const labels = peer.namespaceSelector?.matchLabels;
      if (labels?.['kubernetes.io/metadata.name'] === 'paperclip') labels['kubernetes.io/metadata.name'] = paperclip;
    }
  // What configuring the model API's addresses adds: one more allowed CIDR and port.
  policy.spec.egress = [
    ...(policy.spec.egress ?? []),
    { to: [{ ipBlock: { cidr: modelCidr } }], ports: [{ protocol: 'TCP', port: 8443 }] },
  ];
  return policy;
}

describe(`NetworkPolicy enforced (${cluster.kind}: ${cluster.server})`, () => {
  let agentResult: Record<string, string>;
  let controlResult: Record<string, string>;

  beforeAll(async () => {
    for (const name of [agents, paperclip]) await core.createNamespace({ body: restrictedNamespace(name) });
    // Paperclip stand-in: the labels and port the policy opens, plus a port it does not.
    await core.createNamespacedPod({
      namespace: paperclip,
      body: nodePod('paperclip', paperclip, { 'app.kubernetes.io/name': 'paperclip' }, ['-e', SERVER, '3100', '8081']),
    });
    await core.createNamespacedService({
      namespace: paperclip,
      body: {
        metadata: { name: 'paperclip' },
        spec: { selector: { 'app.kubernetes.io/name': 'paperclip' }, ports: [{ name: 'http', port: 3100 }] },
      },
    });
    // A model host, and another workload in the agents' namespace.
    await core.createNamespacedPod({
      namespace: agents,
      body: nodePod('model', agents, { app: 'model' }, ['-e', SERVER, '8443']),
    });
    await core.createNamespacedPod({
      namespace: agents,
      body: nodePod('other', agents, { app: 'other' }, ['-e', SERVER, '8080']),
    });
    const [paperclipIp, modelIp, otherIp] = await Promise.all([
      runningPodIp('paperclip', paperclip),
      runningPodIp('model', agents),
      runningPodIp('other', agents),
    ]);
    await networking.createNamespacedNetworkPolicy({ namespace: agents, body: policyUnderTest(`${modelIp}/32`) });
    const targets = {
      paperclip: `http://paperclip.${paperclip}.svc.cluster.local:3100/`,
      model: `http://${modelIp}:8443/`,
      apiServer: 'https://kubernetes.default.svc/livez',
      otherPod: `http://${otherIp}:8080/`,
      paperclipOtherPort: `http://${paperclipIp}:8081/`,
    };
    const allOpen = {
      paperclip: 'open',
      model: 'open',
      apiServer: 'open',
      otherPod: 'open',
      paperclipOtherPort: 'open',
    } as const;
    [agentResult, controlResult] = await Promise.all([
      probeFrom('agent', AGENT_LABELS, targets, {
        ...allOpen,
        apiServer: 'closed',
        otherPod: 'closed',
        paperclipOtherPort: 'closed',
      }),
      probeFrom('control', { app: 'control' }, targets, allOpen),
    ]);
    console.info(
      `[netpol] agent pod: ${JSON.stringify(agentResult)}; unlabelled pod: ${JSON.stringify(controlResult)}`,
    );
  });

  afterAll(async () => {
    for (const name of [agents, paperclip]) await core.deleteNamespace({ name }).catch(() => undefined);
  });

  it('the unlabelled control pod reaches every target (the network itself blocks nothing)', () => {
    expect(controlResult).toMatchObject({
      paperclip: 'open',
      model: 'open',
      apiServer: 'open',
      otherPod: 'open',
      paperclipOtherPort: 'open',
    });
    expect(controlResult['dns']).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it('an agent pod resolves names and reaches Paperclip and the configured model host', () => {
    expect(agentResult['dns']).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(agentResult['paperclip']).toBe('open');
    expect(agentResult['model']).toBe('open');
  });

  it('an agent pod cannot reach the API server, another pod, or Paperclip on a port the policy does not open', () => {
    for (const target of ['apiServer', 'otherPod', 'paperclipOtherPort'])
      expect(agentResult[target], target).not.toBe('open');
  });
});
