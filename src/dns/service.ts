// The conventional kube-system/kube-dns Service in front of petset's DNS server, with its
// Endpoints, so pods' resolv.conf can name the cluster DNS by its cluster IP (and tools that
// look for kube-dns find it), as kubeadm's CoreDNS addon sets it up.
import { isApiError } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import { SERVICE_NAME_LABEL } from '../api/kinds/endpointslice.js';
import { resources, type Client } from '../client/client.js';

export async function ensureKubeDnsService(client: Client, clusterIP: string, server: { host: string; port: number }): Promise<KubeObject> {
  const labels = { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' };
  const services = client.resource<KubeObject>(resources.services, 'kube-system');
  // looked up first: a create of the existing service would be refused for its own cluster IP
  let svc = await services.get('kube-dns').catch((e: unknown) => {
    if (isApiError(e, 'NotFound')) return undefined;
    throw e;
  });
  svc ??= await services.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kube-dns', namespace: 'kube-system', labels },
    spec: {
      clusterIP,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      ],
    },
  });
  // The endpoints follow the server's address, which may change at every start.
  const endpoints = client.resource<KubeObject>(resources.endpoints, 'kube-system');
  const subsets = [
    {
      addresses: [{ ip: server.host }],
      ports: [
        { name: 'dns', port: server.port, protocol: 'UDP' },
        { name: 'dns-tcp', port: server.port, protocol: 'TCP' },
      ],
    },
  ];
  try {
    await endpoints.create({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kube-dns', namespace: 'kube-system', labels }, subsets });
  } catch (e) {
    if (!isApiError(e, 'AlreadyExists')) throw e;
    const cur = await endpoints.get('kube-dns');
    await endpoints.update({ ...cur, subsets });
  }
  // ...and mirrored into an EndpointSlice, as upstream's EndpointSliceMirroring controller does
  // for selector-less services: what kube-proxies on other machines read
  const slices = client.resource<KubeObject>(resources.endpointSlices, 'kube-system');
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      labels: { ...labels, [SERVICE_NAME_LABEL]: 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' },
    },
    addressType: server.host.includes(':') ? 'IPv6' : 'IPv4',
    endpoints: [{ addresses: [server.host], conditions: { ready: true } }],
    ports: [
      { name: 'dns', port: server.port, protocol: 'UDP' },
      { name: 'dns-tcp', port: server.port, protocol: 'TCP' },
    ],
  };
  try {
    await slices.create(slice);
  } catch (e) {
    if (!isApiError(e, 'AlreadyExists')) throw e;
    const cur = await slices.get('kube-dns');
    await slices.update({ ...cur, metadata: { ...cur.metadata, labels: slice.metadata.labels }, addressType: slice.addressType, endpoints: slice.endpoints, ports: slice.ports });
  }
  return svc;
}
