/**
 * SWIM membership (the job hashicorp/memberlist does for Alertmanager),
 * over UDP for probes and gossip and TCP for full-state push/pull.
 *
 * - Probing: every probe interval the next member in a shuffled round is
 *   pinged; without an ack within the probe timeout, `indirectChecks` other
 *   members are asked to ping it (preq); without any ack by the end of the
 *   interval it becomes suspect.
 * - Suspicion: a suspect becomes dead after a timeout that scales with the
 *   cluster size, as memberlist's: min = suspicionMult × max(1, log10(n)) ×
 *   probe interval, max = suspicionMaxTimeoutMult × min, shrinking from max
 *   towards min as independent suspicions of the same member arrive
 *   (log-scaled over suspicionMult − 2 confirmations).
 * - Refutation: a member that hears it is suspect or dead (with an
 *   incarnation at least its own) raises its incarnation and gossips alive;
 *   older incarnations are ignored everywhere.
 * - Leaving: a member that leaves gossips `dead` about itself (from itself),
 *   which everyone records as `left`.
 * - Gossip: every gossip interval, up to `gossipNodes` random members (alive
 *   or suspect, and dead ones for gossipToTheDead) get one UDP packet of
 *   queued broadcasts — membership changes first, then the user's — each
 *   sent at most retransmitMult × ceil(log10(n + 1)) times. Pings, acks and
 *   indirect probes carry broadcasts too when there is room.
 * - Push/pull: on join and every push/pull interval with one random member,
 *   both sides exchange every member record and the delegate's states over
 *   TCP, then merge what they received.
 * - Health ("awareness"): a failed probe raises the score (max 7), a
 *   successful one lowers it; probe interval and timeout are scaled by
 *   score + 1, as memberlist does under load.
 */
import type { udp } from "bun";
import type { Logger } from "../log/index.ts";
import { requestStream, listenStream } from "./stream.ts";
import {
  buildPacket, buildStreamFrame, decodeMessage, DropError, encodeMessage, encodePushPull, envelopeOverhead, joinHostPort, MAX_STREAM_FRAME,
  MAX_UDP_PACKET, messageOverhead, openPacket, openStreamPacket, splitHostPort, type DropReason, type MemberWireState, type Message, type NodeRecord,
} from "./wire.ts";

export interface MemberlistConfig {
  name: string;
  bindHost: string;
  /** 0 picks a free port (the same for UDP and TCP). */
  bindPort: number;
  /** Host to advertise; the bind host when empty (which must then not be a wildcard). */
  advertiseHost: string;
  /** Port to advertise; the bound port when 0. */
  advertisePort: number;
  label: string;
  key: Uint8Array | undefined;
  meta: Record<string, string>;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  gossipIntervalMs: number;
  pushPullIntervalMs: number;
  tcpTimeoutMs: number;
  retransmitMult: number;
  suspicionMult: number;
  suspicionMaxTimeoutMult: number;
  indirectChecks: number;
  gossipNodes: number;
  gossipToTheDeadMs: number;
}

/** Defaults as memberlist's DefaultLANConfig. */
export const MEMBERLIST_DEFAULTS = {
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  indirectChecks: 3,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  retransmitMult: 4,
} as const;

const AWARENESS_MAX = 8;

/** A member as the engine tracks it. */
export interface MemberNode {
  name: string;
  addr: string;
  inc: number;
  state: MemberWireState;
  meta: Record<string, string>;
  /** When the state last changed (Date.now()). */
  stateChange: number;
}

/** What the engine calls back into (Alertmanager's delegate and event hooks). */
export interface MemberlistDelegate {
  /** The states to send in a push/pull. */
  localState(join: boolean): Map<string, Uint8Array>;
  /** States received in a push/pull. */
  mergeRemoteState(states: Map<string, Uint8Array>, join: boolean): void;
  /** A user broadcast received (over UDP gossip, or TCP when oversized). */
  notifyUser(key: string, data: Uint8Array): void;
  /** Queued user broadcasts (encoded `user` messages) that fit `limit` bytes, each costing its length plus `overhead(len)`. */
  userBroadcasts(limit: number, overhead: (len: number) => number): Uint8Array[];
  onJoin(n: MemberNode): void;
  onLeave(n: MemberNode): void;
  onUpdate(n: MemberNode): void;
  onAlive(name: string): void;
  onPing(name: string, rttSeconds: number): void;
  onDrop(reason: DropReason, err: Error): void;
}

