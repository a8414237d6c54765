/**
 * An in-process stand-in for the gossip cluster, for unit tests of what is
 * built on the {@link ClusterPeer} contract (the Alertmanager's replicated
 * state, the pipeline's settle/wait/hold, the notifier's member list). It
 * keeps what matters to those layers faithful:
 *
 * - delivery is asynchronous (a macrotask later), never re-entrant;
 * - a joining peer exchanges full state with every reachable member in
 *   both directions (push/pull), and so do two sides of a healed partition;
 * - a partition drops broadcasts between its sides; each side sees the
 *   other's members as dead, and `inMinority` compares what a node sees
 *   with the last stable membership, as the contract says;
 * - data is copied on delivery, and a merge that throws is counted as a
 *   dropped message, as the real cluster does.
 *
 * @example
 * const bus = new ClusterBus();
 * const a = bus.peer("a"), b = bus.peer("b");
 * a.addState("sil", stateA); b.addState("sil", stateB);
 * await a.join(); await b.join();
 * bus.partition(["a"], ["b"]); bus.heal();
 */
import type { ClusterChannel, ClusterMember, ClusterPeer, ClusterState, ClusterStatus } from "../../src/cluster/index.ts";

function later(fn: () => void): void {
  setTimeout(fn, 0);
}

/** One in-process member; see the module comment. */
export class BusPeer implements ClusterPeer {
  readonly states = new Map<string, ClusterState>();
  readonly meta: Record<string, string> = {};
  joined = false;
  left = false;
  /** Set by the test to hold settle() open; settled peers report `ready`. */
  settled = false;
  private settleWaiters: (() => void)[] = [];
  private readonly listeners = new Set<() => void>();
  /** Messages whose merge threw. */
  dropped = 0;
  /** Errors of the dropped messages, newest last. */
  readonly dropErrors: string[] = [];

  constructor(readonly bus: ClusterBus, readonly name: string, readonly address: string) {}

  addState(key: string, state: ClusterState): ClusterChannel {
    if (this.states.has(key)) throw new Error(`state ${key} registered twice on ${this.name}`);
    this.states.set(key, state);
    return { broadcast: (data) => this.bus.broadcast(this, key, data) };
  }

  /** Joins: full-state exchange with every reachable member, then settles (unless the test holds it). */
  async join(opts: { settle?: boolean } = {}): Promise<void> {
    this.joined = true;
    this.left = false;
    await this.bus.pushPullWithAll(this);
    this.bus.membershipChanged();
    if (opts.settle ?? true) this.markSettled();
  }

  markSettled(): void {
    this.settled = true;
    this.bus.recordStable(this);
    for (const w of this.settleWaiters.splice(0)) w();
  }

  position(): number {
    const alive = this.members().filter((m) => m.state === "alive").map((m) => m.name).sort();
    return Math.max(0, alive.indexOf(this.name));
  }

  members(): ClusterMember[] {
    return this.bus.all()
      .filter((p) => p.joined || p === this)
      .map((p) => ({
        name: p.name, address: p.address, meta: { ...p.meta },
        state: p.left ? "left" as const : this.bus.reachable(this, p) ? "alive" as const : "dead" as const,
      }));
  }

  setMeta(key: string, value: string): void {
    this.meta[key] = value;
    this.bus.membershipChanged();
  }

  settle(signal?: AbortSignal): Promise<void> {
    if (this.settled) return Promise.resolve();
    return new Promise((resolve) => {
      this.settleWaiters.push(resolve);
      signal?.addEventListener("abort", () => resolve(), { once: true });
    });
  }

  status(): ClusterStatus {
    return this.settled ? "ready" : "settling";
  }

  inMinority(): boolean {
    const stable = this.bus.stableSize(this);
    const alive = this.members().filter((m) => m.state === "alive").length;
    return stable > 2 && alive * 2 < stable;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async leave(_timeoutMs: number): Promise<void> {
    this.left = true;
    this.joined = false;
    this.bus.membershipChanged();
  }

  /** @internal */
  notifyChange(): void {
    for (const fn of this.listeners) fn();
  }

  /** @internal Delivers a message to this peer's state, counting failures. */
  deliver(key: string, data: Uint8Array): void {
    const state = this.states.get(key);
    if (!state) return;
    try {
      state.merge(data.slice());
    } catch (e) {
      this.dropped++;
      this.dropErrors.push((e as Error).message);
    }
  }
}

/** The network connecting {@link BusPeer}s; see the module comment. */
export class ClusterBus {
  private readonly peers = new Map<string, BusPeer>();
  private readonly cut = new Set<string>();
  private readonly stable = new Map<string, number>();
  private inFlight = 0;
  /** Broadcasts delivered, and dropped by a partition. */
  delivered = 0;
  droppedByPartition = 0;

