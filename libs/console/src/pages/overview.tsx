// Overview: the cluster's nodes of every role and the partitions that need attention.
import { api, ok, type Cluster } from '../api.js';
import { formatBytes, formatCount, formatTime } from '../format.js';
import { href, usePoll } from '../hooks.js';
import { Loading, Section, StateBadge, Table } from '../components/ui.js';

type Node = Cluster['group_coordinators'][number];

const upDown = (state: string) => <StateBadge state={state === 'alive' ? 'up' : 'down'} />;
const address = (n: Node) => `${n.host}${Object.entries(n.ports).map(([name, port]) => ` ${name}:${port}`).join('')}`;

function nodeRows(nodes: Node[]) {
  return nodes.map((n) => [String(n.id), upDown(n.state), address(n), n.rack ?? '—']);
}

function PartitionList(props: { rows: Cluster['offline_partitions']; testId: string; empty: string }) {
  return (
    <Table
      testId={props.testId}
      empty={props.empty}
      head={['Topic', 'Partition', 'Replicas', 'In sync']}
      rows={props.rows.map((p) => [<a href={href('topics', p.topic)}>{p.topic}</a>, String(p.partition), p.replicas.join(', '), p.isr.join(', ') || '—'])}
    />
  );
}

export function OverviewPage() {
  const cluster = usePoll(() => ok(api.GET('/cluster')), 5000, []);
  return (
    <Loading state={cluster}>
      {(c) => (
        <>
          <div class="stats">
            <div class="stat">
              <b data-testid="stat-brokers">{c.brokers.filter((b) => b.state === 'alive').length}/{c.brokers.length}</b> brokers up
            </div>
            <div class="stat">
              <b>{formatCount(c.topics)}</b> topics
            </div>
            <div class="stat">
              <b>{formatCount(c.partitions)}</b> partitions
            </div>
            <div class={`stat ${c.under_replicated_partitions.length ? 'warn' : ''}`}>
              <b data-testid="stat-under-replicated">{c.under_replicated_partitions.length}</b> under-replicated
            </div>
            <div class={`stat ${c.offline_partitions.length ? 'bad' : ''}`}>
              <b data-testid="stat-offline">{c.offline_partitions.length}</b> offline
            </div>
          </div>
          <Section title="Brokers">
            <Table
              testId="brokers"
              head={['Id', 'State', 'Address', 'Rack', 'Partitions', 'Leaders', 'Disk used']}
              numeric={[4, 5, 6]}
              rows={c.brokers.map((b) => [String(b.id), upDown(b.state), address(b), b.rack ?? '—', formatCount(b.partitions), formatCount(b.leaders), formatBytes(b.log_bytes)])}
            />
            <p class="muted">Disk used: the bytes of every replica's log on the broker.</p>
          </Section>
          <Section title="Controllers">
            <p data-testid="controller">
              Controller epoch <b>{c.controller_epoch}</b>, metadata offset <b>{formatCount(c.metadata_offset)}</b>, cluster id <code>{c.cluster_id}</code>
              {c.controllers ? `, lease ${formatCount(c.controllers.lease_ms)} ms` : ''}.
            </p>
            {c.controllers && (
              <Table
                testId="controllers"
                head={['Role', 'Id', 'Host', 'Process', 'Admin port', 'Since', 'Last seen']}
                rows={[
                  ['active', c.controllers.active, c.controllers.active.active_since] as const,
                  ...c.controllers.standbys.map((n) => ['standby', n, n.started_at] as const),
                ].map(([role, n, since]) => [
                  <StateBadge state={role} />,
                  <code>{n.id}</code>,
                  n.host,
                  String(n.pid),
                  n.admin_port > 0 ? String(n.admin_port) : '—',
                  formatTime(Date.parse(since)),
                  formatTime(Date.parse(n.last_seen_at)),
                ])}
              />
            )}
          </Section>
          <Section title="Group coordinators">
            <Table testId="coordinators" head={['Id', 'State', 'Address', 'Rack']} rows={nodeRows(c.group_coordinators)} empty="No group coordinator registered." />
          </Section>
          <Section title="Gateways">
            <Table testId="gateways" head={['Id', 'State', 'Address', 'Rack']} rows={nodeRows(c.gateways)} empty="No gateway registered." />
          </Section>
          <Section title="Under-replicated partitions">
            <PartitionList testId="under-replicated" rows={c.under_replicated_partitions} empty="None: every partition has all its replicas in sync." />
          </Section>
          <Section title="Offline partitions">
            <PartitionList testId="offline" rows={c.offline_partitions} empty="None: every partition has a leader." />
          </Section>
        </>
      )}
    </Loading>
  );
}
