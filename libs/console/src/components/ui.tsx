// Building blocks shared by the pages: tables, sections, errors and a busy-aware button.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { errorText } from '../format.js';

export function Section(props: { title: string; children: ComponentChildren; actions?: ComponentChildren; id?: string }) {
  return (
    <section class="card" id={props.id}>
      <header>
        <h2>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

export function ErrorBox(props: { error: unknown }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {errorText(props.error)}
    </p>
  );
}

export function Loading<T>(props: { state: { data?: T; error?: unknown; loading: boolean }; children: (data: T) => ComponentChildren }) {
  const { data, error, loading } = props.state;
  return (
    <>
      <ErrorBox error={error} />
      {data !== undefined ? props.children(data) : loading ? <p class="muted">Loading…</p> : null}
    </>
  );
}

export function Table(props: { head: ComponentChildren[]; rows: ComponentChildren[][]; empty?: string; testId?: string; numeric?: number[] }) {
  if (props.rows.length === 0) return <p class="muted">{props.empty ?? 'None.'}</p>;
  const numeric = new Set(props.numeric ?? []);
  return (
    <table data-testid={props.testId}>
      <thead>
        <tr>
          {props.head.map((h, i) => (
            <th class={numeric.has(i) ? 'num' : undefined}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.map((r) => (
          <tr>
            {r.map((c, i) => (
              <td class={numeric.has(i) ? 'num' : undefined}>{c}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A button that runs an async action, is disabled while it runs, and shows its error or result beside it. */
export function ActionButton(props: { label: string; run: () => Promise<string | void>; disabled?: boolean; danger?: boolean; confirm?: string }) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ error?: unknown; message?: string }>({});
  const click = async () => {
    if (props.confirm && !confirm(props.confirm)) return;
    setBusy(true);
    setOutcome({});
    try {
      const message = await props.run();
      setOutcome({ message: message ?? undefined });
    } catch (error) {
      setOutcome({ error });
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button type="button" class={props.danger ? 'danger' : undefined} disabled={busy || props.disabled} onClick={() => void click()}>
        {busy ? `${props.label}…` : props.label}
      </button>
      {outcome.message && <span class="ok">{outcome.message}</span>}
      <ErrorBox error={outcome.error} />
    </span>
  );
}

export function StateBadge(props: { state: string }) {
  const good = ['alive', 'Stable', 'up', 'active'].includes(props.state);
  const bad = ['fenced', 'Dead', 'down', 'offline'].includes(props.state);
  return <span class={`badge ${good ? 'good' : bad ? 'bad' : 'neutral'}`}>{props.state}</span>;
}
