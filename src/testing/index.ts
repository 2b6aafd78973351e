/**
 * `agentpg/testing`: a fake Anthropic Messages API for offline tests and benchmarks.
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
