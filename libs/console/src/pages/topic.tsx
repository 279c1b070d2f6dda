// One topic: partitions, configs (editable), a message browser, a produce form and a live tail over SSE.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ok, recordCount, topicPath, type HttpRecord, type Partition, type Topic } from '../api.js';
import { errorText, formatCount, formatTime, parsePairs, prettyValue } from '../format.js';
import { href, usePoll } from '../hooks.js';
import { ActionButton, ErrorBox, Loading, Section, Table } from '../components/ui.js';

const TABS = [
  ['partitions', 'Partitions'],
  ['configs', 'Configs'],
  ['messages', 'Messages'],
  ['produce', 'Produce'],
  ['tail', 'Live tail'],
] as const;

function Partitions(props: { topic: string }) {
  const partitions = usePoll(() => ok(api.GET('/topics/{topic}/partitions', topicPath(props.topic))), 5000, [props.topic]);
  return (
    <Section title="Partitions" actions={partitions.data && <span class="muted">{formatCount(recordCount(partitions.data))} records</span>}>
      <Loading state={partitions}>
        {(list) => (
          <Table
            testId="partitions"
            head={['Partition', 'Leader', 'Replicas', 'In sync', 'Start offset', 'End offset', 'Records']}
            numeric={[0, 1, 4, 5, 6]}
            rows={list.map((p: Partition) => [
              String(p.partition),
              p.leader !== undefined && p.leader >= 0 ? String(p.leader) : <span class="badge bad">none</span>,
              (p.replicas ?? []).map((r) => r.broker).join(', '),
              (p.replicas ?? [])
                .filter((r) => r.in_sync)
                .map((r) => r.broker)
                .join(', ') || '—',
              formatCount(p.beginning_offset),
              formatCount(p.end_offset),
              formatCount(Math.max(0, (p.end_offset ?? 0) - (p.beginning_offset ?? 0))),
            ])}
          />
        )}
      </Loading>
    </Section>
  );
}

function Configs(props: { topic: Topic; onSaved: () => void }) {
  const original = props.topic.configs ?? {};
  const [edits, setEdits] = useState<Record<string, string>>({});
  const [removed, setRemoved] = useState<Set<string>>(new Set());
  const [newKey, setNewKey] = useState('');
  const [newValue, setNewValue] = useState('');
  const value = (k: string) => edits[k] ?? original[k] ?? '';
  const changes = (): Record<string, string | null> => {
    const out: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(edits)) if (v !== original[k]) out[k] = v;
    for (const k of removed) out[k] = null;
    if (newKey.trim()) out[newKey.trim()] = newValue;
    return out;
  };
  const save = async () => {
    const configs = changes();
    if (Object.keys(configs).length === 0) return 'nothing changed';
    await ok(api.PUT('/topics/{topic}/configs', { ...topicPath(props.topic.name ?? ''), body: { configs } }));
    setEdits({});
    setRemoved(new Set());
    setNewKey('');
    setNewValue('');
    props.onSaved();
    return `saved ${Object.keys(configs).join(', ')}`;
  };
  const keys = Object.keys(original).sort();
  return (
    <Section title="Configs">
      <Table
        testId="configs"
        empty="No config overrides: the topic uses the defaults."
        head={['Key', 'Value', '']}
        rows={keys.map((k) => [
          <code>{k}</code>,
          <input aria-label={k} value={value(k)} disabled={removed.has(k)} onInput={(e) => setEdits({ ...edits, [k]: e.currentTarget.value })} />,
          <label class="inline">
            <input
              type="checkbox"
              checked={removed.has(k)}
              onChange={(e) => {
                const next = new Set(removed);
                if (e.currentTarget.checked) next.add(k);
                else next.delete(k);
                setRemoved(next);
              }}
            />{' '}
            remove
          </label>,
        ])}
      />
      <div class="form">
        <label>
          New key <input name="config-key" value={newKey} onInput={(e) => setNewKey(e.currentTarget.value)} placeholder="retention.ms" />
        </label>
        <label>
          Value <input name="config-value" value={newValue} onInput={(e) => setNewValue(e.currentTarget.value)} />
        </label>
        <ActionButton label="Save configs" run={save} />
      </div>
    </Section>
  );
}

type From = 'newest' | 'offset' | 'timestamp';

