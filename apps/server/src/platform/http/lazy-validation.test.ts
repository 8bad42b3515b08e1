import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { lazyValidation } from './lazy-validation.ts';

const AJV = { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } } as const;

/** The route under test, on either compiler. */
function route(app: FastifyInstance): FastifyInstance {
  app.post('/items/:n', {
    schema: {
      params: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } }, required: ['n'] },
      querystring: { type: 'object', properties: { tag: { type: 'array', items: { type: 'string' } } }, additionalProperties: false },
      body: { type: 'object', properties: { name: { type: 'string', maxLength: 5 }, size: { type: 'integer', default: 3 } }, required: ['name'], additionalProperties: false },
    },
  }, async (request) => ({ params: request.params, query: request.query, body: request.body }));
  return app;
}

function server(validation = lazyValidation()) {
  return { app: route(Fastify({ ajv: AJV, schemaController: { compilersFactory: { buildValidator: validation.buildValidator } } })), validation };
}

test('a validator compiled at its first request validates as Fastify\'s own: the same errors, coercion and defaults', async () => {
  const lazy = server();
  const eager = route(Fastify({ ajv: AJV }));
  try {
    const cases = [
      { url: '/items/2?tag=a', payload: { name: 'ok' } }, // valid: n coerced to 2, tag to ['a'], size defaulted
      { url: '/items/2', payload: { name: 'too long' } }, // the first invalid request is also the compiling one
      { url: '/items/2', payload: { name: 'x', extra: 1 } },
      { url: '/items/2', payload: {} },
      { url: '/items/0', payload: { name: 'x' } },
      { url: '/items/2?other=1', payload: { name: 'x' } },
      { url: '/items/2', payload: { name: 'x', size: 'big' } },
    ];
    for (const c of cases) {
      const [a, b] = await Promise.all([lazy.app, eager].map((app) => app.inject({ method: 'POST', ...c })));
      assert.equal(a!.statusCode, b!.statusCode, `${c.url} ${JSON.stringify(c.payload)}`);
      assert.deepEqual(a!.json(), b!.json(), `${c.url} ${JSON.stringify(c.payload)}`);
    }
    const ok = await lazy.app.inject({ method: 'POST', url: '/items/2?tag=a', payload: { name: 'ok' } });
    assert.deepEqual(ok.json(), { params: { n: 2 }, query: { tag: ['a'] }, body: { name: 'ok', size: 3 } });
    const bad = await lazy.app.inject({ method: 'POST', url: '/items/2', payload: { name: 'x', extra: 1 } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /must NOT have additional properties/);
  } finally {
    await lazy.app.close();
    await eager.close();
  }
});

test('validators are compiled at first use, and compileAll compiles the rest and finds a schema Ajv rejects', async () => {
  const { app, validation } = server();
  app.get('/broken', { schema: { querystring: { type: 'object', properties: { q: { type: 'no such type' } } } } }, async () => ({}));
  try {
    // The broken schema does not stop the server from starting, nor the other routes.
    await app.ready();
    const ok = await app.inject({ method: 'POST', url: '/items/1', payload: { name: 'a' } });
    assert.equal(ok.statusCode, 200);
    assert.throws(() => validation.compileAll(), /no such type|schema is invalid/);
  } finally {
    await app.close();
  }
  const fine = server();
  try {
    await fine.app.ready();
    assert.equal(fine.validation.compileAll(), 3, 'params, query string and body');
  } finally {
    await fine.app.close();
  }
});