class Suspicion {
  private readonly confirmations = new Set<string>();
  private readonly start = performance.now();
  private timer: ReturnType<typeof setTimeout> | undefined;
  constructor(from: string, private readonly k: number, private readonly minMs: number, private readonly maxMs: number, private readonly fire: () => void) {
    this.confirmations.add(from);
    this.schedule();
  }

  /** Records a confirmation from another member; true when it is new (and shortened the timeout). */
  confirm(from: string): boolean {
    if (this.confirmations.size - 1 >= this.k || this.confirmations.has(from)) return false;
    this.confirmations.add(from);
    this.schedule();
    return true;
  }

  timeoutMs(): number {
    // No confirmations to wait for: the minimum from the start (memberlist).
    if (this.k < 1) return this.minMs;
    const c = this.confirmations.size - 1;
    if (c <= 0) return this.maxMs;
    const frac = Math.log(c + 1) / Math.log(this.k + 1);
    return Math.max(this.minMs, Math.floor(this.maxMs - frac * (this.maxMs - this.minMs)));
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const remaining = this.timeoutMs() - (performance.now() - this.start);
    this.timer = setTimeout(this.fire, Math.max(0, remaining));
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/** memberlist's suspicionTimeout: mult × max(1, log10(n)) × interval. */
export function suspicionTimeoutMs(mult: number, n: number, intervalMs: number): number {
  return Math.floor(mult * Math.max(1, Math.log10(Math.max(1, n))) * intervalMs);
}

/** memberlist's retransmitLimit: mult × ceil(log10(n + 1)). */
export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1));
}

interface QueuedBroadcast {
  /** Invalidation key: a newer broadcast with the same key replaces it. */
  key: string | undefined;
  msg: Uint8Array;
  transmits: number;
  id: number;
}

/** memberlist's TransmitLimitedQueue. */
export class BroadcastQueue {
  private items: QueuedBroadcast[] = [];
  private nextID = 0;
  constructor(private readonly limit: () => number) {}

  /** Queues `msg`, dropping a queued one with the same key. */
  queue(key: string | undefined, msg: Uint8Array): void {
    if (key !== undefined) this.items = this.items.filter((b) => b.key !== key);
    this.items.push({ key, msg, transmits: 0, id: this.nextID++ });
  }

  get length(): number {
    return this.items.length;
  }

  /** Drops the oldest items above `max`; returns how many. */
  prune(max: number): number {
    if (this.items.length <= max) return 0;
    this.items.sort((a, b) => a.id - b.id);
    const n = this.items.length - max;
    this.items.splice(0, n);
    return n;
  }

  /** The least-sent, newest broadcasts that fit `limit` bytes; counts a transmission of each. */
  take(limit: number, overhead: (len: number) => number): Uint8Array[] {
    if (this.items.length === 0) return [];
    const max = this.limit();
    this.items.sort((a, b) => a.transmits - b.transmits || b.id - a.id);
    const out: Uint8Array[] = [];
    let used = 0;
    const keep: QueuedBroadcast[] = [];
    for (const b of this.items) {
      const cost = b.msg.length + overhead(b.msg.length);
      if (used + cost <= limit) {
        used += cost;
        out.push(b.msg);
        b.transmits++;
      }
      if (b.transmits < max) keep.push(b);
    }
    this.items = keep;
    return out;
  }
}

