// A Service's backends from its EndpointSlices, in the Endpoints shape the proxy's rules read:
// what a kube-proxy on a node reads (a node's credential may watch EndpointSlices, not
// Endpoints). One subset per slice, with the slice's ports and its ready addresses.
import type { KubeObject } from '../api/object.js';

/** The Endpoints-shaped view of one service's slices (pure; undefined when it has none). */
export function endpointsFromSlices(slices: Iterable<KubeObject>): KubeObject | undefined {
  const subsets: Array<Record<string, unknown>> = [];
  let any = false;
  for (const s of slices) {
    any = true;
    if (s.addressType !== undefined && s.addressType !== 'IPv4' && s.addressType !== 'IPv6') continue;
    const ports = (Array.isArray(s.ports) ? s.ports : []).map((p: Record<string, unknown>) => ({ name: p?.name ?? '', port: p?.port, protocol: p?.protocol ?? 'TCP' }));
    // ready unset counts as ready (the API's meaning of a missing condition)
    const addresses = (Array.isArray(s.endpoints) ? s.endpoints : [])
      .filter((e: Record<string, any>) => e?.conditions?.ready !== false)
      .flatMap((e: Record<string, any>) => (Array.isArray(e.addresses) ? e.addresses.slice(0, 1) : []).map((ip: string) => ({ ip })));
    subsets.push({ addresses, ports });
  }
  return any ? { apiVersion: 'v1', kind: 'Endpoints', metadata: {}, subsets } : undefined;
}
