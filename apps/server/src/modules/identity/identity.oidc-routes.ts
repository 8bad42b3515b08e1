/**
 * The browser side of SSO: `/api/auth/oidc` (is it on, the button's label), `/start` (to the IdP,
 * with a flow cookie) and `/callback` (back from it: a session cookie, or the login page with a
 * stable error code). These are public: the person has no session yet.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../platform/context.ts';
import { SESSION_COOKIE, terminalOf } from '../../platform/http/auth.ts';
import { isAppError } from '../../platform/errors.ts';
import { OIDC_FLOW_MINUTES, finishOidcLogin, ssoInfo, startOidcLogin } from './identity.oidc.ts';

export const OIDC_FLOW_COOKIE = 'mamori_oidc';
const FLOW_PATH = '/api/auth/oidc';

export function oidcRoutes(ctx: AppContext, opts: { secureCookies: boolean }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/auth/oidc', { config: { public: true }, schema: { tags: ['auth'], description: 'Whether sign-in with the company IdP is offered, and its name' } }, async () => ssoInfo(ctx));

    app.get('/api/auth/oidc/start', { config: { public: true }, schema: { tags: ['auth'], description: 'Redirects to the IdP (authorization code flow with PKCE)' } }, async (_request, reply) => {
      try {
        const { flowToken, url } = await startOidcLogin(ctx);
        // Lax, not Strict: the IdP sends the browser back with a cross-site top-level GET.
        void reply.setCookie(OIDC_FLOW_COOKIE, flowToken, { path: FLOW_PATH, httpOnly: true, sameSite: 'lax', secure: opts.secureCookies, maxAge: OIDC_FLOW_MINUTES * 60 });
        return reply.redirect(url, 302);
      } catch (err) {
        if (isAppError(err)) return reply.redirect(`/?sso_error=${encodeURIComponent(err.code)}`, 302);
        throw err;
      }
    });

    app.get('/api/auth/oidc/callback', {
      config: { public: true },
      schema: { tags: ['auth'], description: 'The IdP sends the browser back here', querystring: Type.Object({}, { additionalProperties: true }) },
    }, async (request, reply) => {
      const raw = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      void reply.clearCookie(OIDC_FLOW_COOKIE, { path: FLOW_PATH });
      try {
        const r = await finishOidcLogin(ctx, request.cookies?.[OIDC_FLOW_COOKIE] ?? null, raw, terminalOf(request), request.id);
        void reply.setCookie(SESSION_COOKIE, r.token, { path: '/', httpOnly: true, sameSite: 'strict', secure: opts.secureCookies, maxAge: ctx.settings.sessionAbsoluteHours * 3600 });
        return reply.redirect('/', 302);
      } catch (err) {
        if (isAppError(err)) return reply.redirect(`/?sso_error=${encodeURIComponent(err.code)}`, 302);
        throw err;
      }
    });
  };
}
