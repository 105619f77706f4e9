import type { KeyObject } from 'node:crypto';
import type { AuditRepo } from './audit.repo';
import { ChainVerifier, GENESIS_HASH } from './audit.model';
import type { CheckpointDirectory } from './checkpoint-store';
import {
  extendsCheckpoint,
  parseCountersignature,
  signCheckpoint,
  verifyCheckpoint,
  verifyCountersignature,
  type Countersignature,
  type SignedCheckpoint,
  type Signer,
  type StoredCheckpoint,
} from './checkpoint.model';
import type { Db } from '../../shared/db';
import { AppError } from '../../shared/errors';
import { outboundRequest, type DestinationPolicy } from '../../platform/http/outbound';

/** A partner deployment that countersigns this deployment's checkpoints: where to send them, and its public key. */
export interface Countersigner {
  url: string;
  publicKey: KeyObject;
}

export interface SinkOutcome {
  /** `directory`, `webhook` or `countersigner` (with the URL's origin: never a path or query). */
  sink: string;
  ok: boolean;
  /** A failure class (`refused`, `timeout`, `http_4xx`, `bad_answer` …), never a foreign service's words. */
  failure?: string;
}

export interface CheckpointOutcome {
  checkpoint: SignedCheckpoint;
  countersignatures: Countersignature[];
  sinks: SinkOutcome[];
}

const PAGE = 1000;
const LIMITS = { connectTimeoutMs: 5_000, totalTimeoutMs: 15_000, maxResponseBytes: 16 * 1024 };

const failureOf = (e: unknown): string => {
  const x = e as { code?: string; kind?: string };
  if (x.code === 'DESTINATION_REFUSED') return 'refused';
  return x.kind ?? 'error';
};
const originOf = (url: string) => {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid-url';
  }
};

/**
 * Writes signed checkpoints of the chain head to the configured places outside the database. Before signing it checks that
 * the chain still extends the previous checkpoint (the newest in the directory, or the last one this process wrote) and that
 * every event since verifies; otherwise it refuses (409 AUDIT_CHAIN_BROKEN), so a rewritten chain is never signed.
 */
