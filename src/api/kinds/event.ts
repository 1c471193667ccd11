// core/v1 Event: what controllers and kubelets report about objects. Old-style events (no
// eventTime) are checked loosely, as upstream does for compatibility.
import { humanAge, type KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, isDNS1123Subdomain, type FieldError } from '../validation.js';
import { column, validateQualifiedName } from './support.js';

const FIELD_LIMIT = 128;
const MESSAGE_LIMIT = 1024;

function validateEvent(ev: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const namespace = ev.metadata.namespace ?? '';
  const involvedNamespace = ev.involvedObject?.namespace ?? '';
  const mismatch = () => field.invalid('involvedObject.namespace', involvedNamespace, 'does not match event.namespace');
  if (!ev.eventTime) {
    if (!involvedNamespace) {
      if (namespace !== '' && namespace !== 'default') errs.push(mismatch());
    } else if (namespace !== involvedNamespace) {
      errs.push(mismatch());
    }
  } else {
    if (!involvedNamespace && namespace !== 'default' && namespace !== 'kube-system') errs.push(mismatch());
    const reporter = ev.reportingComponent ?? '';
    if (!reporter) errs.push(field.required('reportingComponent'));
    errs.push(...validateQualifiedName(reporter, 'reportingComponent'));
    const limited = (path: string, value: unknown, limit: number) => {
      if (typeof value === 'string' && value.length > limit) errs.push(field.invalid(path, '', `can have at most ${limit} characters`));
    };
    if (!ev.reportingInstance) errs.push(field.required('reportingInstance'));
    limited('reportingInstance', ev.reportingInstance, FIELD_LIMIT);
    if (!ev.action) errs.push(field.required('action'));
    limited('action', ev.action, FIELD_LIMIT);
    if (!ev.reason) errs.push(field.required('reason'));
    limited('reason', ev.reason, FIELD_LIMIT);
    limited('message', ev.message, MESSAGE_LIMIT);
  }
  for (const m of isDNS1123Subdomain(namespace)) errs.push(field.invalid('namespace', namespace, m));
  return errs;
}

/** printers' printEvent, always in its wide form (the client hides the wide columns). */
function eventCells(ev: KubeObject, now: number): unknown[] {
  const firstSeen = humanAge(ev.firstTimestamp || ev.eventTime, now);
  let lastSeen = ev.lastTimestamp ? humanAge(ev.lastTimestamp, now) : firstSeen;
  let count: number = ev.count ?? 0;
  if (ev.series) {
    lastSeen = humanAge(ev.series.lastObservedTime, now);
    count = ev.series.count ?? 0;
  } else if (count === 0) {
    count = 1; // singletons from the newer API carry no count
  }
  const involved = ev.involvedObject ?? {};
  const kind = String(involved.kind ?? '').toLowerCase();
  const target = involved.name ? `${kind}/${involved.name}` : kind;
  const component = ev.source?.component || ev.reportingComponent || '';
  const host = ev.source?.host || ev.reportingInstance || '';
  const source = host ? `${component}, ${host}` : component;
  return [
    lastSeen,
    ev.type ?? '',
    ev.reason ?? '',
    target,
    involved.fieldPath ?? '',
    source,
    String(ev.message ?? '').trim(),
    firstSeen,
    count,
    ev.metadata.name,
  ];
}

export const eventKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  definition: 'io.k8s.api.core.v1.Event',

  validate: validateEvent,

  fields: {
    'involvedObject.kind': (ev) => ev.involvedObject?.kind ?? '',
    'involvedObject.namespace': (ev) => ev.involvedObject?.namespace ?? '',
    'involvedObject.name': (ev) => ev.involvedObject?.name ?? '',
    'involvedObject.uid': (ev) => ev.involvedObject?.uid ?? '',
    'involvedObject.apiVersion': (ev) => ev.involvedObject?.apiVersion ?? '',
    'involvedObject.resourceVersion': (ev) => ev.involvedObject?.resourceVersion ?? '',
    'involvedObject.fieldPath': (ev) => ev.involvedObject?.fieldPath ?? '',
    reason: (ev) => ev.reason ?? '',
    reportingComponent: (ev) => ev.reportingComponent ?? '',
    source: (ev) => ev.source?.component || ev.reportingComponent || '',
    type: (ev) => ev.type ?? '',
  },

  table: {
    columns: [
      column('Last Seen', 'Time since the event last happened.'),
      column('Type', 'Normal or Warning.'),
      column('Reason', 'Why it happened, in one word.'),
      column('Object', 'The object the event is about.'),
      column('Subobject', 'The part of the object, such as a container.', { priority: 1 }),
      column('Source', 'Who reported the event.', { priority: 1 }),
      column('Message', 'What happened.'),
      column('First Seen', 'Time since the event first happened.', { priority: 1 }),
      column('Count', 'How many times it happened.', { priority: 1 }),
      column('Name', 'Name of the event object.', { priority: 1, format: 'name' }),
    ],
    cells: eventCells,
  },
};
