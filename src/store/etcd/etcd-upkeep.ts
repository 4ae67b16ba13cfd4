/**
 * Keeping etcd healthy from the store: its history is compacted on a timer, to the revision seen
 * one period earlier (so 1–2 periods of history stay for watches that reconnect), and its alarms
 * are read on another: a NOSPACE alarm (the space quota is exhausted; etcd then refuses every
 * write) is logged once with what to do, and reported to the store, which names it in its
 * health and in every refused write. Any server may compact: compacting to a revision already
 * compacted is refused by etcd and ignored here.
 */
import type { Etcd3 } from 'etcd3';
import { errorText } from './etcd-client.ts';

export interface UpkeepOptions {
  readonly client: Etcd3;
  readonly compactEveryMs: number;
  readonly alarmCheckMs: number;
  /** The newest revision the store has seen. */
  readonly revision: () => number;
  readonly log: (message: string) => void;
  readonly onNoSpace: (raised: boolean) => void;
}

export class EtcdUpkeep {
  readonly #options: UpkeepOptions;
  readonly #timers: NodeJS.Timeout[] = [];
  #previousRevision = 0;
  #noSpace = false;

  constructor(options: UpkeepOptions) {
    this.#options = options;
    if (options.compactEveryMs > 0) {
      this.#previousRevision = options.revision();
      this.#timers.push(setInterval(() => void this.compact(), options.compactEveryMs).unref());
    }
    if (options.alarmCheckMs > 0) {
      this.#timers.push(setInterval(() => void this.checkAlarms(), options.alarmCheckMs).unref());
      void this.checkAlarms();
    }
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
  }

  /** Compacts to the revision seen at the previous call; returns it (0: nothing to do). */
  async compact(): Promise<number> {
    const target = this.#previousRevision;
    this.#previousRevision = this.#options.revision();
    if (target <= 1) return 0;
    try {
      await this.#options.client.kv.compact({ revision: String(target) }, { deadline: Date.now() + 10_000 });
      return target;
    } catch (error) {
      if (!/compacted/i.test(errorText(error)))
        this.#options.log(`etcd store: compaction to revision ${target} failed: ${errorText(error)}`);
      return 0;
    }
  }

  async checkAlarms(): Promise<void> {
    try {
      const response = await this.#options.client.maintenance.alarm(
        { action: 'Get', memberID: 0, alarm: 'None' },
        { deadline: Date.now() + 3000 },
      );
      const noSpace = response.alarms.some((a) => a.alarm === 'Nospace');
      if (noSpace !== this.#noSpace) {
        this.#noSpace = noSpace;
        this.#options.onNoSpace(noSpace);
        this.#options.log(
          noSpace
            ? 'etcd store: etcd raised its NOSPACE alarm: writes are refused. Compact (`etcdctl compact`), defragment each member (`etcdctl defrag --endpoints=…`), then `etcdctl alarm disarm`; raise --quota-backend-bytes if the data has outgrown it'
            : 'etcd store: the NOSPACE alarm is cleared; writes are accepted again',
        );
      }
    } catch {
      // etcd unreachable: the writes say so; the next check tries again.
    }
  }
}