interface PendingAck {
  resolve(acked: boolean): void;
  nacks: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** The SWIM engine; see the module comment. */
export class Memberlist {
  readonly name: string;
  private readonly cfg: MemberlistConfig;
  private readonly delegate: MemberlistDelegate;
  private readonly logger: Logger;
  private readonly nodes = new Map<string, MemberNode & { suspicion?: Suspicion }>();
  private readonly acks = new Map<number, PendingAck>();
  private readonly queue: BroadcastQueue;
  private udp: udp.Socket<"uint8array"> | undefined;
  /** The socket packets are sent from (see start). */
  private udpOut: udp.Socket<"uint8array"> | undefined;
  private tcp: ReturnType<typeof listenStream> | undefined;
  private seq = 0;
  private awareness = 0;
  private probeOrder: string[] = [];
  private timers: ReturnType<typeof setTimeout>[] = [];
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private leaving = false;
  /** The advertised address, known once bound. */
  addr = "";

  constructor(cfg: MemberlistConfig, delegate: MemberlistDelegate, logger: Logger) {
    this.cfg = cfg;
    this.name = cfg.name;
    this.delegate = delegate;
    this.logger = logger;
    this.queue = new BroadcastQueue(() => retransmitLimit(cfg.retransmitMult, this.nodes.size));
  }

  /** Binds TCP and UDP on the same port and starts probing, gossip and push/pull. */
  async start(): Promise<void> {
    const cfg = this.cfg;
    let lastErr: unknown;
    for (let attempt = 0; attempt < 10 && !this.udp; attempt++) {
      const tcp = listenStream({
        hostname: cfg.bindHost, port: cfg.bindPort, maxFrameBytes: MAX_STREAM_FRAME, timeoutMs: cfg.tcpTimeoutMs,
        handle: (p) => this.handleStream(p),
        onError: (err) => {
          // Drops found while reading the frame are counted here; handleStream counts its own and throws plain errors.
          if (err instanceof DropError) this.drop(err);
          this.logger.debug("Cluster stream failed", { err });
        },
      });
      try {
        this.udp = await Bun.udpSocket({
          hostname: cfg.bindHost, port: tcp.port, binaryType: "uint8array",
          socket: {
            data: (_s, data, port, address) => this.handlePacket(data, address, port),
            // ICMP errors (a stopped peer's port refusing) surface here; the probe deals with the silence.
            error: (_s, err) => this.logger.debug("Cluster UDP socket error", { err }),
          },
        });
        // Packets go out from a socket of their own: the ICMP errors a stopped peer's closed port sends back
        // land on that socket, and in Bun an error on a UDP socket can hold up its reading for seconds, so
        // the listening socket would miss the live peers' gossip (a notification-log entry, a duplicate).
        this.udpOut = await Bun.udpSocket({
          hostname: cfg.bindHost, port: 0, binaryType: "uint8array",
          socket: {
            data: (_s, data, port, address) => this.handlePacket(data, address, port),
            error: (_s, err) => this.logger.debug("Cluster UDP socket error", { err }),
          },
        });
        this.tcp = tcp;
      } catch (err) {
        tcp.stop(true);
        lastErr = err;
        if (cfg.bindPort !== 0) break;
      }
    }
    if (!this.udp || !this.tcp) throw new Error(`could not listen for the cluster on ${joinHostPort(cfg.bindHost, cfg.bindPort)}: ${(lastErr as Error)?.message ?? lastErr}`);
    const host = cfg.advertiseHost || cfg.bindHost;
    this.addr = joinHostPort(host, cfg.advertisePort || this.tcp.port);
    this.nodes.set(this.name, { name: this.name, addr: this.addr, inc: 0, state: "alive", meta: { ...cfg.meta }, stateChange: Date.now() });
    this.delegate.onJoin(this.self());
    this.scheduleProbe(cfg.probeIntervalMs);
    this.every(cfg.gossipIntervalMs, () => this.gossip());
    if (cfg.pushPullIntervalMs > 0) this.every(cfg.pushPullIntervalMs, () => void this.pushPullRandom());
  }

  /** The port TCP and UDP listen on. */
  get port(): number {
    return this.tcp?.port ?? 0;
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(() => { if (!this.stopped) fn(); }, ms);
    this.timers.push(t);
  }