/** Records of the chosen partitions: the newest `count` of each, or `count` from an offset or a timestamp on. */
async function browse(topic: string, partitions: number[], from: From, at: string, count: number): Promise<HttpRecord[]> {
  const perPartition = await Promise.all(
    partitions.map(async (partition) => {
      const path = { params: { path: { topic, partition } } };
      const offsets = await ok(
        api.GET('/topics/{topic}/partitions/{partition}/offsets', {
          params: { path: { topic, partition }, query: from === 'timestamp' ? { timestamp: new Date(at).getTime() } : {} },
        }),
      );
      let start: number;
      if (from === 'newest') start = Math.max(offsets.beginning_offset, offsets.end_offset - count);
      else if (from === 'offset') start = Math.max(offsets.beginning_offset, Number(at));
      else if (offsets.timestamp_offset === null || offsets.timestamp_offset === undefined) return [];
      else start = offsets.timestamp_offset;
      if (start >= offsets.end_offset) return [];
      return ok(api.GET('/topics/{topic}/partitions/{partition}/records', { params: { ...path.params, query: { offset: start, count, format: 'string' } } }));
    }),
  );
  // Newest first: by timestamp, then offset.
  return perPartition
    .flat()
    .sort((a, b) => (b.timestamp ?? 0) - (a.timestamp ?? 0) || (b.offset ?? 0) - (a.offset ?? 0))
    .slice(0, from === 'newest' ? count : undefined);
}

function matches(r: HttpRecord, needle: string): boolean {
  if (!needle) return true;
  const n = needle.toLowerCase();
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v ?? null)).toLowerCase();
  return text(r.key).includes(n) || text(r.value).includes(n) || (r.headers ?? []).some((h) => `${h.key}=${h.value ?? ''}`.toLowerCase().includes(n));
}

function Value(props: { value: unknown }) {
  const v = prettyValue(props.value);
  return <pre class={v.json ? 'json' : undefined}>{v.text}</pre>;
}

export function RecordTable(props: { records: HttpRecord[]; testId: string }) {
  return (
    <Table
      testId={props.testId}
      empty="No records."
      head={['Partition', 'Offset', 'Timestamp', 'Key', 'Value', 'Headers']}
      numeric={[0, 1]}
      rows={props.records.map((r) => [
        String(r.partition),
        String(r.offset),
        <span class="nowrap">{formatTime(r.timestamp ?? 0)}</span>,
        r.key === null || r.key === undefined ? <span class="muted">null</span> : <Value value={r.key} />,
        <Value value={r.value} />,
        (r.headers ?? []).map((h) => (
          <div>
            <code>{h.key}</code>={h.value ?? <span class="muted">null</span>}
          </div>
        )),
      ])}
    />
  );
}

