// Topics: every topic with its partitions, replication factor, records, size and message rate, and a form to create one.
import { useRef, useState } from 'preact/hooks';
import { api, endOffsetSum, ok, recordCount, topicPath, type Partition } from '../api.js';
import { formatBytes, formatCount, formatRate, parsePairs } from '../format.js';
import { href, usePoll } from '../hooks.js';
import { ErrorBox, Loading, Section, Table } from '../components/ui.js';

const REFRESH_MS = 5000;

interface Sample {
  at: number;
  written: number;
  rate?: number;
}

interface TopicRow {
  name: string;
  partitions: Partition[];
}

/** Every topic with its partitions' replicas and offsets (a topic deleted meanwhile shows no partitions). */
async function loadTopics(): Promise<TopicRow[]> {
  const names = await ok(api.GET('/topics'));
  const topics = await Promise.all(names.map(async (name) => ({ name, partitions: await ok(api.GET('/topics/{topic}/partitions', topicPath(name))).catch(() => []) })));
  return topics.sort((a, b) => a.name.localeCompare(b.name));
}

/** Bytes of the topic's logs at their leaders; undefined while a partition's size is unknown. */
function topicBytes(partitions: Partition[]): number | undefined {
  let sum = 0;
  for (const p of partitions) {
    if (p.size_bytes === undefined || p.size_bytes < 0) return undefined;
    sum += p.size_bytes;
  }
  return sum;
}

function CreateTopic(props: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('3');
  const [replication, setReplication] = useState('');
  const [configs, setConfigs] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await ok(
        api.POST('/topics', {
          body: {
            name: name.trim(),
            partitions: Number(partitions),
            ...(replication ? { replication_factor: Number(replication) } : {}),
            ...(configs.trim() ? { configs: parsePairs(configs) } : {}),
          },
        }),
      );
      const created = name.trim();
      setName('');
      props.onCreated();
      location.hash = href('topics', created);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="form" onSubmit={(e) => void submit(e)} data-testid="create-topic">
      <label>
        Name <input name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="orders" />
      </label>
      <label>
        Partitions <input name="partitions" type="number" min="1" required value={partitions} onInput={(e) => setPartitions(e.currentTarget.value)} />
      </label>
      <label>
        Replication factor <input name="replication" type="number" min="1" value={replication} onInput={(e) => setReplication(e.currentTarget.value)} placeholder="default" />
      </label>
      <label class="wide">
        Configs (key=value, one a line)
        <textarea name="configs" rows={2} value={configs} onInput={(e) => setConfigs(e.currentTarget.value)} placeholder="retention.ms=86400000" />
      </label>
      <button type="submit" disabled={busy || !name.trim()}>
        {busy ? 'Creating…' : 'Create topic'}
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

export function TopicsPage() {
  const samples = useRef(new Map<string, Sample>());
  const topics = usePoll(
    async () => {
      const list = await loadTopics();
      const now = Date.now();
      for (const t of list) {
        const written = endOffsetSum(t.partitions);
        const before = samples.current.get(t.name);
        const rate = before && now > before.at ? (Math.max(0, written - before.written) * 1000) / (now - before.at) : undefined;
        samples.current.set(t.name, { at: now, written, rate });
      }
      return list;
    },
    REFRESH_MS,
    [],
  );
  const [filter, setFilter] = useState('');
  return (
    <>
      <Section
        title="Topics"
        actions={<input type="search" placeholder="Filter topics" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} aria-label="Filter topics" />}
      >
        <Loading state={topics}>
          {(list) => (
            <Table
              testId="topics"
              empty="No topics yet: create one below."
              head={['Name', 'Partitions', 'Replication', 'Records', 'Size', 'Message rate']}
              numeric={[1, 2, 3, 4, 5]}
              rows={list
                .filter((t) => t.name.includes(filter))
                .map((t) => [
                  <a href={href('topics', t.name)}>{t.name}</a>,
                  String(t.partitions.length),
                  String(t.partitions[0]?.replicas?.length ?? '—'),
                  formatCount(recordCount(t.partitions)),
                  formatBytes(topicBytes(t.partitions)),
                  formatRate(samples.current.get(t.name)?.rate),
                ])}
            />
          )}
        </Loading>
        <p class="muted">Records: between each partition’s first and next offset. Message rate: records written per second since the previous refresh (every 5 s).</p>
      </Section>
      <Section title="Create a topic">
        <CreateTopic onCreated={topics.reload} />
      </Section>
    </>
  );
}
