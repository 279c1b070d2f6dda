// The Sluice web console: a single page with hash routes (#/, #/topics, #/topics/NAME[/TAB], #/groups, #/groups/ID).
import { render } from 'preact';
import { useRoute, href } from './hooks.js';
import { OverviewPage } from './pages/overview.js';
import { TopicsPage } from './pages/topics.js';
import { TopicPage } from './pages/topic.js';
import { GroupsPage } from './pages/groups.js';
import { GroupPage } from './pages/group.js';
import './styles.css';

function Page(props: { route: string[] }) {
  const [section, id, tab] = props.route;
  switch (section) {
    case undefined:
      return <OverviewPage />;
    case 'topics':
      return id ? <TopicPage key={id} name={id} tab={tab} /> : <TopicsPage />;
    case 'groups':
      return id ? <GroupPage key={id} id={id} /> : <GroupsPage />;
    default:
      return (
        <p class="error">
          No page {location.hash}. <a href={href()}>Overview</a>
        </p>
      );
  }
}

function App() {
  const route = useRoute();
  const section = route[0] ?? '';
  const link = (to: string, label: string) => (
    <a href={href(...(to ? [to] : []))} class={section === to ? 'active' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <header class="top">
        <a class="brand" href={href()}>
          Sluice
        </a>
        <nav>
          {link('', 'Overview')}
          {link('topics', 'Topics')}
          {link('groups', 'Consumer groups')}
          <a href="/docs" target="_blank" rel="noopener">
            API docs
          </a>
        </nav>
      </header>
      <main>
        <Page route={route} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
