// Small Preact hooks: the hash route, and data loaded now and refreshed while the page is open.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** The hash route as path segments: `#/topics/orders` → ['topics', 'orders']. */
export function useRoute(): string[] {
  const read = () =>
    location.hash
      .replace(/^#\/?/, '')
      .split('/')
      .filter(Boolean)
      .map((s) => decodeURIComponent(s));
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export const href = (...parts: string[]) => `#/${parts.map(encodeURIComponent).join('/')}`;

export interface Loaded<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
  reload: () => void;
}

/** Loads with `load()` now and every `everyMs` (when given) while mounted; keys change → load again. */
export function usePoll<T>(load: () => Promise<T>, everyMs: number | undefined, keys: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    load().then(
      (data) => mine === generation.current && setState({ data, loading: false }),
      (error: unknown) => mine === generation.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
  }, keys);
  useEffect(() => {
    setState({ loading: true });
    run();
    if (!everyMs) return () => void generation.current++;
    const timer = setInterval(run, everyMs);
    return () => {
      clearInterval(timer);
      generation.current++;
    };
  }, [run, everyMs]);
  return { ...state, reload: run };
}
