/** A tools/call result as the SDK returns it (the current shape, or the 2024-10 `toolResult` one). */
export interface McpCallResult {
  content?: unknown;
  structuredContent?: unknown;
  isError?: unknown;
  toolResult?: unknown;
}

/**
 * The text of a tools/call result, for the tool_result agentpg stores and sends to the model:
 * text blocks as they are, other blocks (image, audio, resources) described in one line (agentpg's
 * tool results are text), structured content as JSON when there are no blocks.
 */
export function resultText(result: McpCallResult): string {
  if (!Array.isArray(result.content)) {
    if (result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
    return result.toolResult === undefined ? '' : JSON.stringify(result.toolResult);
  }
  if (result.content.length === 0 && result.structuredContent !== undefined)
    return JSON.stringify(result.structuredContent);
  return result.content.map(blockText).join('\n');
}

function blockText(block: unknown): string {
  const b = (block ?? {}) as Record<string, any>;
  switch (b.type) {
    case 'text':
      return String(b.text ?? '');
    case 'image':
    case 'audio':
      return `[${b.type} ${b.mimeType ?? ''}, ${Math.floor((String(b.data ?? '').length * 3) / 4)} bytes]`;
    case 'resource_link':
      return `[resource ${b.uri}${b.name ? ` (${b.name})` : ''}]`;
    case 'resource':
      return typeof b.resource?.text === 'string' ? b.resource.text : `[resource ${b.resource?.uri ?? ''}]`;
    default:
      return JSON.stringify(block);
  }
}
