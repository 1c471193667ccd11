// certificates.k8s.io/v1 CertificateSigningRequest: how a node agent that joins with a
// bootstrap token gets its own client certificate. The spec is fixed once created and says
// who asked (filled in by the server's admission, never by the client); Approved/Denied
// change only through the approval subresource, the certificate only through status.
import { humanDuration, type KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, type FieldError } from '../validation.js';
import { age, ageColumn, column, isSet, list, nameColumn, record } from './support.js';

export const KNOWN_USAGES = [
  'any',
  'cert sign',
  'client auth',
  'code signing',
  'content commitment',
  'crl sign',
  'data encipherment',
  'decipher only',
  'digital signature',
  'email protection',
  'encipher only',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'key agreement',
  'key encipherment',
  'microsoft sgc',
  'netscape sgc',
  'ocsp signing',
  's/mime',
  'server auth',
  'signing',
  'timestamping',
];
const APPROVAL_TYPES = ['Approved', 'Denied'];
const CONDITION_TYPES = ['Approved', 'Denied', 'Failed'];

export const certificateSigningRequestKind: KindDef = {
  group: 'certificates.k8s.io',
  version: 'v1',
  kind: 'CertificateSigningRequest',
  plural: 'certificatesigningrequests',
  singular: 'certificatesigningrequest',
  namespaced: false,
  shortNames: ['csr'],
  definition: 'io.k8s.api.certificates.v1.CertificateSigningRequest',
  subresources: { status: true },
  returnDeletedObject: false,

  prepareForCreate(csr) {
    // a request is born pending: whatever status the client sent is dropped
    delete csr.status;
  },

  prepareForUpdate(csr, old) {
    csr.spec = old.spec;
  },

  prepareForStatusUpdate(csr, old, subresource) {
    // status writes the certificate and Failed; approval writes Approved/Denied; neither touches the other's
    csr.spec = old.spec;
    const fromNew = list<KubeObject>(csr.status?.conditions);
    const fromOld = list<KubeObject>(old.status?.conditions);
    const approvalSide = (c: KubeObject) => APPROVAL_TYPES.includes(String(c.type));
    const conditions =
      subresource === 'approval'
        ? [...fromOld.filter((c) => !approvalSide(c)), ...fromNew.filter(approvalSide)]
        : [...fromOld.filter(approvalSide), ...fromNew.filter((c) => !approvalSide(c))];
    csr.status = { ...record(csr.status) };
    if (subresource === 'approval') {
      if (old.status?.certificate) csr.status.certificate = old.status.certificate;
      else delete csr.status.certificate;
    }
    if (conditions.length) csr.status.conditions = conditions;
    else delete csr.status.conditions;
    if (!Object.keys(csr.status).length) delete csr.status;
  },

  validate(csr) {
    const spec = record(csr.spec);
    const errs: FieldError[] = [];
    if (!isSet(spec.request) || spec.request === '') errs.push(field.required('spec.request'));
    else {
      const text = Buffer.from(String(spec.request), 'base64').toString('latin1');
      if (!/-----BEGIN CERTIFICATE REQUEST-----[\s\S]+-----END CERTIFICATE REQUEST-----/.test(text)) {
        errs.push(field.invalid('spec.request', spec.request, 'PEM block type must be CERTIFICATE REQUEST'));
      }
    }
    if (!spec.signerName) errs.push(field.required('spec.signerName'));
    else errs.push(...validateSignerName(String(spec.signerName)));
    const usages = list<string>(spec.usages);
    if (!usages.length) errs.push(field.required('spec.usages'));
    usages.forEach((u, i) => {
      if (!KNOWN_USAGES.includes(u)) errs.push(field.notSupported(`spec.usages[${i}]`, u, KNOWN_USAGES));
    });
    if (isSet(spec.expirationSeconds) && !(spec.expirationSeconds >= 600)) {
      errs.push(field.invalid('spec.expirationSeconds', spec.expirationSeconds, 'may not specify a duration less than 600 seconds (10 minutes)'));
    }
    errs.push(...validateStatus(csr));
    return errs;
  },

  validateStatusUpdate(csr, old) {
    const errs = validateStatus(csr);
    const before = old.status?.certificate;
    if (before && csr.status?.certificate !== before) errs.push(field.forbidden('status.certificate', 'updates may not modify existing certificate content'));
    return errs;
  },

  table: {
    columns: [
      nameColumn,
      ageColumn,
      column('SignerName', 'The signer the request is for.'),
      column('Requestor', 'Who created the request.'),
      column('RequestedDuration', 'The certificate lifetime asked for.'),
      column('Condition', 'Approved, Denied, Failed, Issued or Pending.'),
    ],
    cells: (csr, now) => [
      csr.metadata.name,
      age(csr, now),
      csr.spec?.signerName ?? '',
      csr.spec?.username ?? '',
      isSet(csr.spec?.expirationSeconds) ? humanDuration(Number(csr.spec.expirationSeconds)) : '<none>',
      conditionText(csr),
    ],
  },
};

/** kubectl's CONDITION column: the condition types, Issued once a certificate is there, Pending before anything. */
export function conditionText(csr: KubeObject): string {
  const types = list<KubeObject>(csr.status?.conditions)
    .filter((c) => c.status !== 'False')
    .map((c) => String(c.type));
  if (csr.status?.certificate) types.push('Issued');
  return types.length ? types.join(',') : 'Pending';
}

/** upstream: a signer name is "<domain>/<path>", the domain a DNS subdomain. */
function validateSignerName(name: string): FieldError[] {
  const path = 'spec.signerName';
  const slash = name.indexOf('/');
  if (slash <= 0) return [field.invalid(path, name, 'must be a fully qualified domain and path of the form \'example.com/signer-name\'')];
  const domain = name.slice(0, slash);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/.test(domain)) {
    return [field.invalid(path, name, 'must be a fully qualified domain and path of the form \'example.com/signer-name\'')];
  }
  return [];
}

function validateStatus(csr: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const conditions = list<KubeObject>(csr.status?.conditions);
  const seen = new Set<string>();
  conditions.forEach((c, i) => {
    const p = `status.conditions[${i}]`;
    if (!c.type) errs.push(field.required(`${p}.type`));
    else if (seen.has(String(c.type)) && CONDITION_TYPES.includes(String(c.type))) errs.push(field.duplicate(`${p}.type`, c.type));
    seen.add(String(c.type));
    if (!['True', 'False', 'Unknown'].includes(String(c.status))) errs.push(field.notSupported(`${p}.status`, c.status ?? '', ['False', 'True', 'Unknown']));
  });
  const approved = conditions.some((c) => c.type === 'Approved' && c.status === 'True');
  const denied = conditions.some((c) => c.type === 'Denied' && c.status === 'True');
  if (approved && denied) errs.push(field.invalid('status.conditions', conditions.map((c) => c.type), 'Approved and Denied conditions are mutually exclusive'));
  if (csr.status?.certificate) {
    if (!approved) errs.push(field.invalid('status.certificate', '<certificate data>', 'certificate issued for a request that is not approved'));
    const text = Buffer.from(String(csr.status.certificate), 'base64').toString('latin1');
    if (!/-----BEGIN CERTIFICATE-----/.test(text)) errs.push(field.invalid('status.certificate', '<certificate data>', 'must contain at least one CERTIFICATE PEM block'));
  }
  return errs;
}
