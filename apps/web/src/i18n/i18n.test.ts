/**
 * Every UI string goes through the translation files: both languages have the same keys, every key
 * the code asks for exists, every closed vocabulary of the API (error codes, actions, roles, …) has
 * its words, and no Japanese text is hard-coded in components.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACTIONS, CLASSIFICATIONS, EMPLOYMENT_TYPES, FIELD_KINDS, ROLES, SEARCH_MODES, USER_STATUSES } from '@mamori/contracts';
import { KNOWN_ERROR_CODES } from '../lib/errors.ts';
import ja from './ja.json' with { type: 'json' };
import en from './en.json' with { type: 'json' };

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function flatten(o: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, o);
  return out;
}

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const JA = flatten(ja);
const EN = flatten(en);

test('Japanese and English have exactly the same keys, none empty', () => {
  assert.deepEqual([...JA.keys()].sort(), [...EN.keys()].sort());
  for (const [k, v] of [...JA, ...EN]) assert.ok(v !== '' && v !== null, `empty translation ${k}`);
});

test('every literal key the code uses exists', () => {
  const missing: string[] = [];
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bt\('([a-zA-Z0-9_.]+)'/g)) if (!JA.has(m[1]!)) missing.push(`${path.relative(SRC, file)}: ${m[1]}`);
    for (const m of text.matchAll(/titleKey[=:] ?["']([a-zA-Z0-9_.]+)["']/g)) if (!JA.has(m[1]!)) missing.push(`${path.relative(SRC, file)}: ${m[1]}`);
  }
  assert.deepEqual(missing, []);
});

test('every closed vocabulary of the API has its words', () => {
  const need = [
    ...KNOWN_ERROR_CODES.flatMap((c) => [`errors.${c}.title`, `errors.${c}.action`]),
    ...ACTIONS.map((a) => `actions.${a}`),
    ...ROLES.map((r) => `roles.${r}`),
    ...EMPLOYMENT_TYPES.map((e) => `employment.${e}`),
    ...CLASSIFICATIONS.map((c) => `classification.${c}`),
    ...FIELD_KINDS.map((k) => `fieldKind.${k}`),
    ...SEARCH_MODES.map((s) => `searchMode.${s}`),
    ...USER_STATUSES.map((s) => `userStatus.${s}`),
    ...USER_STATUSES.flatMap((s) => ['title', 'what', 'confirm'].map((k) => `users.status.${s}.${k}`)),
  ];
  assert.deepEqual(need.filter((k) => !JA.has(k)), []);
  for (const s of USER_STATUSES) {
    for (const tr of [JA, EN]) assert.ok(Array.isArray(tr.get(`users.status.${s}.effects`)), `users.status.${s}.effects`);
  }
});

test('no Japanese text is hard-coded in components (language names aside)', () => {
  const allowed = new Set(['日本語']);
  const found: string[] = [];
  for (const file of sources(SRC).filter((f) => f.endsWith('.tsx'))) {
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const m of code.matchAll(/[\u3040-\u30ff\u4e00-\u9fff\uff01-\uff5e]+/g)) if (!allowed.has(m[0])) found.push(`${path.relative(SRC, file)}: ${m[0]}`);
  }
  assert.deepEqual(found, []);
});
