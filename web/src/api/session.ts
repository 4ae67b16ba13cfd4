/**
 * Signing in and out. A token is exchanged once for the server's session cookie
 * (`POST /api/session`; HttpOnly and SameSite=Strict, so script never holds the credential and
 * the token is never kept in the browser); `GET /api/session` says who is signed in, with which
 * role, and repeats the CSRF token that state-changing requests carry.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, apiRequest, setCsrfToken } from './http.ts';
import type { Role } from './types.ts';

export interface Session {
  /** The token's name (`admin` for the admin token). */
  readonly name: string;
  readonly role: Role;
}

interface SessionBody {
  readonly name?: string;
  readonly token_name?: string;
  readonly role: Role;
  readonly csrf_token?: string;
  readonly csrf?: string;
}

export const SESSION_KEY = ['session'] as const;

function accept(body: SessionBody): Session {
  setCsrfToken(body.csrf_token ?? body.csrf);
  return { name: body.name ?? body.token_name ?? 'unknown', role: body.role };
}

/** The current session, or null when signed out. */
export async function readSession(): Promise<Session | null> {
  try {
    return accept(await apiRequest<SessionBody>('GET', '/api/session', { expectUnauthorized: true }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      setCsrfToken(undefined);
      return null;
    }
    throw error;
  }
}

export async function signIn(token: string): Promise<Session> {
  return accept(
    await apiRequest<SessionBody>('POST', '/api/session', { body: { token }, expectUnauthorized: true }),
  );
}

export async function signOut(): Promise<void> {
  try {
    await apiRequest('DELETE', '/api/session', { expectUnauthorized: true });
  } finally {
    setCsrfToken(undefined);
  }
}

export function useSession() {
  return useQuery({
    queryKey: SESSION_KEY,
    queryFn: readSession,
    staleTime: Number.POSITIVE_INFINITY,
    retry: 1,
  });
}

export function useRole(): Role | undefined {
  return useSession().data?.role ?? undefined;
}

/** What a role may do, as the server's route table decides (src/auth/route-permissions.ts). */
export function mayOperate(role: Role | undefined): boolean {
  return role === 'operator' || role === 'admin';
}

export function mayAdminister(role: Role | undefined): boolean {
  return role === 'admin';
}

export function useSignedOut(): () => void {
  const client = useQueryClient();
  return () => {
    setCsrfToken(undefined);
    client.setQueryData(SESSION_KEY, null);
  };
}
