import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { EMPLOYMENT_TYPES, ROLES, USER_STATUSES } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { SESSION_COOKIE, clearSessionCookie, requireActor, terminalOf } from '../../platform/http/auth.ts';
import { AppError } from '../../platform/errors.ts';
import * as identity from './identity.service.ts';
// Edits and status changes go through the lifecycle (leaver, mover, dispatch consequences).
import * as lifecycle from '../lifecycle/index.ts';

const Uuid = Type.String({ format: 'uuid' });
const Login = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._@-]+$' });
const Employment = Type.Union(EMPLOYMENT_TYPES.map((e) => Type.Literal(e)));
const RoleT = Type.Union(ROLES.map((r) => Type.Literal(r)));

export function identityRoutes(ctx: AppContext, opts: { secureCookies: boolean }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post('/api/auth/login', {
      config: { public: true },
      schema: { tags: ['auth'], body: Type.Object({ login: Login, password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }) },
    }, async (request, reply) => {
      const r = await identity.login(ctx, request.body.login, request.body.password, terminalOf(request), request.id);
      void reply.setCookie(SESSION_COOKIE, r.token, {
        path: '/', httpOnly: true, sameSite: 'strict', secure: opts.secureCookies, maxAge: ctx.settings.sessionAbsoluteHours * 3600,
      });
      return { user: r.user, csrfToken: r.csrfToken, mfaRequired: r.mfaRequired, passwordChangeRequired: r.user.passwordChangeRequired };
    });

    app.post('/api/auth/logout', { schema: { tags: ['auth'] } }, async (request, reply) => {
      const actor = requireActor(request);
      if (request.sessionHash) await identity.logout(ctx, actor, request.sessionHash);
      clearSessionCookie(reply);
      return { ok: true };
    });

    app.get('/api/auth/me', { schema: { tags: ['auth'] } }, async (request) => {
      if (!request.actor) return { user: null, mfa: false, grants: [], csrfToken: null };
      const actor = request.actor;
      const user = actor.userId ? await identity.getUser(ctx, actor, actor.userId, { skipAuth: true }) : null;
      // The console keeps the CSRF token in memory only; after a reload it asks again here (same-origin GET).
      return { user, mfa: actor.mfa, grants: actor.grants, csrfToken: request.csrfToken ?? null };
    });

    app.post('/api/auth/password', {
      schema: { tags: ['auth'], body: Type.Object({ currentPassword: Type.String({ maxLength: 1024 }), newPassword: Type.String({ maxLength: 1024 }) }, { additionalProperties: false }) },
    }, async (request) => {
      await identity.changePassword(ctx, requireActor(request), request.body.currentPassword, request.body.newPassword);
      return { ok: true };
    });

    app.post('/api/auth/mfa/enroll', { schema: { tags: ['auth'] } }, async (request) => identity.beginTotpEnrollment(ctx, requireActor(request)));

    app.post('/api/auth/mfa/verify', {
      schema: { tags: ['auth'], body: Type.Object({ code: Type.String({ minLength: 6, maxLength: 12 }) }, { additionalProperties: false }) },
    }, async (request) => {
      if (!request.sessionHash) throw new AppError('auth.required', 'MFA is verified for a browser session.');
      await identity.verifyTotpForSession(ctx, requireActor(request), request.sessionHash, request.body.code);
      return { ok: true };
    });

    app.get('/api/users', {
      schema: { tags: ['users'], querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })), offset: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }) },
    }, async (request) => ({ users: await identity.listUsers(ctx, requireActor(request), request.query.limit ?? 100, request.query.offset ?? 0) }));

    app.post('/api/users', {
      schema: {
        tags: ['users'],
        body: Type.Object({
          login: Login,
          displayName: Type.String({ minLength: 1, maxLength: 200 }),
          email: Type.Optional(Type.Union([Type.String({ format: 'email', maxLength: 254 }), Type.Null()])),
          kind: Type.Optional(Type.Union([Type.Literal('person'), Type.Literal('service')])),
          employmentType: Employment,
          departmentId: Type.Optional(Type.Union([Uuid, Type.Null()])),
          supervisorId: Type.Optional(Type.Union([Uuid, Type.Null()])),
          roles: Type.Optional(Type.Array(RoleT, { uniqueItems: true, maxItems: 20 })),
          groupIds: Type.Optional(Type.Array(Uuid, { uniqueItems: true, maxItems: 100 })),
        }, { additionalProperties: false }),
      },
    }, async (request, reply) => {
      const { user, oneTimePassword } = await identity.createUser(ctx, requireActor(request), request.body);
      return reply.status(201).send({ user, oneTimePassword });
    });

    app.get('/api/users/:id', { schema: { tags: ['users'], params: Type.Object({ id: Uuid }) } }, async (request) => {
      const user = await identity.getUser(ctx, requireActor(request), request.params.id);
      if (!user) throw new AppError('not_found', 'No such user.');
      return { user };
    });

    app.patch('/api/users/:id', {
      schema: {
        tags: ['users'],
        params: Type.Object({ id: Uuid }),
        body: Type.Object({
          displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          email: Type.Optional(Type.Union([Type.String({ format: 'email', maxLength: 254 }), Type.Null()])),
          employmentType: Type.Optional(Employment),
          departmentId: Type.Optional(Type.Union([Uuid, Type.Null()])),
          supervisorId: Type.Optional(Type.Union([Uuid, Type.Null()])),
          roles: Type.Optional(Type.Array(RoleT, { uniqueItems: true, maxItems: 20 })),
          groupIds: Type.Optional(Type.Array(Uuid, { uniqueItems: true, maxItems: 100 })),
          version: Type.Optional(Type.Integer({ minimum: 1 })),
        }, { additionalProperties: false }),
      },
    }, async (request) => ({ user: await lifecycle.updateUser(ctx, requireActor(request), request.params.id, request.body) }));

    app.post('/api/users/:id/status', {
      schema: {
        tags: ['users'],
        params: Type.Object({ id: Uuid }),
        body: Type.Object({ status: Type.Union(USER_STATUSES.map((s) => Type.Literal(s))), reason: Type.String({ maxLength: 500 }) }, { additionalProperties: false }),
      },
    }, async (request) => ({ user: await lifecycle.setUserStatus(ctx, requireActor(request), request.params.id, request.body.status, request.body.reason) }));

    app.get('/api/departments', { schema: { tags: ['users'] } }, async (request) => ({ departments: await identity.listDepartments(ctx, requireActor(request)) }));

    app.post('/api/departments', {
      schema: { tags: ['users'], body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }) },
    }, async (request, reply) => reply.status(201).send({ department: await identity.createDepartment(ctx, requireActor(request), request.body.name) }));

    app.get('/api/groups', { schema: { tags: ['users'] } }, async (request) => ({ groups: await identity.listGroups(ctx, requireActor(request)) }));

    app.post('/api/groups', {
      schema: { tags: ['users'], body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), memberIds: Type.Optional(Type.Array(Uuid, { maxItems: 10_000, uniqueItems: true })) }, { additionalProperties: false }) },
    }, async (request, reply) => reply.status(201).send({ group: await identity.createGroup(ctx, requireActor(request), request.body.name, request.body.memberIds ?? []) }));

    app.post('/api/tokens', {
      schema: {
        tags: ['users'],
        body: Type.Object({ userId: Uuid, name: Type.String({ minLength: 1, maxLength: 100 }), expiresAt: Type.Optional(Type.String({ format: 'date-time' })) }, { additionalProperties: false }),
      },
    }, async (request, reply) => {
      const r = await identity.createApiToken(ctx, requireActor(request), {
        userId: request.body.userId, name: request.body.name, expiresAt: request.body.expiresAt ? new Date(request.body.expiresAt) : null,
      });
      return reply.status(201).send(r);
    });

    app.delete('/api/tokens/:id', { schema: { tags: ['users'], params: Type.Object({ id: Uuid }) } }, async (request) => {
      await identity.revokeApiToken(ctx, requireActor(request), request.params.id);
      return { ok: true };
    });
  };
}
