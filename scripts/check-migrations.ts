// Fails when the committed SQL migrations in drizzle/ and the TypeScript schema disagree:
// drizzle-kit generates into a scratch copy of drizzle/, and any new file there is a diff.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const scratch = '.drizzle-check'; // drizzle-kit wants a path relative to the project
fs.rmSync(scratch, { recursive: true, force: true });
fs.cpSync('drizzle', scratch, { recursive: true });
const before = new Set(fs.readdirSync(scratch));
let output: string;
try {
  output = execFileSync(path.resolve('node_modules/.bin/drizzle-kit'), ['generate', '--name', 'schema_drift'], {
    env: { ...process.env, DRIZZLE_OUT: `./${scratch}` },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
} catch (err) {
  fs.rmSync(scratch, { recursive: true, force: true });
  console.error('drizzle-kit generate failed:', (err as { stderr?: string }).stderr ?? err);
  process.exit(1);
}
const added = fs.readdirSync(scratch).filter((f) => !before.has(f));
fs.rmSync(scratch, { recursive: true, force: true });
if (added.length > 0 || !/No schema changes/i.test(output)) {
  console.error(output);
  console.error(
    `drizzle/ is out of date with src/db/schema (would add: ${added.join(', ') || 'see above'}). Run npm run db:generate.`,
  );
  process.exit(1);
}
console.log('migrations match the schema');
