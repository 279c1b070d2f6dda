// Consumer groups: every group with its state and total lag.
import { api, groupPath, ok, totalLag, type GroupSummary } from '../api.js';
import { formatCount } from '../format.js';
import { href, usePoll } from '../hooks.js';
import { Loading, Section, StateBadge, Table } from '../components/ui.js';

interface GroupRow extends GroupSummary {
  lag: number | null;
  topics: string[];
}

async function loadGroups(): Promise<GroupRow[]> {
  const groups = await ok(api.GET('/consumer-groups'));
  const rows = await Promise.all(
    groups.map(async (g) => {
      const lag = await ok(api.GET('/consumer-groups/{group}/lag', groupPath(g.group_id))).catch(() => []);
      return { ...g, lag: totalLag(lag), topics: [...new Set(lag.map((l) => l.topic))].sort() };
    }),
  );
  return rows.sort((a, b) => a.group_id.localeCompare(b.group_id));
}

export function GroupsPage() {
  const groups = usePoll(loadGroups, 5000, []);
  return (
    <Section title="Consumer groups">
      <Loading state={groups}>
        {(list) => (
          <Table
            testId="groups"
            empty="No consumer groups yet."
            head={['Group', 'State', 'Protocol', 'Topics', 'Total lag']}
            numeric={[4]}
            rows={list.map((g) => [
              <a href={href('groups', g.group_id)}>{g.group_id}</a>,
              <StateBadge state={g.state} />,
              g.protocol_type || '—',
              g.topics.join(', ') || '—',
              formatCount(g.lag),
            ])}
          />
        )}
      </Loading>
    </Section>
  );
}