  private self(): MemberNode {
    return this.nodes.get(this.name)!;
  }

  /** Every known member (self included), copies. */
  members(): MemberNode[] {
    return [...this.nodes.values()].map(({ suspicion: _s, ...n }) => ({ ...n, meta: { ...n.meta } }));
  }

  /** Members alive or suspect (self included). */
  numAlive(): number {
    let n = 0;
    for (const m of this.nodes.values()) if (m.state === "alive" || m.state === "suspect") n++;
    return n;
  }

  healthScore(): number {
    return this.awareness;
  }

  queuedBroadcasts(): number {
    return this.queue.length;
  }

  /** Drops a dead or left member from the list (the peer layer reaps them after the reconnect timeout). */
  forget(name: string): void {
    const n = this.nodes.get(name);
    if (!n || name === this.name || n.state === "alive" || n.state === "suspect") return;
    n.suspicion?.stop();
    this.nodes.delete(name);
  }

  /** Announces new metadata (a higher incarnation). */
  setMeta(meta: Record<string, string>): void {
    const s = this.self();
    s.meta = { ...meta };
    if (!this.udp) return;
    s.inc++;
    this.broadcastAlive(s);
  }

  // -------------------------------------------------------------------------
  // Sending

  private overhead(): number {
    return envelopeOverhead(this.cfg.label, this.name, this.cfg.key !== undefined);
  }

  /** Sends `msgs` in one UDP packet, filling the rest with broadcasts when asked. */
  private sendPacket(addr: string, msgs: Uint8Array[], piggyback: boolean): void {
    if (!this.udp || this.stopped) return;
    let room = MAX_UDP_PACKET - this.overhead();
    for (const m of msgs) room -= m.length + messageOverhead(m.length);
    const all = piggyback && room > 0 ? [...msgs, ...this.takeBroadcasts(room)] : msgs;
    if (all.length === 0) return;
    const packet = buildPacket({ label: this.cfg.label, from: this.name, messages: all }, this.cfg.key);
    let host: string;
    let port: number;
    try {
      ({ host, port } = splitHostPort(addr));
    } catch {
      return;
    }
    const sock = this.udpOut ?? this.udp;
    try {
      sock.send(packet, port, host);
    } catch {
      // An ICMP error that an earlier packet drew (a stopped peer's closed port) is reported by the next
      // send on the socket, which then did not go out, whoever it was for: send it once more.
      try {
        sock.send(packet, port, host);
      } catch (err) {
        this.logger.debug("Cluster UDP send failed", { addr, err });
      }
    }
  }

  private takeBroadcasts(room: number): Uint8Array[] {
    const mine = this.queue.take(room, messageOverhead);
    let used = 0;
    for (const m of mine) used += m.length + messageOverhead(m.length);
    const user = room - used > 8 ? this.delegate.userBroadcasts(room - used, messageOverhead) : [];
    return mine.concat(user);
  }

  /** The largest user message that fits a UDP packet alone. */
  maxUDPMessage(): number {
    return MAX_UDP_PACKET - this.overhead() - 3;
  }

  private async sendStream(addr: string, msg: Message, expectReply: boolean): Promise<Uint8Array | undefined> {
    const { host, port } = splitHostPort(addr);
    const framed = await buildStreamFrame(this.cfg.label, this.name, msg.t === "pp" ? encodePushPull(msg) : encodeMessage(msg), this.cfg.key);
    return requestStream(host, port, framed, expectReply, MAX_STREAM_FRAME, this.cfg.tcpTimeoutMs);
  }

  /** Sends a user message over TCP (oversized broadcasts). */
  async sendReliable(addr: string, key: string, data: Uint8Array): Promise<void> {
    await this.sendStream(addr, { t: "user", key, data }, false);
  }

