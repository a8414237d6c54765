/**
 * The Pushgateway over the cluster (★ HA Pushgateway): pushes, pushadds,
 * failed pushes, deletes and wipes replicate to every node through a
 * replicated state keyed `pushgateway`.
 *
 * - Every local change is broadcast: the group as it now is (a pushadd
 *   sends the merged group), or its deletion with the time it happened.
 * - A peer's change is taken when it is newer by change time
 *   (max(push time, failure time)); equal times are broken by comparing the
 *   encoded groups, so every node picks the same winner.
 * - Deletions are remembered (for {@link DELETION_RETENTION_MS}) so a push
 *   older than the deletion, arriving late from a node that was cut off,
 *   does not bring the group back.
 * - A joining or restarted node gets every group and deletion in the
 *   full-state exchange; its persisted groups that were deleted meanwhile
 *   lose to the peers' deletions.
 */
import type { ClusterPeer } from "../cluster/index.ts";
import { groupingKeyString } from "./grouping.ts";
import type { Pair } from "./families.ts";
import { groupFromJSON, groupToJSON } from "./persistence.ts";
import { groupChangeTime, type Group, type GroupChange, type PushStore } from "./store.ts";

/** How long a deletion is remembered. */
export const DELETION_RETENTION_MS = 24 * 3600 * 1000;
/** The largest message taken from a peer. */
const MAX_MESSAGE_BYTES = 64 << 20;
const FORMAT = "promts-pushgateway-replica/1";
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Message {
  groups: Group[];
  deleted: { key: Pair[]; at: number }[];
}

function encode(m: Message): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    format: FORMAT,
    groups: m.groups.map(groupToJSON),
    deleted: m.deleted.map((d) => ({ key: d.key, at: d.at })),
  }));
}

function checkKey(key: Pair[], where: string): void {
  if (!key.some(([n]) => n === "job")) throw new Error(`${where}: no job label`);
  for (const [n] of key) if (!LABEL_NAME.test(n)) throw new Error(`${where}: invalid label name ${JSON.stringify(n)}`);
}

/** Reads a peer's message; throws naming what is wrong (the cluster drops and counts it). */
export function decodeReplicaMessage(data: Uint8Array): Message {
  if (data.byteLength > MAX_MESSAGE_BYTES) throw new Error(`pushgateway replica: message of ${data.byteLength} bytes is over ${MAX_MESSAGE_BYTES}`);
  const doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data)) as Record<string, unknown> | null;
  if (typeof doc !== "object" || doc === null || doc.format !== FORMAT) throw new Error(`pushgateway replica: not a "${FORMAT}" message`);
  if (!Array.isArray(doc.groups) || !Array.isArray(doc.deleted)) throw new Error("pushgateway replica: groups and deleted must be lists");
  const groups = doc.groups.map((g: unknown, i: number) => {
    const group = groupFromJSON(g, `pushgateway replica: groups[${i}]`);
    checkKey(group.key, `pushgateway replica: groups[${i}].key`);
    return group;
  });
  const deleted = doc.deleted.map((d: unknown, i: number) => {
    const where = `pushgateway replica: deleted[${i}]`;
    const r = d as { key?: unknown; at?: unknown } | null;
    if (typeof r !== "object" || r === null || typeof r.at !== "number" || !Number.isFinite(r.at) || !Array.isArray(r.key)) throw new Error(`${where}: not {key, at}`);
    const key = r.key.map((p: unknown, j: number): Pair => {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || typeof p[1] !== "string") throw new Error(`${where}.key[${j}]: not a [name, value] pair`);
      return [p[0], p[1]];
    });
    checkKey(key, `${where}.key`);
    return { key, at: r.at };
  });
  return { groups, deleted };
}

/** Orders two groups changed at the same time by their encoding (the same on every node). */
function tieBreak(a: Group, b: Group): number {
  const x = JSON.stringify(groupToJSON(a));
  const y = JSON.stringify(groupToJSON(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Replicates `store` over `cluster`; returns what a test or the status page may inspect. */
export function replicatePushStore(store: PushStore, cluster: Pick<ClusterPeer, "addState">, now: () => number = Date.now): { deletions(): number } {
  const deletions = new Map<string, { key: Pair[]; at: number }>();
  const forgetOld = () => {
    const limit = now() - DELETION_RETENTION_MS;
    for (const [id, d] of deletions) if (d.at < limit) deletions.delete(id);
  };
  const take = (m: Message) => {
    forgetOld();
    for (const d of m.deleted) {
      const id = groupingKeyString(d.key);
      const known = deletions.get(id);
      if (!known || known.at < d.at) deletions.set(id, d);
      store.applyRemote({ key: d.key, deletedAt: d.at }, tieBreak);
    }
    for (const g of m.groups) {
      const gone = deletions.get(groupingKeyString(g.key));
      if (gone && gone.at >= groupChangeTime(g)) continue;
      store.applyRemote({ group: g }, tieBreak);
    }
  };
  const channel = cluster.addState("pushgateway", {
    marshal: () => {
      forgetOld();
      return encode({ groups: store.list(now()), deleted: [...deletions.values()] });
    },
    merge: (data) => take(decodeReplicaMessage(data)),
  });
  store.onChange = (c: GroupChange) => {
    if ("group" in c) {
      deletions.delete(groupingKeyString(c.group.key));
      channel.broadcast(encode({ groups: [c.group], deleted: [] }));
    } else {
      deletions.set(groupingKeyString(c.key), { key: c.key, at: c.deletedAt });
      channel.broadcast(encode({ groups: [], deleted: [{ key: c.key, at: c.deletedAt }] }));
    }
  };
  return { deletions: () => deletions.size };
}
