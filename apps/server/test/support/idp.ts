/**
 * A real OpenID provider in this process (`oidc-provider`) over HTTPS with the throwaway test CA,
 * for the SSO tests (server and browser). One confidential client, PKCE required, RS256 ID tokens.
 * Its login step is a stand-in for a person typing a password at the IdP: it signs in the account
 * named by `setNextLogin()` (with that account's `amr`) and grants consent, then lets the provider
 * continue. Everything else — authorization, code, token, userinfo, discovery, JWKS — is the
 * provider's own.
 */
import { generateKeyPairSync } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { testPki } from './tls.ts';

export type IdpAccount = { sub: string; email: string; groups: string[]; amr: string[] };

export type TestIdp = {
  issuer: string;
  ca: string;
  clientId: string;
  clientSecret: string;
  accounts: Map<string, IdpAccount>;
  setNextLogin(sub: string): void;
  close(): Promise<void>;
};

export async function startTestIdp(opts: { redirectUris: string[]; clientId?: string; clientSecret?: string }): Promise<TestIdp> {
  const pki = await testPki();
  const clientId = opts.clientId ?? 'mamori-console';
  const clientSecret = opts.clientSecret ?? 'a-long-test-client-secret-0123456789abcdef';
  const accounts = new Map<string, IdpAccount>();
  let nextLogin: string | null = null;
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  // Bind to a port first: the issuer names it.
  const server = https.createServer({ key: pki.key, cert: pki.cert });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `https://localhost:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: opts.redirectUris, grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' }],
    jwks: { keys: [{ ...jwk, kid: 'test-rs256', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: ['oidc-test-cookie-key-0123456789'] },
    // amr rides on the openid scope, as Entra ID and Okta put it in every ID token.
    claims: { openid: ['sub', 'amr'], email: ['email', 'email_verified'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    pkce: { required: () => true },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx: unknown, sub: string) => {
      const a = accounts.get(sub);
      return a ? { accountId: sub, claims: () => ({ sub, email: a.email, email_verified: true, groups: a.groups }) } : undefined;
    },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (!req.url?.startsWith('/interaction/')) return callback(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      const a = accounts.get(nextLogin ?? '');
      if (!a) throw new Error('no account chosen for the IdP login');
      const grant = new provider.Grant({ accountId: a.sub, clientId });
      grant.addOIDCScope(String(details.params.scope));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { login: { accountId: a.sub, amr: a.amr }, consent: { grantId } }, { mergeWithLastSubmission: false });
    })().catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  return {
    issuer, ca: pki.ca, clientId, clientSecret, accounts,
    setNextLogin: (sub) => (nextLogin = sub),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
