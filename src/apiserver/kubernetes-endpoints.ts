// The `kubernetes` service's endpoints: where this API server listens, written at start as
// upstream's endpoint reconciler does, so a pod (or the service proxy) reaches the API through
// the service like any other.
import { isApiError } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import { SERVICE_NAME_LABEL } from '../api/kinds/endpointslice.js';
import { resources, type Client } from '../client/client.js';

export async function reconcileKubernetesEndpoints(client: Client, address: { ip: string; port: number }): Promise<void> {
  const labels = { 'endpointslice.kubernetes.io/skip-mirror': 'true' };
  const endpoints: KubeObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels },
    subsets: [{ addresses: [{ ip: address.ip }], ports: [{ name: 'https', port: address.port, protocol: 'TCP' }] }],
  };
  const slice: KubeObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { [SERVICE_NAME_LABEL]: 'kubernetes' } },
    addressType: address.ip.includes(':') ? 'IPv6' : 'IPv4',
    endpoints: [{ addresses: [address.ip], conditions: { ready: true } }],
    ports: [{ name: 'https', port: address.port, protocol: 'TCP' }],
  };
  await upsert(client.resource<KubeObject>(resources.endpoints, 'default'), endpoints, (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata.labels, ...labels } }, subsets: endpoints.subsets }));
  await upsert(client.resource<KubeObject>(resources.endpointSlices, 'default'), slice, (cur) => ({ ...cur, addressType: slice.addressType, endpoints: slice.endpoints, ports: slice.ports }));
}

async function upsert(rc: ReturnType<Client['resource']>, obj: KubeObject, update: (cur: KubeObject) => KubeObject): Promise<void> {
  try {
    await rc.create(obj);
  } catch (e) {
    if (!isApiError(e, 'AlreadyExists')) throw e;
    const cur = await rc.get(obj.metadata.name!);
    await rc.update(update(cur));
  }
}
