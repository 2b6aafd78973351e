import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/db/migrate.js';
import { providePostgresServer } from './postgresServer.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string;
    pgServerSource: string;
    pgTemplateDatabase: string;
    pgRunId: string;
  }
}

/**
 * Starts (or finds) the Postgres server, and migrates one template database that every test file
 * clones with CREATE DATABASE ... TEMPLATE (a file copy, far faster than migrating each time).
 * Names carry a per-run id so concurrent test runs on one server never touch each other's data.
 */
export default async function setup(project: TestProject) {
  const server = await providePostgresServer();
  const runId = randomBytes(4).toString('hex');
  const template = `agentpg_tpl_${runId}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`create database ${template}`);
  await admin.end();
  await migrate(withDatabase(server.url, template));
  console.log(`[agentpg tests] Postgres from ${server.source}, template ${template}`);

  project.provide('pgServerUrl', server.url);
  project.provide('pgServerSource', server.source);
  project.provide('pgTemplateDatabase', template);
  project.provide('pgRunId', runId);

  return async () => {
    const admin2 = new pg.Client({ connectionString: server.url });
    await admin2.connect();
    const { rows } = await admin2.query<{ datname: string }>(`select datname from pg_database where datname like $1`, [
      `agentpg_%${runId}%`,
    ]);
    for (const { datname } of rows) {
      await admin2.query(`drop database if exists ${datname} with (force)`).catch(() => {});
    }
    await admin2.end();
    await server.stop();
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
