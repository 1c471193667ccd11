// Performs a plan: the only place where the StatefulSet controller's decisions touch the API.
// Failure rules follow upstream's sync: a failed claim or revision write ends the pass; a
// failed pod write ends the pod work but the status is still written and history truncated.
import { ApiError } from '../../api/errors.js';
import type { Action } from './actions.js';
import type { Plan } from './decide.js';
import { renderEvent } from './events.js';

export type ApiAction = Extract<Action, { resource: string }>;

export interface Effects {
  /** performs one API call; throws (ideally an ApiError) on failure */
  call(action: ApiAction): Promise<void>;
  /** records an event on the StatefulSet */
  record(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** Runs one action; answers the error text if it counts as a failure. */
async function runAction(action: Action, effects: Effects): Promise<string | undefined> {
  let failure: { reason: string; message: string } | undefined;
  if (action.verb === 'fail') failure = { reason: '', message: action.error };
  else if (action.verb !== 'record') {
    try {
      await effects.call(action);
    } catch (e) {
      failure = { reason: e instanceof ApiError ? e.reason : '', message: e instanceof Error ? e.message : String(e) };
    }
  }
  if (!failure) {
    for (const e of action.onSuccess ?? []) effects.record(e.type, e.reason, renderEvent(e));
    return undefined;
  }
  for (const e of action.onFailure ?? []) {
    if (!e.unlessReason?.includes(failure.reason)) effects.record(e.type, e.reason, renderEvent(e, failure.message));
  }
  return action.tolerate?.includes(failure.reason) ? undefined : failure.message;
}

async function runUnit(unit: Action[], effects: Effects): Promise<string | undefined> {
  for (const action of unit) {
    const error = await runAction(action, effects);
    if (error !== undefined) return error;
  }
  return undefined;
}

/** Performs the plan; answers the errors met (empty when the pass fully succeeded). */
export async function perform(plan: Plan, effects: Effects): Promise<string[]> {
  const errors: string[] = [];
  let podsFailed = false;
  for (const planned of plan.steps) {
    const step = planned.name === 'status' && podsFailed && plan.statusIfPodsFail ? plan.statusIfPodsFail : planned;
    let failed = false;
    for (const batch of step.batches) {
      const results = await Promise.all(batch.map((unit) => runUnit(unit, effects)));
      const batchErrors = results.filter((e): e is string => e !== undefined);
      errors.push(...batchErrors);
      if (batchErrors.length) {
        failed = true;
        break;
      }
    }
    if (failed && step.onFailure === 'abort') break;
    if (failed && step.name === 'pods') podsFailed = true;
  }
  if (plan.error) errors.push(plan.error.message);
  return errors;
}
