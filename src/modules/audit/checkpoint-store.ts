import fs from 'node:fs';
import path from 'node:path';
import { parseCheckpoint, parseCountersignature, type StoredCheckpoint } from './checkpoint.model';

/**
 * Checkpoints as files in a directory the database owner does not control (another volume, a WORM mount, a synced folder):
 * one file per checkpoint, `checkpoint-<seq, 15 digits>-<signing time>.json`, written under a temporary name and renamed, never
 * rewritten. The names sort by seq, so the newest are read first.
 */
export const CHECKPOINT_FILE = /^checkpoint-(\d{15})-[0-9TZ]+\.json$/;

export interface CheckpointFile {
  name: string;
  stored: StoredCheckpoint | null;
}

export function createCheckpointDirectory(dir: string) {
  return {
    dir,
    write(c: StoredCheckpoint): string {
      fs.mkdirSync(dir, { recursive: true });
      const name = `checkpoint-${String(c.checkpoint.seq).padStart(15, '0')}-${c.checkpoint.at.replace(/[-:.]/g, '')}.json`;
      const tmp = path.join(dir, `.${name}.${process.pid}.tmp`);
      fs.writeFileSync(tmp, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o644 });
      fs.renameSync(tmp, path.join(dir, name));
      return name;
    },

    /** The newest `limit` files by seq; a file that is not a checkpoint of format v1 comes back with `stored: null`. */
    read(limit: number): CheckpointFile[] {
      if (!fs.existsSync(dir)) return [];
      const names = fs.readdirSync(dir).filter((n) => CHECKPOINT_FILE.test(n)).sort().reverse().slice(0, limit);
      return names.map((name) => ({ name, stored: parseStored(fs.readFileSync(path.join(dir, name), 'utf8')) }));
    },
  };
}

export type CheckpointDirectory = ReturnType<typeof createCheckpointDirectory>;

/** A stored checkpoint file's text: `{checkpoint, countersignatures}`, or a bare signed checkpoint. */
export function parseStored(text: string): StoredCheckpoint | null {
  let x: { checkpoint?: unknown; countersignatures?: unknown } | null;
  try {
    x = JSON.parse(text);
  } catch {
    return null;
  }
  if (!x || typeof x !== 'object') return null;
  const bare = parseCheckpoint(x);
  if (bare) return { checkpoint: bare, countersignatures: [] };
  const checkpoint = parseCheckpoint(x.checkpoint);
  if (!checkpoint) return null;
  const cs = Array.isArray(x.countersignatures) ? x.countersignatures.map(parseCountersignature) : [];
  return { checkpoint, countersignatures: cs.filter((c): c is NonNullable<typeof c> => c !== null) };
}
