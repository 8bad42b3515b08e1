/**
 * The signed-in person, from `GET /api/auth/me` (user, MFA state of this session, own grants, CSRF
 * token). One query, refetched on navigation and when the window regains focus, so a revoked or
 * expired session is noticed on the next click; any API call answered with `auth.session_revoked`
 * or `auth.required` ends the session here too, and the login screen says why.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, onSessionEnded, resumeRequests, setCsrfToken, signOut } from '../lib/api.ts';
import { endsSession } from '../lib/errors.ts';
import type { LoginResponse, Me, UserView } from '../lib/types.ts';

export type Notice = 'ended' | 'signedOut' | null;
export type SignedIn = Me & { user: UserView };
type MeState = { me: SignedIn } | { me: null; notice: Notice };

export const ME_KEY = ['me'] as const;

async function fetchMe(): Promise<MeState> {
  try {
    const me = await api.get<Me>('/api/auth/me', { quietAuthErrors: true });
    setCsrfToken(me.csrfToken);
    if (!me.user) return { me: null, notice: null };
    return { me: me as SignedIn };
  } catch (err) {
    if (endsSession(err)) {
      setCsrfToken(null);
      // No cookie at all is a first visit; a refused cookie is a session that ended.
      return { me: null, notice: (err as { code: string }).code === 'auth.session_revoked' ? 'ended' : null };
    }
    throw err;
  }
}

type SessionApi = {
  state: { status: 'loading' } | { status: 'error'; error: unknown; retry: () => void } | { status: 'anonymous'; notice: Notice } | { status: 'signedIn'; me: SignedIn };
  login(login: string, password: string): Promise<void>;
  logout(): Promise<void>;
  /** Re-reads the session (after password change or TOTP). */
  refresh(): Promise<void>;
};

const SessionContext = createContext<SessionApi | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const query = useQuery({
    queryKey: ME_KEY,
    queryFn: fetchMe,
    retry: false,
    staleTime: 15_000,
    // Signed in: re-check when the window regains focus (expired or revoked sessions end there).
    // Signed out: nothing to re-check, and the login screen keeps its notice.
    refetchOnWindowFocus: (q) => q.state.data?.me != null,
  });

  const end = useCallback(
    (notice: Notice) => {
      setCsrfToken(null);
      void qc.cancelQueries();
      qc.removeQueries({ predicate: (q) => q.queryKey[0] !== ME_KEY[0] });
      const anonymous: MeState = { me: null, notice };
      qc.setQueryData(ME_KEY, anonymous);
      resumeRequests();
    },
    [qc],
  );

  useEffect(() => {
    onSessionEnded(() => end('ended'));
    return () => onSessionEnded(null);
  }, [end]);

  const api_ = useMemo<SessionApi>(() => {
    const refresh = async () => {
      await qc.fetchQuery({ queryKey: ME_KEY, queryFn: fetchMe, staleTime: 0 });
    };
    let state: SessionApi['state'];
    if (query.isPending) state = { status: 'loading' };
    else if (query.isError) state = { status: 'error', error: query.error, retry: () => void query.refetch() };
    else if (query.data.me) state = { status: 'signedIn', me: query.data.me };
    else state = { status: 'anonymous', notice: query.data.notice };
    return {
      state,
      refresh,
      async login(login, password) {
        const r = await api.post<LoginResponse>('/api/auth/login', { login, password }, { quietAuthErrors: true });
        setCsrfToken(r.csrfToken);
        qc.removeQueries({ predicate: (q) => q.queryKey[0] !== ME_KEY[0] });
        await refresh();
      },
      async logout() {
        try {
          // The screen's own requests stop first, so none is answered by the ended session.
          await signOut();
        } finally {
          end('signedOut');
        }
      },
    };
  }, [qc, query, end]);

  return <SessionContext.Provider value={api_}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionApi {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** The signed-in person (only inside the shell, where there is one). */
export function useMe(): SignedIn {
  const s = useSession().state;
  if (s.status !== 'signedIn') throw new Error('useMe without a session');
  return s.me;
}
