// networking.k8s.io/v1 IPAddress: one object per allocated service cluster IP, named by the
// address, so that several API servers allocating at once never hand out the same one
// (creating the object is the claim). Field names follow upstream's OpenAPI.
import { kindDefinition, s, type Definitions } from '../schema.js';

const NETWORKING = 'io.k8s.api.networking.v1.';

export const ipAddressDefinitions: Definitions = {
  [`${NETWORKING}IPAddress`]: kindDefinition(
    { group: 'networking.k8s.io', version: 'v1', kind: 'IPAddress' },
    'An IP address in use, named by the address in canonical form: a service cluster IP and the Service holding it. Cluster-scoped.',
    { spec: s.ref(`${NETWORKING}IPAddressSpec`, 'Who holds the address.', { default: {} }) },
  ),
  [`${NETWORKING}IPAddressSpec`]: s.obj(
    { parentRef: s.ref(`${NETWORKING}ParentReference`, 'The object holding the address. Required; fixed once created.') },
    'Who holds an IP address.',
    { required: ['parentRef'] },
  ),
  [`${NETWORKING}ParentReference`]: s.obj(
    {
      group: s.str('The group of the holder ("" for core).'),
      resource: s.str('The resource of the holder, e.g. services.'),
      namespace: s.str('The namespace of the holder, when namespaced.'),
      name: s.str('The name of the holder.'),
    },
    'A reference to the object holding an IP address.',
    { required: ['resource', 'name'] },
  ),
};