  private gossip(): void {
    const now = Date.now();
    const targets = shuffle([...this.nodes.values()].filter((n) => n.name !== this.name && (
      n.state === "alive" || n.state === "suspect" || now - n.stateChange < this.cfg.gossipToTheDeadMs)));
    for (const n of targets.slice(0, this.cfg.gossipNodes)) {
      const msgs = this.takeBroadcasts(MAX_UDP_PACKET - this.overhead());
      if (msgs.length === 0) return;
      this.sendPacket(n.addr, msgs, false);
    }
  }

  private broadcastAlive(n: MemberNode): void {
    this.queue.queue("m:" + n.name, encodeMessage({ t: "alive", node: n.name, inc: n.inc, addr: n.addr, meta: n.meta }));
  }

  // -------------------------------------------------------------------------
  // Probing

  private scheduleProbe(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => void this.probe(), ms);
  }

  private nextProbeTarget(): (MemberNode & { suspicion?: Suspicion }) | undefined {
    for (let tries = 0; tries < 2; tries++) {
      while (this.probeOrder.length > 0) {
        const name = this.probeOrder.pop()!;
        const n = this.nodes.get(name);
        if (n && name !== this.name && (n.state === "alive" || n.state === "suspect")) return n;
      }
      this.probeOrder = shuffle([...this.nodes.keys()]);
    }
    return undefined;
  }

  private waitAck(seq: number, ms: number): { promise: Promise<boolean>; pending: PendingAck } {
    let pending!: PendingAck;
    const promise = new Promise<boolean>((resolve) => {
      pending = {
        nacks: 0, timer: undefined,
        resolve: (acked) => {
          clearTimeout(pending.timer);
          this.acks.delete(seq);
          resolve(acked);
        },
      };
      pending.timer = setTimeout(() => pending.resolve(false), ms);
    });
    this.acks.set(seq, pending);
    return { promise, pending };
  }

  private async probe(): Promise<void> {
    const interval = this.cfg.probeIntervalMs * (this.awareness + 1);
    const started = performance.now();
    try {
      const target = this.nextProbeTarget();
      if (!target || this.stopped) return;
      const seq = ++this.seq;
      const timeout = this.cfg.probeTimeoutMs * (this.awareness + 1);
      const direct = this.waitAck(seq, timeout);
      this.sendPacket(target.addr, [encodeMessage({ t: "ping", seq, target: target.name })], true);
      if (await direct.promise) {
        this.delegate.onPing(target.name, (performance.now() - started) / 1000);
        this.awareness = Math.max(0, this.awareness - 1);
        return;
      }
      if (this.stopped) return;
      // Indirect probes through k other members, until the end of the interval.
      const helpers = shuffle([...this.nodes.values()].filter((n) => n.name !== this.name && n.name !== target.name && n.state === "alive")).slice(0, this.cfg.indirectChecks);
      const indirect = this.waitAck(seq, Math.max(timeout, interval - (performance.now() - started)));
      for (const h of helpers) this.sendPacket(h.addr, [encodeMessage({ t: "preq", seq, target: target.name, addr: target.addr })], true);
      const acked = await indirect.promise;
      if (acked) {
        this.awareness = Math.max(0, this.awareness - 1);
        return;
      }
      if (this.stopped) return;
      const missedNacks = helpers.length - indirect.pending.nacks;
      this.awareness = Math.min(AWARENESS_MAX - 1, this.awareness + 1 + (missedNacks > 0 ? 1 : 0));
      this.logger.debug("Cluster member failed a probe; suspect", { peer: target.name });
      this.suspectNode({ node: target.name, inc: target.inc, from: this.name });
    } catch (err) {
      this.logger.error("Cluster probe failed", { err });
    } finally {
      this.scheduleProbe(Math.max(0, interval - (performance.now() - started)));
    }
  }

  // -------------------------------------------------------------------------
  // Receiving

