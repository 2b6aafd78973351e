import type { AgentDefinition } from '../../model/agent.js';
import { toJsonSchema, type ToolDefinition } from '../../model/tool.js';
import type { Queryable } from '../../db/queryable.js';

/**
 * Upserts the agent and tool definition rows (agentpg_agents, agentpg_tools) this instance
 * registers. The ONE place that writes those tables: instance registration calls it before linking
 * the instance to them (the links reference them), so other modules should not upsert them again.
 *
 * Rows are written in name order so two instances starting at once lock them in the same order
 * (no deadlock), and a row whose definition did not change is left untouched (no churn per start).
 */
export async function upsertDefinitions(
  db: Queryable,
  agents: Iterable<AgentDefinition>,
  tools: Iterable<ToolDefinition>,
): Promise<void> {
  const toolRows = [...tools]
    .map((t) => ({
      name: t.name,
      description: t.description,
      input_schema: toJsonSchema(t.inputSchema),
      metadata: t.metadata ?? {},
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const agentRows = [...agents]
    .map((a) => ({
      name: a.name,
      description: a.description ?? null,
      model: a.model,
      system_prompt: a.systemPrompt ?? null,
      max_tokens: a.maxTokens ?? null,
      temperature: a.temperature ?? null,
      tools: a.tools ?? [],
      config: a.config ?? {},
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  if (toolRows.length > 0) {
    await db.query(
      `insert into agentpg_tools as t (name, description, input_schema, metadata)
       select r.name, r.description, r.input_schema, r.metadata
         from jsonb_to_recordset($1::jsonb) as r(name text, description text, input_schema jsonb, metadata jsonb)
       on conflict (name) do update
         set description = excluded.description, input_schema = excluded.input_schema,
             metadata = excluded.metadata, updated_at = now()
         where (t.description, t.input_schema, t.metadata)
               is distinct from (excluded.description, excluded.input_schema, excluded.metadata)`,
      [JSON.stringify(toolRows)],
    );
  }
  if (agentRows.length > 0) {
    await db.query(
      `insert into agentpg_agents as a (name, description, model, system_prompt, max_tokens, temperature, tools, config)
       select r.name, r.description, r.model, r.system_prompt, r.max_tokens, r.temperature,
              array(select jsonb_array_elements_text(r.tools)), r.config
         from jsonb_to_recordset($1::jsonb)
           as r(name text, description text, model text, system_prompt text, max_tokens int, temperature real, tools jsonb, config jsonb)
       on conflict (name) do update
         set description = excluded.description, model = excluded.model, system_prompt = excluded.system_prompt,
             max_tokens = excluded.max_tokens, temperature = excluded.temperature, tools = excluded.tools,
             config = excluded.config, updated_at = now()
         where (a.description, a.model, a.system_prompt, a.max_tokens, a.temperature, a.tools, a.config)
               is distinct from
               (excluded.description, excluded.model, excluded.system_prompt, excluded.max_tokens,
                excluded.temperature, excluded.tools, excluded.config)`,
      [JSON.stringify(agentRows)],
    );
  }
}
