// certificates.k8s.io/v1: the CertificateSigningRequest a node agent posts to get its client
// certificate (upstream's TLS bootstrap). Field names, formats and list types follow
// upstream's published OpenAPI; descriptions are our own.
import { kindDefinition, s, type Definitions } from '../schema.js';

const CERTIFICATES = 'io.k8s.api.certificates.v1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

export const certificatesDefinitions: Definitions = {
  [`${CERTIFICATES}CertificateSigningRequest`]: kindDefinition(
    { group: 'certificates.k8s.io', version: 'v1', kind: 'CertificateSigningRequest' },
    'A request for a certificate from a signer, approved or denied, then signed by the signer. Cluster-scoped.',
    {
      spec: s.ref(`${CERTIFICATES}CertificateSigningRequestSpec`, 'The request: the PKCS #10 request, the signer and usages; who asked is filled in by the server. Fixed once created.', { default: {} }),
      status: s.ref(`${CERTIFICATES}CertificateSigningRequestStatus`, 'Approval (through the approval subresource) and the issued certificate (through status).', { default: {} }),
    },
    { required: ['spec'] },
  ),

  [`${CERTIFICATES}CertificateSigningRequestSpec`]: s.obj(
    {
      request: s.str('The PEM-encoded PKCS #10 CERTIFICATE REQUEST.', { format: 'byte' }),
      signerName: s.str('Which signer should sign it, e.g. kubernetes.io/kube-apiserver-client-kubelet.', { default: '' }),
      expirationSeconds: s.int32('The lifetime asked for; the signer may give less. At least 600.'),
      usages: s.list({ type: 'string', default: '' }, 'Key usages and extended key usages asked for, e.g. "digital signature", "client auth".', { 'x-kubernetes-list-type': 'atomic' }),
      username: s.str('Who created the request (set by the server).'),
      uid: s.str('The UID of who created the request (set by the server).'),
      groups: s.list({ type: 'string', default: '' }, 'The groups of who created the request (set by the server).', { 'x-kubernetes-list-type': 'atomic' }),
      extra: s.map({ type: 'array', items: { type: 'string', default: '' } }, 'The extra attributes of who created the request (set by the server), e.g. a ServiceAccount token\'s credential id.'),
    },
    'What a CertificateSigningRequest asks for.',
    { required: ['request', 'signerName'] },
  ),

  [`${CERTIFICATES}CertificateSigningRequestStatus`]: s.obj(
    {
      conditions: s.list(s.ref(`${CERTIFICATES}CertificateSigningRequestCondition`), 'Approved, Denied, Failed.', {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
      certificate: s.str('The issued PEM certificate, set by the signer once approved.', { format: 'byte' }),
    },
    'Where a CertificateSigningRequest stands.',
  ),

  [`${CERTIFICATES}CertificateSigningRequestCondition`]: s.obj(
    {
      type: s.str('Approved, Denied or Failed.', { default: '' }),
      status: s.str('True, False or Unknown.', { default: '' }),
      reason: s.str('A brief reason in CamelCase.'),
      message: s.str('A human-readable explanation.'),
      lastUpdateTime: s.ref(`${META}Time`, 'When the condition was last written.'),
      lastTransitionTime: s.ref(`${META}Time`, 'When the status last changed.'),
    },
    'One condition of a CertificateSigningRequest.',
    { required: ['type', 'status'] },
  ),
};