  private handlePacket(data: Uint8Array, address: string, port: number): void {
    if (this.stopped) return;
    let env;
    try {
      env = openPacket(data, this.cfg.key, this.cfg.label, MAX_UDP_PACKET);
    } catch (err) {
      this.drop(err);
      return;
    }
    const from = joinHostPort(address, port);
    for (const raw of env.messages) {
      let msg: Message;
      try {
        msg = decodeMessage(raw);
      } catch (err) {
        this.drop(err);
        continue;
      }
      try {
        this.handleMessage(msg, env.from, from);
      } catch (err) {
        this.logger.error("Cluster message handling failed", { type: msg.t, from: env.from, err });
      }
    }
  }

  /** Where a reply to `sender` goes: its cluster address when it is a member (packets come from its sending socket), else where the packet came from. */
  private replyAddr(sender: string, source: string): string {
    return this.nodes.get(sender)?.addr ?? source;
  }

  private drop(err: unknown): void {
    if (err instanceof DropError) this.delegate.onDrop(err.reason, err);
    else this.delegate.onDrop("malformed", err as Error);
  }

  private handleMessage(msg: Message, sender: string, source: string): void {
    switch (msg.t) {
      case "ping":
        if (msg.target !== "" && msg.target !== this.name) return;
        this.sendPacket(this.replyAddr(sender, source), [encodeMessage({ t: "ack", seq: msg.seq })], true);
        return;
      case "ack":
        this.acks.get(msg.seq)?.resolve(true);
        return;
      case "nack": {
        const p = this.acks.get(msg.seq);
        if (p) p.nacks++;
        return;
      }
      case "preq": {
        const seq = ++this.seq;
        const relay = this.waitAck(seq, this.cfg.probeTimeoutMs);
        this.sendPacket(msg.addr, [encodeMessage({ t: "ping", seq, target: msg.target })], true);
        void relay.promise.then((acked) => {
          this.sendPacket(this.replyAddr(sender, source), [encodeMessage(acked ? { t: "ack", seq: msg.seq } : { t: "nack", seq: msg.seq })], false);
        });
        return;
      }
      case "alive":
        this.aliveNode(msg);
        return;
      case "suspect":
        this.suspectNode(msg);
        return;
      case "dead":
        this.deadNode(msg);
        return;
      case "user":
        this.delegate.notifyUser(msg.key, msg.data);
        return;
      case "pp":
        // Push/pull only travels over TCP.
        this.delegate.onDrop("malformed", new Error(`push/pull from ${sender} over UDP`));
        return;
    }
  }

  private async handleStream(payload: Uint8Array): Promise<Uint8Array | undefined> {
    let msg: Message;
    let from: string;
    try {
      const env = await openStreamPacket(payload, this.cfg.key, this.cfg.label, MAX_STREAM_FRAME);
      if (env.messages.length !== 1) throw new DropError("malformed", `stream with ${env.messages.length} messages, expected 1`);
      msg = decodeMessage(env.messages[0]!);
      if (msg.t !== "user" && msg.t !== "pp") throw new DropError("malformed", `unexpected ${msg.t} message over TCP`);
      from = env.from;
    } catch (err) {
      this.drop(err);
      throw new Error(`stream dropped: ${(err as Error).message}`);
    }
    if (this.stopped) return undefined;
    if (msg.t === "user") {
      this.delegate.notifyUser(msg.key, msg.data);
      return undefined;
    }
    const local = this.localPushPull(msg.join);
    const reply = await buildStreamFrame(this.cfg.label, this.name, encodePushPull(local), this.cfg.key);
    if (!this.stopped) this.mergeRemote(msg, from);
    return reply;
  }

  private localPushPull(join: boolean): Extract<Message, { t: "pp" }> {
    const nodes: NodeRecord[] = [...this.nodes.values()].map((n) => ({ name: n.name, addr: n.addr, inc: n.inc, state: n.state, meta: n.meta }));
    return { t: "pp", join, nodes, states: this.delegate.localState(join) };
  }

  private mergeRemote(msg: Extract<Message, { t: "pp" }>, sender: string): void {
    for (const r of msg.nodes) {
      switch (r.state) {
        case "alive": this.aliveNode({ node: r.name, inc: r.inc, addr: r.addr, meta: r.meta }); break;
        case "left": this.deadNode({ node: r.name, inc: r.inc, from: r.name }); break;
        default: this.suspectNode({ node: r.name, inc: r.inc, from: sender }); break;
      }
    }
    if (msg.states.size > 0) this.delegate.mergeRemoteState(msg.states, msg.join);
  }

