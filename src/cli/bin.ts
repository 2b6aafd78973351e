#!/usr/bin/env node
// The `agentpg` executable (package.json "bin"). It always runs the CLI: npm starts it through the
// node_modules/.bin/agentpg symlink, whose name says nothing about this file, so main.ts must not
// guess whether it was "invoked directly". Importing main.ts (tests, scripts) runs nothing.
import { redactSecrets } from '../errors.js';
import { runCli } from './main.js';

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`error: ${redactSecrets(err instanceof Error ? err.message : String(err))}`);
    process.exit(1);
  },
);
