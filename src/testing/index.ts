/**
 * `agentpg/testing`: a fake Anthropic Messages API for offline tests and benchmarks, and a TCP
 * proxy that cuts a process off from PostgreSQL (partitions, refused and stalled connections).
 */
export {
  startFakeAnthropic,
  type FakeAnthropic,
  type FakeAnthropicOptions,
  type FakeAnthropicStats,
  type FakeRequest,
  type FakeResponder,
} from './fakeAnthropic.js';
export {
  lastUserText,
  type FakeDropReply,
  type FakeErrorReply,
  type FakeReply,
  type FakeReplyKind,
  type FakeTextReply,
  type FakeToolUse,
  type FakeToolUseReply,
  type FakeUsage,
} from './script.js';
export { FakeBatches, type FakeBatch, type FakeBatchOutcome, type FakeBatchStats } from './fakeBatches.js';
export { stripCacheControl } from './promptCache.js';
export { type FakeRateLimitOptions } from './rateLimit.js';
export { startTcpProxy, type TcpProxy } from './tcpProxy.js';
