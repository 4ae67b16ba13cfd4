/**
 * The shell: sign-in when there is no session; otherwise the header (views, connection state,
 * who is signed in, sign-out), the live connection, and the view the URL names.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { ApiError, setUnauthorizedHandler } from './api/http.ts';
import type { Session } from './api/session.ts';
import { mayAdminister, mayOperate, SESSION_KEY, signIn, signOut, useSession } from './api/session.ts';
import { ConnectionBadge } from './components/connection-badge.tsx';
import { LiveProvider } from './live/live-context.tsx';
import { href, useRoute } from './router.ts';
import { PolicyView, SecretsView, TokensView } from './views/access-views.tsx';
import { DeployView } from './views/deploy-view.tsx';
import { EventsView } from './views/events-view.tsx';
import { NodesView } from './views/nodes-view.tsx';
import { ServicePage } from './views/service-page.tsx';
import { ServicesView } from './views/services-view.tsx';

export function App() {
  const client = useQueryClient();
  const session = useSession();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      client.setQueryData(SESSION_KEY, null);
    });
  }, [client]);
  if (session.isPending) return <p className="muted centered">Loading…</p>;
  if (session.error)
    return <p className="error centered">The server could not be reached: {session.error.message}</p>;
  if (!session.data) return <SignIn />;
  return (
    <LiveProvider client={client} onAuthLost={() => void client.invalidateQueries({ queryKey: SESSION_KEY })}>
      <Shell session={session.data} />
    </LiveProvider>
  );
}

function SignIn() {
  const client = useQueryClient();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await signIn(token.trim());
      // The token is not kept: the cookie the server set stands for it from now on.
      setToken('');
      client.setQueryData(SESSION_KEY, session);
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 401
          ? 'That token is not valid (or has expired).'
          : e instanceof Error
            ? e.message
            : String(e),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Skiff</h1>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          required
          // biome-ignore lint/a11y/noAutofocus: the one field of the page
          autoFocus
        />
        <p className="muted">
          The admin token is in the data directory's admin.token; `skiff token create` makes others.
        </p>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function Shell({ session }: { session: Session }) {
  const client = useQueryClient();
  const { segments } = useRoute();
  const [first = 'services', second] = segments;
  useEffect(() => {
    // The bare address names the services view, so what is bookmarked from it says so.
    if (segments.length === 0) history.replaceState(null, '', href(['services']));
  }, [segments.length]);
  const out = async () => {
    await signOut().catch(() => {});
    // Signed out first (the views and the stream unmount), then nothing of the session stays cached.
    client.setQueryData(SESSION_KEY, null);
    client.removeQueries({ predicate: (query) => query.queryKey[0] !== SESSION_KEY[0] });
  };
  const links: [string, string][] = [
    ['services', 'Services'],
    ['nodes', 'Nodes'],
    ['events', 'Events'],
    ['secrets', 'Secrets'],
    ['policy', 'Policy'],
  ];
  // Offered to the roles that may use it; the API decides again on every request.
  if (mayOperate(session.role)) links.splice(3, 0, ['deploy', 'Deploy']);
  if (mayAdminister(session.role)) links.push(['tokens', 'Tokens']);
  useSlashToFilter();
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <a className="brand" href={href(['services'])}>
          Skiff
        </a>
        <nav className="views" aria-label="Views">
          {links.map(([path, label]) => (
            <a key={path} href={href([path])} aria-current={first === path ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <ConnectionBadge />
        <span className="who" data-testid="who">
          {session.name} ({session.role})
        </span>
        <button type="button" onClick={out}>
          Sign out
        </button>
      </header>
      <main id="main">
        <View first={first} second={second} session={session} />
      </main>
    </>
  );
}

/** `/` moves the focus to the view's filter or search box, as in most list UIs. */
function useSlashToFilter(): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target as HTMLElement | null;
      if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)))
        return;
      const search = document.querySelector<HTMLInputElement>('main input[type="search"]');
      if (!search) return;
      event.preventDefault();
      search.focus();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

function View({ first, second, session }: { first: string; second: string | undefined; session: Session }) {
  switch (first) {
    case 'services':
      return second ? <ServicePage name={second} /> : <ServicesView />;
    case 'nodes':
      return <NodesView />;
    case 'events':
      return <EventsView />;
    case 'deploy':
      return session.role === 'viewer' ? (
        <p>Deploying needs an operator or admin token; this session is {session.role}.</p>
      ) : (
        <DeployView />
      );
    case 'secrets':
      return <SecretsView />;
    case 'policy':
      return <PolicyView />;
    case 'tokens':
      return <TokensView />;
    default:
      return (
        <p>
          No view here. <a href={href(['services'])}>Services</a>
        </p>
      );
  }
}
