// Kinds petset lists but does not run (no controller here reconciles them; Ingress today): their schemas
// name the kind and leave spec and status open. Reads answer with empty lists, writes are
// refused (see KindDef.readOnly), so clients that enumerate the standard kinds — kubectl
// get all, apply --prune, cluster-info dump — work.
import { kindDefinition, type Definitions, type Schema } from '../schema.js';

const open = (description: string): Schema => ({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true });

function unserved(group: string, pkg: string, kind: string, description: string): Definitions {
  return {
    [`io.k8s.api.${pkg}.${kind}`]: kindDefinition({ group, version: 'v1', kind }, `${description} Not run by petset: listed as empty, writes refused.`, {
      spec: open(`The desired state of the ${kind}.`),
      status: open(`The observed state of the ${kind}.`),
    }),
  };
}

export const unservedDefinitions: Definitions = {
  ...unserved('networking.k8s.io', 'networking.v1', 'Ingress', 'HTTP routes from outside the cluster to Services.'),
};