export function createCheckpointService(d: {
  db: Db;
  audit: AuditRepo;
  key: Signer;
  /** The deployment's own public key: checkpoints read back from the directory must carry its signature. */
  publicKey: KeyObject;
  directory?: CheckpointDirectory;
  /** A receiver POSTed every checkpoint as JSON `{checkpoint, countersignatures}`. */
  webhookUrl?: string;
  countersigners?: Countersigner[];
  policy: DestinationPolicy;
  clock?: () => Date;
  tls?: { ca?: string | Buffer };
}) {
  const now = d.clock ?? (() => new Date());
  let last: SignedCheckpoint | null = null;

  /** The newest checkpoint with a valid signature of this deployment: the directory's, or the last one written here. */
  function previous(): SignedCheckpoint | null {
    const files = d.directory?.read(50) ?? [];
    const fromDir = files.map((f) => f.stored?.checkpoint).find((c): c is SignedCheckpoint => !!c && verifyCheckpoint(c, d.publicKey)) ?? null;
    if (!fromDir) return last;
    return !last || fromDir.seq >= last.seq ? fromDir : last;
  }

  /** The chain from `prev` (exclusive) to `head` verifies and still holds prev's hash at prev's seq. */
  async function verifySince(prev: SignedCheckpoint | null, head: { seq: number; hash: string }): Promise<void> {
    const broken = (reason: string, seq?: number) => {
      throw new AppError('AUDIT_CHAIN_BROKEN', 409, `Not checkpointing: ${reason}.`, { firstBadSeq: seq, reason });
    };
    if (prev && !extendsCheckpoint(prev, head)) broken(`the chain head (seq ${head.seq}) is behind the previous checkpoint (seq ${prev.seq})`, head.seq + 1);
    let start = { seq: 1, prevHash: GENESIS_HASH };
    if (prev) {
      const at = (await d.audit.list(d.db, { afterSeq: prev.seq - 1, limit: 1 }))[0];
      if (!at || at.seq !== prev.seq || at.hash !== prev.hash) broken(`the event at seq ${prev.seq} no longer has the hash of the previous checkpoint`, prev.seq);
      start = { seq: prev.seq + 1, prevHash: prev.hash };
    }
    const v = new ChainVerifier(start);
    let after = start.seq - 1;
    while (after < head.seq) {
      const page = await d.audit.list(d.db, { afterSeq: after, limit: PAGE });
      for (const e of page) if (e.seq <= head.seq) v.push(e);
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.seq;
    }
    const r = v.result();
    if (!r.ok) broken(r.reason ?? 'the chain does not verify', r.firstBadSeq);
    if (r.headSeq !== head.seq || r.headHash !== head.hash) broken(`the chain since the previous checkpoint ends at seq ${r.headSeq}, not at its head ${head.seq}`, r.headSeq + 1);
  }

  async function gather(c: SignedCheckpoint, sinks: SinkOutcome[]): Promise<Countersignature[]> {
    const out: Countersignature[] = [];
    for (const p of d.countersigners ?? []) {
      const sink = `countersigner ${originOf(p.url)}`;
      try {
        const r = await outboundRequest(p.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(c), policy: d.policy, tls: d.tls, ...LIMITS });
        if (r.status < 200 || r.status > 299) {
          sinks.push({ sink, ok: false, failure: `http_${Math.floor(r.status / 100)}xx` });
          continue;
        }
        let cs: Countersignature | null = null;
        try {
          cs = r.truncated ? null : parseCountersignature((JSON.parse(r.body.toString('utf8')) as { countersignature?: unknown }).countersignature);
        } catch {
          cs = null;
        }
        if (!cs || !verifyCountersignature(cs, c, p.publicKey)) sinks.push({ sink, ok: false, failure: 'bad_answer' });
        else {
          out.push(cs);
          sinks.push({ sink, ok: true });
        }
      } catch (e) {
        sinks.push({ sink, ok: false, failure: failureOf(e) });
      }
    }
    return out;
  }

  return {
    configured: !!(d.directory || d.webhookUrl || d.countersigners?.length),

    /**
     * Signs the current head and writes it everywhere configured. `onlyIfNew`: skip (return null) when the head is the
     * previous checkpoint's (the interval job; on demand a new checkpoint is always written).
     */
    async checkpoint(o: { onlyIfNew?: boolean } = {}): Promise<CheckpointOutcome | null> {
      const head = await d.audit.head(d.db);
      if (!head) return null;
      const prev = previous();
      if (o.onlyIfNew && prev && prev.seq === head.seq && prev.hash === head.hash) return null;
      await verifySince(prev, head);
      const checkpoint = signCheckpoint(d.key, head, now());
      const sinks: SinkOutcome[] = [];
      const countersignatures = await gather(checkpoint, sinks);
      const stored: StoredCheckpoint = { checkpoint, countersignatures };
      if (d.directory) {
        try {
          d.directory.write(stored);
          sinks.unshift({ sink: 'directory', ok: true });
        } catch (e) {
          sinks.unshift({ sink: 'directory', ok: false, failure: (e as NodeJS.ErrnoException).code ?? 'error' });
        }
      }
      if (d.webhookUrl) {
        const sink = `webhook ${originOf(d.webhookUrl)}`;
        try {
          const r = await outboundRequest(d.webhookUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(stored), policy: d.policy, tls: d.tls, ...LIMITS });
          sinks.push(r.status >= 200 && r.status <= 299 ? { sink, ok: true } : { sink, ok: false, failure: `http_${Math.floor(r.status / 100)}xx` });
        } catch (e) {
          sinks.push({ sink, ok: false, failure: failureOf(e) });
        }
      }
      last = checkpoint;
      return { checkpoint, countersignatures, sinks };
    },

    /**
     * The checkpoints in the directory, newest first (at most `limit`): those signed by this deployment become expectations
     * the chain must extend; the others are reported as invalid (someone wrote into the directory who cannot sign).
     */
    external(limit = 10_000): { valid: SignedCheckpoint[]; invalid: Array<{ source: string; reason: string }> } {
      const valid: SignedCheckpoint[] = [];
      const invalid: Array<{ source: string; reason: string }> = [];
      for (const f of d.directory?.read(limit) ?? []) {
        if (!f.stored) invalid.push({ source: f.name, reason: 'not a checkpoint of format v1' });
        else if (!verifyCheckpoint(f.stored.checkpoint, d.publicKey)) invalid.push({ source: f.name, reason: "no valid signature of this deployment's key" });
        else valid.push(f.stored.checkpoint);
      }
      return { valid, invalid };
    },
  };
}

export type CheckpointService = ReturnType<typeof createCheckpointService>;