function Messages(props: { topic: Topic }) {
  const partitionIds = (props.topic.partitions ?? []).map((p) => p.partition ?? 0);
  const [partition, setPartition] = useState('all');
  const [from, setFrom] = useState<From>('newest');
  const [at, setAt] = useState('');
  const [count, setCount] = useState('50');
  const [search, setSearch] = useState('');
  const [records, setRecords] = useState<HttpRecord[]>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const load = async (e?: Event) => {
    e?.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setRecords(await browse(props.topic.name ?? '', partition === 'all' ? partitionIds : [Number(partition)], from, at, Math.max(1, Number(count) || 50)));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => void load(), [props.topic.name]);
  const shown = useMemo(() => (records ?? []).filter((r) => matches(r, search)), [records, search]);
  return (
    <Section title="Messages">
      <form class="form" onSubmit={(e) => void load(e)} data-testid="browse">
        <label>
          Partition
          <select name="partition" value={partition} onChange={(e) => setPartition(e.currentTarget.value)}>
            <option value="all">all</option>
            {partitionIds.map((p) => (
              <option value={String(p)}>{p}</option>
            ))}
          </select>
        </label>
        <label>
          From
          <select name="from" value={from} onChange={(e) => setFrom(e.currentTarget.value as From)}>
            <option value="newest">newest</option>
            <option value="offset">offset</option>
            <option value="timestamp">timestamp</option>
          </select>
        </label>
        {from !== 'newest' && (
          <label>
            {from === 'offset' ? 'Offset' : 'Time'}
            <input name="at" type={from === 'offset' ? 'number' : 'datetime-local'} min="0" required value={at} onInput={(e) => setAt(e.currentTarget.value)} />
          </label>
        )}
        <label>
          Count <input name="count" type="number" min="1" max="1000" value={count} onInput={(e) => setCount(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Loading…' : 'Load'}
        </button>
        <label class="wide">
          Search loaded messages <input type="search" name="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} placeholder="text in key, value or headers" />
        </label>
      </form>
      <ErrorBox error={error} />
      {records && (
        <p class="muted" data-testid="browse-count">
          {shown.length} of {records.length} loaded records, newest first
        </p>
      )}
      {records && <RecordTable records={shown} testId="messages" />}
    </Section>
  );
}

function Produce(props: { topic: Topic; onProduced: () => void }) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [headers, setHeaders] = useState('');
  const [partition, setPartition] = useState('');
  const [format, setFormat] = useState<'string' | 'json'>('string');
  const produce = async () => {
    const parsed = format === 'json' ? (JSON.parse(value) as unknown) : value;
    const answer = await ok(
      api.POST('/topics/{topic}', {
        ...topicPath(props.topic.name ?? ''),
        body: {
          format,
          records: [
            {
              key: key === '' ? null : key,
              value: parsed,
              ...(headers.trim() ? { headers: parsePairs(headers) } : {}),
              ...(partition !== '' ? { partition: Number(partition) } : {}),
            },
          ],
        },
      }),
    );
    const o = answer.offsets?.[0];
    if (o?.error) throw new Error(`${o.error_code ?? ''} ${o.error}`);
    props.onProduced();
    return `written to partition ${o?.partition} at offset ${o?.offset}`;
  };
  return (
    <Section title="Produce a record">
      <div class="form" data-testid="produce">
        <label>
          Key <input name="key" value={key} onInput={(e) => setKey(e.currentTarget.value)} placeholder="(none)" />
        </label>
        <label>
          Partition
          <select name="partition" value={partition} onChange={(e) => setPartition(e.currentTarget.value)}>
            <option value="">by key</option>
            {(props.topic.partitions ?? []).map((p) => (
              <option value={String(p.partition)}>{p.partition}</option>
            ))}
          </select>
        </label>
        <label>
          Format
          <select name="format" value={format} onChange={(e) => setFormat(e.currentTarget.value as 'string' | 'json')}>
            <option value="string">string</option>
            <option value="json">JSON</option>
          </select>
        </label>
        <label class="wide">
          Value <textarea name="value" rows={4} value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <label class="wide">
          Headers (key=value, one a line) <textarea name="headers" rows={2} value={headers} onInput={(e) => setHeaders(e.currentTarget.value)} />
        </label>
        <ActionButton label="Produce" run={produce} />
      </div>
    </Section>
  );
}

const TAIL_KEEP = 500;

function Tail(props: { topic: string }) {
  const [running, setRunning] = useState(false);
  const [records, setRecords] = useState<HttpRecord[]>([]);
  const [status, setStatus] = useState('');
  useEffect(() => {
    if (!running) return;
    const source = new EventSource(`${location.origin}/topics/${encodeURIComponent(props.topic)}/stream?offset=latest&format=string`);
    source.addEventListener('open', () => setStatus('connected: waiting for records'));
    source.addEventListener('record', (e) => {
      const record = JSON.parse((e as MessageEvent<string>).data) as HttpRecord;
      setRecords((list) => [record, ...list].slice(0, TAIL_KEEP));
      setStatus('connected');
    });
    source.addEventListener('error', (e) => {
      const data = (e as MessageEvent<string>).data;
      setStatus(data ? `stream error: ${errorText(JSON.parse(data).message)}` : 'reconnecting…');
    });
    return () => source.close();
  }, [running, props.topic]);
  return (
    <Section
      title="Live tail"
      actions={
        <span class="action">
          <button type="button" data-testid="tail-toggle" onClick={() => setRunning(!running)}>
            {running ? 'Stop' : 'Start'}
          </button>
          <button type="button" onClick={() => setRecords([])}>
            Clear
          </button>
        </span>
      }
    >
      <p class="muted" data-testid="tail-status">
        {running ? status || 'connecting…' : 'Stopped. Start to follow new records of every partition (Server-Sent Events).'}
      </p>
      <RecordTable records={records} testId="tail" />
    </Section>
  );
}

export function TopicPage(props: { name: string; tab?: string }) {
  const topic = usePoll(() => ok(api.GET('/topics/{topic}', topicPath(props.name))), undefined, [props.name]);
  const tab = TABS.some(([t]) => t === props.tab) ? props.tab : 'partitions';
  return (
    <>
      <h1>
        <a href={href('topics')}>Topics</a> / <span data-testid="topic-name">{props.name}</span>
      </h1>
      <Loading state={topic}>
        {(t) => (
          <>
            <p class="muted">
              {t.partitions?.length ?? 0} partitions, replication factor {t.partitions?.[0]?.replicas?.length ?? '—'}
              {' · '}id <code>{t.id}</code>
            </p>
            <nav class="tabs">
              {TABS.map(([id, label]) => (
                <a href={href('topics', props.name, id)} class={tab === id ? 'active' : undefined}>
                  {label}
                </a>
              ))}
              <span class="spacer" />
              <ActionButton
                label="Delete topic"
                danger
                confirm={`Delete topic ${props.name} and all its records?`}
                run={async () => {
                  await ok(api.DELETE('/topics/{topic}', topicPath(props.name)));
                  location.hash = href('topics');
                }}
              />
            </nav>
            {tab === 'partitions' && <Partitions topic={props.name} />}
            {tab === 'configs' && <Configs topic={t} onSaved={topic.reload} />}
            {tab === 'messages' && <Messages topic={t} />}
            {tab === 'produce' && <Produce topic={t} onProduced={topic.reload} />}
            {tab === 'tail' && <Tail topic={props.name} />}
          </>
        )}
      </Loading>
    </>
  );
}
