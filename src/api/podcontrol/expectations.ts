// ControllerExpectations: after creating or deleting pods a controller waits until its
// informer has seen them before it counts pods again, or it would create twice. Expectations
// lapse after five minutes (ExpectationsTimeout) so a lost event cannot wedge an owner.
const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

interface Expectation {
  adds: number;
  deletes: Set<string>;
  at: number;
}

export class Expectations {
  private readonly byKey = new Map<string, Expectation>();

  constructor(private readonly now: () => number = Date.now) {}

  /** True when the owner's cache can be trusted: nothing pending, or the wait lapsed. */
  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    if ((e.adds <= 0 && e.deletes.size === 0) || this.now() - e.at > EXPECTATIONS_TIMEOUT_MS) {
      this.byKey.delete(key);
      return true;
    }
    return false;
  }

  expectCreations(key: string, count: number): void {
    const e = this.entry(key);
    e.adds += count;
  }

  expectDeletions(key: string, podKeys: string[]): void {
    const e = this.entry(key);
    for (const k of podKeys) e.deletes.add(k);
  }

  creationObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e && e.adds > 0) e.adds--;
  }

  deletionObserved(key: string, podKey: string): void {
    this.byKey.get(key)?.deletes.delete(podKey);
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }

  private entry(key: string): Expectation {
    let e = this.byKey.get(key);
    if (!e) this.byKey.set(key, (e = { adds: 0, deletes: new Set(), at: this.now() }));
    e.at = this.now();
    return e;
  }
}
