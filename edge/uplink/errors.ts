// Error catalog of the gateway's MQTT uplink. Codes are stable: the publisher, logs and tests
// match on them. Every refusal here is an expected failure the caller handles (the durable log
// upstream owns retries), never a reason to crash.
import { exitCode, type ErrorSpec } from '../../common/errors.ts';

export const uplinkErrors = {
  /** Not connected to the broker right now; nothing is queued while offline. */
  offline: { code: 'EDGE_UPLINK_OFFLINE', exit: exitCode.runtimeFailure },
  /** The in-flight window (or the socket's write buffer) is full; retry when canPublish(). */
  windowFull: { code: 'EDGE_UPLINK_WINDOW_FULL', exit: exitCode.runtimeFailure },
  /** close() was called: the publish or subscribe will never complete. */
  closed: { code: 'EDGE_UPLINK_CLOSED', exit: exitCode.runtimeFailure },
  /** The broker answered with an MQTT 5 failure reason code. */
  publishRefused: { code: 'EDGE_UPLINK_PUBLISH_REFUSED', exit: exitCode.runtimeFailure },
  subscribeRefused: { code: 'EDGE_UPLINK_SUBSCRIBE_REFUSED', exit: exitCode.runtimeFailure },
  /** The encoded packet exceeds packetBytesMax or the broker's maximum packet size. */
  packetTooLarge: { code: 'EDGE_UPLINK_PACKET_TOO_LARGE', exit: exitCode.runtimeFailure },
  topicInvalid: { code: 'EDGE_UPLINK_TOPIC_INVALID', exit: exitCode.runtimeFailure },
  subscriptionsFull: { code: 'EDGE_UPLINK_SUBSCRIPTIONS_FULL', exit: exitCode.runtimeFailure },
  optionsInvalid: { code: 'EDGE_UPLINK_OPTIONS_INVALID', exit: exitCode.badUsageOrConfig },
} as const satisfies Record<string, ErrorSpec>;
