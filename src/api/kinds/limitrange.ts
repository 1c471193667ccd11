// core/v1 LimitRange: per-container, per-pod and per-claim bounds in a namespace. The
// LimitRanger admission (src/apiserver/quota-admission.ts) fills containers' default requests
// and limits from it and refuses pods and claims outside its bounds.
import type { KubeObject } from '../object.js';
import { compareQuantities, tryParseQuantity } from '../quantity.js';
import type { KindDef } from '../registry.js';
import { field, type FieldError } from '../validation.js';
import { checkQuantity, column, list, nameColumn, record, type Obj } from './support.js';

const LIMIT_TYPES = ['Container', 'PersistentVolumeClaim', 'Pod'];

export const limitRangeKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'LimitRange',
  plural: 'limitranges',
  singular: 'limitrange',
  namespaced: true,
  shortNames: ['limits'],
  definition: 'io.k8s.api.core.v1.LimitRange',

  // SetDefaults_LimitRangeItem: a container item's default limit falls back to max, its default
  // request to the default limit, then to min
  defaults(lr) {
    for (const item of list<Obj>(lr.spec?.limits)) {
      if (item.type !== 'Container') continue;
      const def = (item.default ??= {});
      const req = (item.defaultRequest ??= {});
      for (const [k, v] of Object.entries(record(item.max))) def[k] ??= v;
      for (const [k, v] of Object.entries(def)) req[k] ??= v;
      for (const [k, v] of Object.entries(record(item.min))) req[k] ??= v;
    }
  },

  validate(lr: KubeObject) {
    const errs: FieldError[] = [];
    list<Obj>(lr.spec?.limits).forEach((item, i) => {
      const p = `spec.limits[${i}]`;
      if (!LIMIT_TYPES.includes(item.type)) errs.push(field.notSupported(`${p}.type`, item.type ?? '', LIMIT_TYPES));
      for (const k of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) {
        for (const [res, v] of Object.entries(record(item[k]))) checkQuantity(v, `${p}.${k}[${res}]`, errs);
      }
      if (item.type === 'Pod' && (item.default || item.defaultRequest)) {
        if (item.default) errs.push(field.forbidden(`${p}.default`, 'may not be specified when `type` is \'Pod\''));
        if (item.defaultRequest) errs.push(field.forbidden(`${p}.defaultRequest`, 'may not be specified when `type` is \'Pod\''));
      }
      // min <= defaultRequest <= default <= max, each where both are set
      const q = (k: string, res: string) => tryParseQuantity(record(item[k])[res]);
      const resources = new Set(['max', 'min', 'default', 'defaultRequest'].flatMap((k) => Object.keys(record(item[k]))));
      for (const res of resources) {
        const [min, max, def, defReq] = [q('min', res), q('max', res), q('default', res), q('defaultRequest', res)];
        if (min && max && compareQuantities(min, max) > 0) errs.push(field.invalid(`${p}.min[${res}]`, record(item.min)[res], `min value ${record(item.min)[res]} is greater than max value ${record(item.max)[res]}`));
        if (defReq && min && compareQuantities(min, defReq) > 0) errs.push(field.invalid(`${p}.defaultRequest[${res}]`, record(item.defaultRequest)[res], `min value ${record(item.min)[res]} is greater than default request value ${record(item.defaultRequest)[res]}`));
        if (defReq && max && compareQuantities(defReq, max) > 0) errs.push(field.invalid(`${p}.defaultRequest[${res}]`, record(item.defaultRequest)[res], `default request value ${record(item.defaultRequest)[res]} is greater than max value ${record(item.max)[res]}`));
        if (defReq && def && compareQuantities(defReq, def) > 0) errs.push(field.invalid(`${p}.defaultRequest[${res}]`, record(item.defaultRequest)[res], `default request value ${record(item.defaultRequest)[res]} is greater than default limit value ${record(item.default)[res]}`));
        if (def && min && compareQuantities(min, def) > 0) errs.push(field.invalid(`${p}.default[${res}]`, record(item.default)[res], `min value ${record(item.min)[res]} is greater than default value ${record(item.default)[res]}`));
        if (def && max && compareQuantities(def, max) > 0) errs.push(field.invalid(`${p}.default[${res}]`, record(item.default)[res], `default value ${record(item.default)[res]} is greater than max value ${record(item.max)[res]}`));
      }
    });
    return errs;
  },

  table: {
    columns: [nameColumn, column('Created At', 'When the LimitRange was created.', { type: 'string', format: 'date' })],
    cells: (lr) => [lr.metadata.name, lr.metadata.creationTimestamp ?? ''],
  },
};
