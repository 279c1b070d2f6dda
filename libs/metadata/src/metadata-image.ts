// Applying metadata deltas to an image, and lookups over it. Pure functions: the controller and every service share them.
import type { MetadataDelta, MetadataImage, NodeInfo, NodeRole, PartitionInfo, TopicInfo } from '@sluice/contracts';

export function emptyImage(clusterId: string): MetadataImage {
  return { clusterId, offset: 0, controllerEpoch: 0, nodes: {}, topics: {} };
}

/** Applies one delta in place. */
export function applyDelta(image: MetadataImage, delta: MetadataDelta): void {
  switch (delta.type) {
    case 'node-registered':
      image.nodes[delta.node.id] = delta.node;
      return;
    case 'node-fenced': {
      const node = image.nodes[delta.nodeId];
      if (node) node.state = 'fenced';
      return;
    }
    case 'node-unregistered':
      delete image.nodes[delta.nodeId];
      return;
    case 'topic-created':
      image.topics[delta.topic.id] = delta.topic;
      return;
    case 'topic-deleted':
      delete image.topics[delta.topicId];
      return;
    case 'partition-changed': {
      const topic = image.topics[delta.topicId];
      if (topic) topic.partitions[delta.partition.partition] = delta.partition;
      return;
    }
    case 'partitions-created': {
      const topic = image.topics[delta.topicId];
      if (topic) for (const p of delta.partitions) topic.partitions[p.partition] = p;
      return;
    }
    case 'topic-configs-changed': {
      const topic = image.topics[delta.topicId];
      if (topic) topic.configs = delta.configs;
      return;
    }
  }
}

/** Read-side helpers over an image. */
export class MetadataView {
  private byName = new Map<string, TopicInfo>();
  private indexedAt = -1;

  constructor(private readonly current: () => MetadataImage) {}

  get image(): MetadataImage {
    return this.current();
  }

  private indexedImage: MetadataImage | undefined;

  private index(): Map<string, TopicInfo> {
    const image = this.current();
    if (this.indexedAt !== image.offset || this.indexedImage !== image) {
      this.byName = new Map(Object.values(image.topics).map((t) => [t.name, t]));
      this.indexedAt = image.offset;
      this.indexedImage = image;
    }
    return this.byName;
  }

  topicByName(name: string): TopicInfo | undefined {
    // Deltas change topics in place, so a hit that is still the image's topic of that id is current: no rebuild of
    // the name index per delta (a burst of thousands of leadership changes would make every lookup cost O(topics)).
    const hit = this.byName.get(name);
    if (hit !== undefined && this.current().topics[hit.id] === hit) return hit;
    return this.index().get(name);
  }

  topicById(id: string): TopicInfo | undefined {
    return this.current().topics[id];
  }

  topics(): TopicInfo[] {
    return [...this.index().values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  partition(topicId: string, partition: number): PartitionInfo | undefined {
    return this.current().topics[topicId]?.partitions[partition];
  }

  nodes(role?: NodeRole, state?: NodeInfo['state']): NodeInfo[] {
    return Object.values(this.current().nodes)
      .filter((n) => (role === undefined || n.role === role) && (state === undefined || n.state === state))
      .sort((a, b) => a.id - b.id);
  }

  liveBrokers(): NodeInfo[] {
    return this.nodes('broker', 'alive');
  }
}