  /** A full push/pull with the member at `addr` (join: the first exchange with it). Throws on failure. */
  async pushPull(addr: string, join: boolean): Promise<void> {
    const reply = await this.sendStream(addr, this.localPushPull(join), true);
    if (!reply) throw new Error(`no push/pull reply from ${addr}`);
    let env;
    try {
      env = await openStreamPacket(reply, this.cfg.key, this.cfg.label, MAX_STREAM_FRAME);
    } catch (err) {
      this.drop(err);
      throw new Error(`push/pull with ${addr}: ${(err as Error).message}`);
    }
    const raw = env.messages[0];
    let msg: Message | undefined;
    try {
      msg = raw && env.messages.length === 1 ? decodeMessage(raw) : undefined;
    } catch (err) {
      this.drop(err);
    }
    if (!msg || msg.t !== "pp") throw new Error(`push/pull with ${addr}: invalid reply`);
    if (!this.stopped) this.mergeRemote(msg, env.from);
  }

  private async pushPullRandom(): Promise<void> {
    const alive = [...this.nodes.values()].filter((n) => n.name !== this.name && n.state === "alive");
    if (alive.length === 0) return;
    const n = alive[Math.floor(Math.random() * alive.length)]!;
    try {
      await this.pushPull(n.addr, false);
    } catch (err) {
      this.logger.debug("Cluster push/pull failed", { peer: n.name, addr: n.addr, err });
    }
  }

  // -------------------------------------------------------------------------
  // State changes

  private refute(inc: number): void {
    const s = this.self();
    s.inc = Math.max(s.inc, inc) + 1;
    this.awareness = Math.min(AWARENESS_MAX - 1, this.awareness + 1);
    this.broadcastAlive(s);
  }

  private aliveNode(a: { node: string; inc: number; addr: string; meta: Record<string, string> }): void {
    this.delegate.onAlive(a.node);
    if (a.node === this.name) {
      if (this.leaving) return;
      const s = this.self();
      const differs = a.addr !== s.addr || !sameMeta(a.meta, s.meta);
      if (a.inc > s.inc || (a.inc === s.inc && differs)) this.refute(a.inc);
      return;
    }
    const n = this.nodes.get(a.node);
    if (!n) {
      const node = { name: a.node, addr: a.addr, inc: a.inc, state: "alive" as const, meta: { ...a.meta }, stateChange: Date.now() };
      this.nodes.set(a.node, node);
      this.probeOrder.splice(Math.floor(Math.random() * (this.probeOrder.length + 1)), 0, a.node);
      this.broadcastAlive(node);
      this.delegate.onJoin({ ...node });
      return;
    }
    const deadish = n.state === "dead" || n.state === "left";
    const newAddr = a.addr !== n.addr;
    if (newAddr && !deadish) {
      this.logger.debug("Cluster member address conflict; ignoring", { peer: a.node, known: n.addr, announced: a.addr });
      return;
    }
    if (a.inc <= n.inc && !(deadish && newAddr)) return;
    const metaChanged = !sameMeta(n.meta, a.meta) || newAddr;
    n.suspicion?.stop();
    n.suspicion = undefined;
    n.inc = a.inc;
    n.addr = a.addr;
    n.meta = { ...a.meta };
    if (n.state !== "alive") n.stateChange = Date.now();
    const wasAlive = n.state === "alive" || n.state === "suspect";
    n.state = "alive";
    this.broadcastAlive(n);
    if (!wasAlive) this.delegate.onJoin(this.copy(n));
    else if (metaChanged) this.delegate.onUpdate(this.copy(n));
  }

  private copy(n: MemberNode): MemberNode {
    return { name: n.name, addr: n.addr, inc: n.inc, state: n.state, meta: { ...n.meta }, stateChange: n.stateChange };
  }

