/** Passkeys of the signed-in person: list, register (options → verify), the MFA step with one, remove. */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { AppContext } from '../../platform/context.ts';
import { requireActor } from '../../platform/http/auth.ts';
import { AppError } from '../../platform/errors.ts';
import { listPasskeys, passkeyAuthenticationOptions, passkeyRegistrationOptions, registerPasskey, removePasskey, verifyPasskey } from './identity.passkeys.ts';

/** The browser's credential JSON: checked in depth by @simplewebauthn/server; here only its outline. */
const CredentialJson = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 1024 }),
  rawId: Type.String({ minLength: 1, maxLength: 1024 }),
  type: Type.Literal('public-key'),
  response: Type.Record(Type.String(), Type.Unknown()),
  clientExtensionResults: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  authenticatorAttachment: Type.Optional(Type.String({ maxLength: 40 })),
}, { additionalProperties: false });

function sessionOf(hash: Buffer | null): Buffer {
  if (!hash) throw new AppError('auth.required', 'Passkeys are used with a browser session.');
  return hash;
}

export function passkeyRoutes(ctx: AppContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/auth/passkeys', { schema: { tags: ['auth'] } }, async (request) => ({ passkeys: await listPasskeys(ctx, requireActor(request)), available: Boolean(ctx.webauthn) }));

    app.post('/api/auth/passkeys/register/options', { schema: { tags: ['auth'] } }, async (request) =>
      ({ options: await passkeyRegistrationOptions(ctx, requireActor(request), sessionOf(request.sessionHash)) }));

    app.post('/api/auth/passkeys/register', {
      schema: { tags: ['auth'], body: Type.Object({ name: Type.String({ maxLength: 60 }), response: CredentialJson }, { additionalProperties: false }) },
    }, async (request, reply) => reply.status(201).send({
      passkey: await registerPasskey(ctx, requireActor(request), sessionOf(request.sessionHash), request.body.name, request.body.response as unknown as RegistrationResponseJSON),
    }));

    app.post('/api/auth/passkeys/authenticate/options', { schema: { tags: ['auth'] } }, async (request) =>
      ({ options: await passkeyAuthenticationOptions(ctx, requireActor(request), sessionOf(request.sessionHash)) }));

    app.post('/api/auth/passkeys/authenticate', {
      schema: { tags: ['auth'], body: Type.Object({ response: CredentialJson }, { additionalProperties: false }) },
    }, async (request) => {
      await verifyPasskey(ctx, requireActor(request), sessionOf(request.sessionHash), request.body.response as unknown as AuthenticationResponseJSON);
      return { ok: true };
    });

    app.delete('/api/auth/passkeys/:id', { schema: { tags: ['auth'], params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 1024 }) }) } }, async (request) => {
      await removePasskey(ctx, requireActor(request), request.params.id);
      return { ok: true };
    });
  };
}
