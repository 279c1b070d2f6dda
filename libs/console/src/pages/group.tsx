// One consumer group: members and their assignment, lag per partition, a lag chart sampled while the page is open,
// resetting the offsets of an inactive group, and deleting it.
import { useState } from 'preact/hooks';
import { api, groupPath, ok, totalLag, type Group, type LagRow, type ResetRequest } from '../api.js';
import { formatCount } from '../format.js';
import { href, usePoll } from '../hooks.js';
import { ActionButton, ErrorBox, Loading, Section, StateBadge, Table } from '../components/ui.js';
import { LagChart, type LagSample } from '../components/lag-chart.js';

const SAMPLE_MS = 2000;
const KEEP_SAMPLES = 900;

interface GroupView {
  group: Group;
  lag: LagRow[];
}

type To = ResetRequest['to'];

function ResetOffsets(props: { group: string; topics: string[]; active: boolean; onDone: () => void }) {
  const [topic, setTopic] = useState(props.topics[0] ?? '');
  const [to, setTo] = useState<To>('earliest');
  const [value, setValue] = useState('');
  const [result, setResult] = useState<string>();
  const [error, setError] = useState<unknown>();
  const request = (dryRun: boolean): ResetRequest => ({
    topic: topic.trim(),
    to,
    dry_run: dryRun,
    ...(to === 'offset' ? { offset: Number(value) } : {}),
    ...(to === 'shift' ? { shift_by: Number(value) } : {}),
    ...(to === 'timestamp' ? { timestamp: new Date(value).getTime() } : {}),
  });
  const run = async (dryRun: boolean) => {
    setError(undefined);
    setResult(undefined);
    try {
      const answer = await ok(api.POST('/consumer-groups/{group}/offsets', { ...groupPath(props.group), body: request(dryRun) }));
      setResult(
        `${dryRun ? 'Would set' : 'Set'} ${answer.offsets.map((o) => `partition ${o.partition}: ${o.previous_offset ?? '—'} → ${o.offset}`).join('; ') || 'no partitions'}`,
      );
      if (!dryRun) props.onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Section title="Reset offsets">
      {props.active && <p class="muted">The group has active members: offsets can be reset only while it is empty (stop its consumers first).</p>}
      <form class="form" data-testid="reset-offsets" onSubmit={(e) => (e.preventDefault(), void run(false))}>
        <label>
          Topic
          <input name="topic" list="group-topics" required value={topic} onInput={(e) => setTopic(e.currentTarget.value)} />
          <datalist id="group-topics">
            {props.topics.map((t) => (
              <option value={t} />
            ))}
          </datalist>
        </label>
        <label>
          To
          <select name="to" value={to} onChange={(e) => setTo(e.currentTarget.value as To)}>
            <option value="earliest">earliest</option>
            <option value="latest">latest</option>
            <option value="offset">offset</option>
            <option value="timestamp">timestamp</option>
            <option value="shift">shift by</option>
          </select>
        </label>
        {(to === 'offset' || to === 'shift' || to === 'timestamp') && (
          <label>
            {to === 'timestamp' ? 'Time' : to === 'shift' ? 'Shift by' : 'Offset'}
            <input name="value" type={to === 'timestamp' ? 'datetime-local' : 'number'} required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
          </label>
        )}
        <button type="button" disabled={props.active || !topic} onClick={() => void run(true)}>
          Preview
        </button>
        <button type="submit" disabled={props.active || !topic}>
          Reset
        </button>
      </form>
      {result && (
        <p class="ok" data-testid="reset-result">
          {result}
        </p>
      )}
      <ErrorBox error={error} />
    </Section>
  );
}

export function GroupPage(props: { id: string }) {
  const [samples, setSamples] = useState<LagSample[]>([]);
  const view = usePoll<GroupView>(
    async () => {
      const [group, lag] = await Promise.all([ok(api.GET('/consumer-groups/{group}', groupPath(props.id))), ok(api.GET('/consumer-groups/{group}/lag', groupPath(props.id)))]);
      const partitions: Record<string, number> = {};
      for (const l of lag) if (l.lag !== null) partitions[`${l.topic}/${l.partition}`] = l.lag;
      const sample = { at: Date.now() / 1000, total: Object.values(partitions).reduce((a, b) => a + b, 0), partitions };
      setSamples((s) => [...s, sample].slice(-KEEP_SAMPLES));
      return { group, lag };
    },
    SAMPLE_MS,
    [props.id],
  );
  return (
    <>
      <h1>
        <a href={href('groups')}>Consumer groups</a> / <span data-testid="group-name">{props.id}</span>
      </h1>
      <Loading state={view}>
        {({ group, lag }) => {
          const active = group.members.length > 0;
          return (
            <>
              <p>
                <StateBadge state={group.state} /> {group.protocol_type || 'no protocol type'}
                {group.protocol ? ` (${group.protocol})` : ''} · {group.members.length} members · total lag <b data-testid="total-lag">{formatCount(totalLag(lag) ?? 0)}</b>
              </p>
              <Section title="Members">
                <Table
                  testId="members"
                  empty="No members: the group is inactive."
                  head={['Member', 'Instance', 'Client', 'Host', 'Assignment']}
                  rows={group.members.map((m) => [
                    <code>{m.member_id}</code>,
                    m.group_instance_id ?? '—',
                    m.client_id,
                    m.client_host,
                    m.assignments.map((a) => `${a.topic}/${a.partition}`).join(', ') || '—',
                  ])}
                />
              </Section>
              <Section title="Lag per partition">
                <Table
                  testId="lag"
                  empty="No committed offsets."
                  head={['Topic', 'Partition', 'Committed', 'End offset', 'Lag']}
                  numeric={[1, 2, 3, 4]}
                  rows={lag.map((l) => [
                    <a href={href('topics', l.topic)}>{l.topic}</a>,
                    String(l.partition),
                    formatCount(l.committed_offset),
                    formatCount(l.log_end_offset),
                    formatCount(l.lag),
                  ])}
                />
              </Section>
              <Section title="Lag over time">
                <LagChart samples={samples} />
                <p class="muted">Sampled every {SAMPLE_MS / 1000} s while this page is open.</p>
              </Section>
              <ResetOffsets group={props.id} topics={[...new Set(lag.map((l) => l.topic))].sort()} active={active} onDone={view.reload} />
              <Section title="Delete the group">
                <p class="muted">Deletes the group and its committed offsets; only an inactive group can be deleted.</p>
                <ActionButton
                  label="Delete group"
                  danger
                  disabled={active}
                  confirm={`Delete consumer group ${props.id} and its committed offsets?`}
                  run={async () => {
                    await ok(api.DELETE('/consumer-groups/{group}', groupPath(props.id)));
                    location.hash = href('groups');
                  }}
                />
              </Section>
            </>
          );
        }}
      </Loading>
    </>
  );
}
