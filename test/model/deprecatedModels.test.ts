import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AgentPG, defineAgent } from '../../src/index.js';
import { deprecatedModels } from '../../src/model/deprecatedModels.js';
import { exampleAgents } from '../../src/service/examples.js';

describe('deprecated models', () => {
  it("are read from the installed SDK's own list", () => {
    expect(deprecatedModels()).toMatchObject({ 'claude-sonnet-4-5-20250929': expect.any(String) });
  });

  it('are not used by the example agents nor the README', () => {
    const deprecated = Object.keys(deprecatedModels());
    for (const agent of exampleAgents) expect(deprecated).not.toContain(agent.model);
    const readme = readFileSync('README.md', 'utf8');
    for (const model of deprecated) expect(readme).not.toContain(`'${model}'`);
  });

  it('give one structured warning per agent at registration', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    new AgentPG({
      databaseUrl: 'postgres://postgres@127.0.0.1:1/none',
      anthropic: { apiKey: 'sk-ant-test' },
      logger,
      agents: [
        defineAgent({ name: 'old', model: 'claude-sonnet-4-5-20250929' }),
        defineAgent({ name: 'current', model: 'claude-sonnet-5-5' }),
      ],
    });
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
    expect(warnings).toEqual([
      expect.objectContaining({
        agent: 'old',
        model: 'claude-sonnet-4-5-20250929',
        endOfLife: deprecatedModels()['claude-sonnet-4-5-20250929'],
      }),
    ]);
  });
});
