// Matching nodes against NodeSelectorTerms (pod node affinity, PV node affinity) and
// against StorageClass allowedTopologies.
import type { KubeObject } from '../api/object.js';
import { LabelSelector, type LabelOperator, type LabelRequirement } from '../api/selectors.js';

const OPERATORS: Record<string, LabelOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!', Gt: 'gt', Lt: 'lt' };

interface Expression {
  key: string;
  operator: string;
  values?: string[];
}

function selectorOf(exprs: Expression[]): LabelSelector | undefined {
  const reqs: LabelRequirement[] = [];
  for (const e of exprs) {
    const operator = OPERATORS[e.operator];
    if (!operator) return undefined;
    reqs.push({ key: e.key, operator, values: e.values ?? [] });
  }
  return LabelSelector.of(reqs);
}

/** One term: its label expressions and field expressions (only metadata.name) all hold. A term with none matches nothing. */
function termMatches(node: KubeObject, term: any): boolean {
  const labelExprs: Expression[] = Array.isArray(term?.matchExpressions) ? term.matchExpressions : [];
  const fieldExprs: Expression[] = Array.isArray(term?.matchFields) ? term.matchFields : [];
  if (!labelExprs.length && !fieldExprs.length) return false;
  const labels = selectorOf(labelExprs);
  if (!labels?.matches(node.metadata.labels)) return false;
  if (fieldExprs.some((e) => e.key !== 'metadata.name')) return false;
  const fields = selectorOf(fieldExprs);
  return !!fields?.matches({ 'metadata.name': node.metadata.name ?? '' });
}

/** NodeSelector.nodeSelectorTerms are ORed. */
export function nodeMatchesSelectorTerms(node: KubeObject, terms: unknown): boolean {
  return Array.isArray(terms) && terms.some((t) => termMatches(node, t));
}

/** The pod's nodeSelector labels and its required node affinity. */
export function nodeMatchesPodSelectors(pod: KubeObject, node: KubeObject): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries<string>(pod.spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return !required || nodeMatchesSelectorTerms(node, required.nodeSelectorTerms);
}

/** Sum of the weights of the preferred node affinity terms the node matches. */
export function preferredNodeAffinityWeight(pod: KubeObject, node: KubeObject): number {
  const preferred = pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
  if (!Array.isArray(preferred)) return 0;
  return preferred.reduce((sum: number, p: any) => sum + (p?.weight && termMatches(node, p.preference) ? p.weight : 0), 0);
}

/** StorageClass.allowedTopologies: terms ORed, each term's label expressions ANDed; none means anywhere. */
export function nodeInTopologies(node: KubeObject, topologies: unknown): boolean {
  if (!Array.isArray(topologies) || !topologies.length) return true;
  const labels = node.metadata.labels ?? {};
  return topologies.some((term: any) =>
    (Array.isArray(term?.matchLabelExpressions) ? term.matchLabelExpressions : []).every(
      (e: any) => Object.hasOwn(labels, e.key) && (e.values ?? []).includes(labels[e.key]),
    ),
  );
}