  private suspectNode(s: { node: string; inc: number; from: string }): void {
    const n = this.nodes.get(s.node);
    if (!n || s.inc < n.inc) return;
    if (n.suspicion) {
      if (n.suspicion.confirm(s.from)) this.queue.queue("m:" + n.name, encodeMessage({ t: "suspect", node: n.name, inc: n.inc, from: s.from }));
      return;
    }
    if (n.state !== "alive") return;
    if (s.node === this.name) {
      if (!this.leaving) this.refute(s.inc);
      return;
    }
    n.inc = s.inc;
    n.state = "suspect";
    n.stateChange = Date.now();
    this.queue.queue("m:" + n.name, encodeMessage({ t: "suspect", node: n.name, inc: n.inc, from: s.from }));
    const alive = this.numAlive();
    let k = this.cfg.suspicionMult - 2;
    if (alive - 2 < k) k = 0;
    const min = suspicionTimeoutMs(this.cfg.suspicionMult, alive, this.cfg.probeIntervalMs);
    const max = this.cfg.suspicionMaxTimeoutMult * min;
    const inc = n.inc;
    n.suspicion = new Suspicion(s.from, k, min, max, () => {
      const cur = this.nodes.get(s.node);
      if (this.stopped || !cur || cur.state !== "suspect" || cur.inc !== inc) return;
      this.logger.info("Cluster member is dead (suspicion timed out)", { peer: s.node });
      this.deadNode({ node: s.node, inc, from: this.name });
    });
  }

  private deadNode(d: { node: string; inc: number; from: string }): void {
    const n = this.nodes.get(d.node);
    if (!n || d.inc < n.inc) return;
    if (n.state === "left") return;
    if (n.state === "dead") {
      // A member thought dead that says it left (the leave raced a false suspicion): record the leave.
      if (d.from !== d.node) return;
      n.state = "left";
      n.inc = d.inc;
      this.queue.queue("m:" + n.name, encodeMessage({ t: "dead", node: n.name, inc: n.inc, from: d.from }));
      this.delegate.onLeave(this.copy(n));
      return;
    }
    if (d.node === this.name) {
      if (!this.leaving) this.refute(d.inc);
      return;
    }
    n.suspicion?.stop();
    n.suspicion = undefined;
    n.inc = d.inc;
    n.state = d.from === d.node ? "left" : "dead";
    n.stateChange = Date.now();
    this.queue.queue("m:" + n.name, encodeMessage({ t: "dead", node: n.name, inc: n.inc, from: d.from }));
    this.delegate.onLeave(this.copy(n));
  }

  // -------------------------------------------------------------------------
  // Leaving and stopping

  /** Announces that this member leaves and waits (up to `timeoutMs`) for the news to go out, then stops. */
  async leave(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.leaving = true;
    const s = this.self();
    s.state = "left";
    const msg = encodeMessage({ t: "dead", node: this.name, inc: s.inc, from: this.name });
    this.queue.queue("m:" + this.name, msg);
    const others = [...this.nodes.values()].filter((n) => n.name !== this.name && (n.state === "alive" || n.state === "suspect"));
    for (const n of others) this.sendPacket(n.addr, [msg], false);
    // Let gossip repeat it for a round or two, bounded by the timeout.
    const deadline = performance.now() + Math.max(0, timeoutMs);
    while (others.length > 0 && this.queue.length > 0 && performance.now() < deadline) {
      await Bun.sleep(Math.min(this.cfg.gossipIntervalMs, Math.max(1, deadline - performance.now())));
    }
    await this.stop();
  }

  /** Stops every timer and closes the sockets (no announcement). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.probeTimer);
    for (const t of this.timers) clearInterval(t);
    for (const n of this.nodes.values()) n.suspicion?.stop();
    for (const p of [...this.acks.values()]) p.resolve(false);
    this.udp?.close();
    this.udpOut?.close();
    this.tcp?.stop(true);
  }
}

function sameMeta(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}
