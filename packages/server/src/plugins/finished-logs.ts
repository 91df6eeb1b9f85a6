/**
 * The logs of finished plugin runs, kept so `plugin_run_logs` still answers after a run ends. Capped
 * per owner (one owner's runs push out only that owner's older logs) and by a total byte budget
 * (each log is at most the runner's last MiB); the oldest go first.
 */
const KEPT_LOGS_PER_OWNER = 50;
const KEPT_LOG_BYTES = 32 * 1024 * 1024;

interface Kept {
  ownerHash: string;
  text: string;
}

export class FinishedLogs {
  /** Insertion order is age order: the first entry is the oldest. */
  private readonly logs = new Map<string, Kept>();
  private readonly perOwner = new Map<string, number>();
  private bytes = 0;

  get(ownerHash: string, runId: string): string | undefined {
    return this.logs.get(key(ownerHash, runId))?.text;
  }

  add(ownerHash: string, runId: string, text: string) {
    this.remove(key(ownerHash, runId));
    this.logs.set(key(ownerHash, runId), { ownerHash, text });
    const count = (this.perOwner.get(ownerHash) ?? 0) + 1;
    this.perOwner.set(ownerHash, count);
    this.bytes += text.length;
    if (count > KEPT_LOGS_PER_OWNER)
      for (const [oldest, kept] of this.logs) if (kept.ownerHash === ownerHash) return void this.remove(oldest);
    for (const oldest of this.logs.keys()) {
      if (this.bytes <= KEPT_LOG_BYTES) break;
      this.remove(oldest);
    }
  }

  private remove(entry: string) {
    const kept = this.logs.get(entry);
    if (!kept) return;
    this.logs.delete(entry);
    this.bytes -= kept.text.length;
    const count = (this.perOwner.get(kept.ownerHash) ?? 0) - 1;
    if (count <= 0) this.perOwner.delete(kept.ownerHash);
    else this.perOwner.set(kept.ownerHash, count);
  }
}

const key = (ownerHash: string, runId: string) => `${ownerHash}:${runId}`;