  /** Creates a member (not joined yet); its address is a made-up 127.0.0.1 port. */
  peer(name: string): BusPeer {
    const p = new BusPeer(this, name, `127.0.0.1:${9094 + this.peers.size}`);
    this.peers.set(name, p);
    return p;
  }

  /** Removes a member as a crash does: no leave message, its state is gone. */
  kill(name: string): void {
    const p = this.peers.get(name);
    if (!p) return;
    p.joined = false;
    this.peers.delete(name);
    this.membershipChanged();
  }

  all(): BusPeer[] {
    return [...this.peers.values()];
  }

  /** @internal */
  reachable(a: BusPeer, b: BusPeer): boolean {
    if (a === b) return true;
    return this.peers.get(b.name) === b && b.joined && !this.cut.has(pairKey(a.name, b.name));
  }

  /** Cuts every link between a member of `left` and one of `right`. */
  partition(left: string[], right: string[]): void {
    for (const a of left) for (const b of right) this.cut.add(pairKey(a, b));
    this.membershipChanged();
  }

  /** Restores every link, then the formerly separated members exchange full state. */
  async heal(): Promise<void> {
    const pairs = [...this.cut].map((k) => k.split("\u0000") as [string, string]);
    this.cut.clear();
    this.membershipChanged();
    for (const [a, b] of pairs) {
      const pa = this.peers.get(a);
      const pb = this.peers.get(b);
      if (pa && pb) await this.pushPull(pa, pb);
    }
  }

  /** @internal Records the membership size a settled peer sees as its last stable one. */
  recordStable(p: BusPeer): void {
    this.stable.set(p.name, p.members().filter((m) => m.state === "alive").length);
  }

  /** Declares the current view of every settled peer its last stable membership. */
  stabilize(): void {
    for (const p of this.peers.values()) if (p.settled) this.recordStable(p);
  }

  /** @internal */
  stableSize(p: BusPeer): number {
    return this.stable.get(p.name) ?? 0;
  }

  /** @internal Sends `data` to every other reachable member, a macrotask later. */
  broadcast(from: BusPeer, key: string, data: Uint8Array): void {
    const copy = data.slice();
    for (const to of this.peers.values()) {
      if (to === from || !to.joined) continue;
      if (!this.reachable(from, to)) {
        this.droppedByPartition++;
        continue;
      }
      this.inFlight++;
      later(() => {
        this.inFlight--;
        if (!this.reachable(from, to)) {
          this.droppedByPartition++;
          return;
        }
        this.delivered++;
        to.deliver(key, copy);
      });
    }
  }

  /** @internal */
  async pushPullWithAll(p: BusPeer): Promise<void> {
    for (const other of this.peers.values()) if (other !== p && this.reachable(p, other)) await this.pushPull(p, other);
  }

  /** Full-state exchange between two members, both directions, asynchronously. */
  async pushPull(a: BusPeer, b: BusPeer): Promise<void> {
    await new Promise<void>((resolve) => later(resolve));
    if (!this.reachable(a, b)) return;
    const fromA = [...a.states].map(([k, s]) => [k, s.marshal()] as const);
    const fromB = [...b.states].map(([k, s]) => [k, s.marshal()] as const);
    for (const [k, data] of fromA) b.deliver(k, data);
    for (const [k, data] of fromB) a.deliver(k, data);
  }

  /** Resolves once every broadcast sent so far has been delivered (or dropped). */
  async quiesce(maxRounds = 1000): Promise<void> {
    for (let i = 0; i < maxRounds && this.inFlight > 0; i++) await new Promise<void>((resolve) => later(resolve));
    if (this.inFlight > 0) throw new Error(`cluster bus still has ${this.inFlight} messages in flight after ${maxRounds} rounds`);
  }

  /** @internal */
  membershipChanged(): void {
    for (const p of this.peers.values()) p.notifyChange();
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}
