// The broker's logs on disk, as Kafka's LogManager: one directory per replica (Kafka's `<topic>-<partition>` naming,
// with a marker naming the topic id so a re-created topic is told apart), one pool of open files for all of them,
// and the background work over every log: retention, the log cleaner and the high-watermark checkpoints.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopicInfo } from '@sluice/contracts';
import type { Logger } from '@sluice/runtime';
import { FilePool, PartitionLog } from '@sluice/storage';
import type { BrokerConfig } from './broker-config.js';
import { logConfigFor } from './topic-log-config.js';

const PARTITION_METADATA = 'partition.metadata';

/** A log and what identifies it, for the background work and its logs. */
export interface ManagedLog {
  readonly log: PartitionLog;
  readonly topicName: string;
  readonly partition: number;
}

export class LogManager {
  /** Open segment files, bounded over all partitions of this broker. */
  readonly files: FilePool;
  private timers: NodeJS.Timeout[] = [];
  private cleanerRunning = false;
  private stopped = false;

  constructor(
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
  ) {
    this.files = new FilePool(config.maxOpenFiles);
  }

  private dirOf(topicName: string, partition: number): string {
    return join(this.config.dataDir, `${topicName}-${partition}`);
  }

  /** Opens (or creates) the log of one replica; a directory left by a deleted topic of the same name starts afresh. */
  async open(topic: TopicInfo, partition: number): Promise<PartitionLog> {
    const dir = this.dirOf(topic.name, partition);
    const markerPath = join(dir, PARTITION_METADATA);
    const marker = await readFile(markerPath, 'utf8').catch(() => undefined);
    const sameTopic = marker !== undefined && (JSON.parse(marker) as { topicId: string }).topicId === topic.id;
    if (marker !== undefined && !sameTopic) await rm(dir, { recursive: true, force: true });
    const log = await PartitionLog.open(dir, logConfigFor(topic.configs, this.config), { files: this.files });
    if (!sameTopic) await writeFile(markerPath, JSON.stringify({ topicId: topic.id, topic: topic.name, partition }) + '\n');
    return log;
  }

  /** Replica directories of topics the cluster no longer has (deleted while this broker was down). */
  async removeOrphans(open: ReadonlySet<string>, topicExists: (topicId: string) => boolean): Promise<void> {
    const entries = await readdir(this.config.dataDir, { withFileTypes: true });
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const dir = join(this.config.dataDir, e.name);
      if (open.has(dir)) continue;
      const marker = await readFile(join(dir, PARTITION_METADATA), 'utf8').catch(() => undefined);
      if (marker === undefined) continue;
      const { topicId } = JSON.parse(marker) as { topicId: string };
      if (!topicExists(topicId)) {
        await rm(dir, { recursive: true, force: true });
        this.logger.info({ dir }, 'removed the replica of a deleted topic');
      }
    }
  }

  /** Starts retention, the cleaner and the high-watermark checkpoints over the logs `logs()` lists at each run. */
  startBackgroundWork(logs: () => Iterable<ManagedLog>): void {
    const every = (ms: number, work: () => Promise<void>): void => {
      const timer = setInterval(() => void work(), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.config.retentionCheckIntervalMs, () => this.eachLog(logs(), 'retention failed', (l) => l.log.applyRetention(Date.now())));
    every(this.config.cleanerIntervalMs, () => this.cleanLogs(logs()));
    // As Kafka's replica manager does periodically: a leader does not depend on it (it moves the high watermark to
    // what its ISR has when it takes over); a checkpoint that lags only means records above it count as uncommitted.
    every(this.config.hwCheckpointIntervalMs, () => this.eachLog(logs(), 'high-watermark checkpoint failed', (l) => l.log.checkpointHighWatermark()));
  }

  private async eachLog(logs: Iterable<ManagedLog>, failure: string, work: (l: ManagedLog) => Promise<unknown>): Promise<void> {
    for (const l of logs) {
      if (this.stopped) return;
      try {
        await work(l);
      } catch (err) {
        this.logger.warn({ err, topic: l.topicName, partition: l.partition }, failure);
      }
    }
  }

  /** The log cleaner: compacts the partitions of compacted topics whose dirty ratio has reached their threshold or whose dirty data waited past max.compaction.lag.ms. */
  private async cleanLogs(logs: Iterable<ManagedLog>): Promise<void> {
    if (this.cleanerRunning || this.stopped) return;
    this.cleanerRunning = true;
    try {
      await this.eachLog(logs, 'compaction failed', async (l) => {
        const result = await l.log.compact(Date.now());
        if (result) this.logger.info({ topic: l.topicName, partition: l.partition, ...result }, 'compacted');
      });
    } finally {
      this.cleanerRunning = false;
    }
  }

  /** Stops the background work and closes the logs, then every pooled file. */
  async stop(logs: Iterable<ManagedLog>): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.all([...logs].map((l) => l.log.close()));
    await this.files.closeAll();
  }
}
