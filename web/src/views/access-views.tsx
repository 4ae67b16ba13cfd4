/**
 * Read-only views of secrets and configs (names and versions, never values), tokens (admins
 * only: the API refuses others) and the admission policy.
 */
import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '../api/http.ts';
import type { PolicyView as Policy, SecretView, TokenView } from '../api/types.ts';
import { formatBytes, formatTime } from '../format.ts';

export function SecretsView() {
  const secrets = useQuery({
    queryKey: ['secrets'],
    queryFn: () => apiRequest<SecretView[]>('GET', '/api/secrets'),
  });
  const configs = useQuery({
    queryKey: ['configs'],
    queryFn: () => apiRequest<SecretView[]>('GET', '/api/configs'),
  });
  return (
    <section aria-labelledby="secrets-title">
      <h1 id="secrets-title">Secrets and configs</h1>
      <p className="muted">Values are never shown; the API does not give them out.</p>
      <h2>Secrets</h2>
      <Listing query={secrets} />
      <h2>Configs</h2>
      <Listing query={configs} />
    </section>
  );
}

function Listing({ query }: { query: { data?: SecretView[] | undefined; error: Error | null } }) {
  if (query.error) return <p className="error">{query.error.message}</p>;
  if (!query.data) return <p className="muted">Loading…</p>;
  if (query.data.length === 0) return <p className="muted">None.</p>;
  return (
    <div className="table access">
      <div className="row head">
        <span>Name</span>
        <span>Version</span>
        <span>Size</span>
        <span>Updated</span>
      </div>
      {query.data.map((s) => (
        <div className="row" key={s.name}>
          <span className="mono">{s.name}</span>
          <span>{s.version}</span>
          <span>{formatBytes(s.size_bytes)}</span>
          <span>{formatTime(s.updated_at)}</span>
        </div>
      ))}
    </div>
  );
}

export function TokensView() {
  const tokens = useQuery({
    queryKey: ['tokens'],
    queryFn: () => apiRequest<TokenView[]>('GET', '/api/tokens'),
  });
  return (
    <section aria-labelledby="tokens-title">
      <h1 id="tokens-title">Tokens</h1>
      {tokens.error && <p className="error">{tokens.error.message}</p>}
      <div className="table access">
        <div className="row head">
          <span>Name</span>
          <span>Role</span>
          <span>Last used</span>
          <span>Expires</span>
        </div>
        {(tokens.data ?? []).map((t) => (
          <div className="row" key={t.name}>
            <span className="mono">{t.name}</span>
            <span>{t.role}</span>
            <span>{formatTime(t.last_used_at)}</span>
            <span>{t.expires_at ? formatTime(t.expires_at) : 'never'}</span>
          </div>
        ))}
      </div>
      <p className="muted">Create and remove tokens with `skiff token create|rm`.</p>
    </section>
  );
}

export function PolicyView() {
  const policy = useQuery({
    queryKey: ['policy'],
    queryFn: () => apiRequest<Policy>('GET', '/api/policy'),
  });
  return (
    <section aria-labelledby="policy-title">
      <h1 id="policy-title">Admission policy</h1>
      {policy.error && <p className="error">{policy.error.message}</p>}
      {policy.data && (
        <>
          <p>
            Mode: <strong>{policy.data.mode}</strong>
          </p>
          <h2>Exceptions</h2>
          {Object.keys(policy.data.exceptions).length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <ul>
              {Object.entries(policy.data.exceptions).map(([service, allowed]) => (
                <li key={service}>
                  <span className="mono">{service}</span>: {allowed.join(', ')}
                </li>
              ))}
            </ul>
          )}
          <p className="muted">Change it with `skiff policy allow|deny|set`.</p>
        </>
      )}
    </section>
  );
}
