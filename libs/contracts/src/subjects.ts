// Bus addresses of one cluster: every subject starts with `sluice.<cluster id>`. Topic names may contain '.', so no
// subject ever carries one; partition data goes to the broker that hosts the replica (`brk.<broker id>.<verb>`).
import { addressOf, eventStream, type Address, type EventStream, type Verb } from '@sluice/bus';
import type { MetadataRecord } from './metadata.js';

export interface ControllerElected {
  controllerEpoch: number;
  instance: string;
}

/** Subject builders for one cluster. */
export class Subjects {
  readonly prefix: string;

  constructor(readonly clusterId: string) {
    if (!/^[A-Za-z0-9_-]+$/.test(clusterId)) throw new Error(`cluster id "${clusterId}" may only hold letters, digits, '_' and '-'`);
    this.prefix = `sluice.${clusterId}`;
  }

  /** Where `verb` is served: of the active controller (no key), or of the broker, shard or node `key`. */
  at<Req, Res>(verb: Verb<Req, Res, void>): Address<Req, Res>;
  at<Req, Res, Key extends string | number>(verb: Verb<Req, Res, Key>, key: Key): Address<Req, Res>;
  at<Req, Res, Key>(verb: Verb<Req, Res, Key>, key?: Key): Address<Req, Res> {
    return addressOf(verb, this.prefix, key as Key);
  }

  /**
   * A controller became active: requests sent to its predecessor (which died or was cut off, and will not answer)
   * are sent again at once instead of waiting for their timeout.
   */
  controllerElected(): EventStream<ControllerElected> {
    return eventStream(`${this.prefix}.ctl-elected`);
  }

  /** Metadata deltas, published by the active controller in metadata-offset order. */
  metadataEvents(): EventStream<MetadataRecord> {
    return eventStream(`${this.prefix}.meta.events`);
  }
}
