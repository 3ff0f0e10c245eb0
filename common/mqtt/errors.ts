// Error catalog of millwright's MQTT client (gateway uplink, hub to an external broker). Codes are stable: the publisher, logs and tests
// match on them. Every refusal here is an expected failure the caller handles (the durable log
// upstream owns retries), never a reason to crash.
import { exitCode, type ErrorSpec } from '../errors.ts';

export const mqttErrors = {
  /** Not connected to the broker right now; nothing is queued while offline. */
  offline: { code: 'MQTT_OFFLINE', exit: exitCode.runtimeFailure },
  /** The in-flight window (or the socket's write buffer) is full; retry when canPublish(). */
  windowFull: { code: 'MQTT_WINDOW_FULL', exit: exitCode.runtimeFailure },
  /** close() was called: the publish or subscribe will never complete. */
  closed: { code: 'MQTT_CLOSED', exit: exitCode.runtimeFailure },
  /** The broker answered with an MQTT 5 failure reason code. */
  publishRefused: { code: 'MQTT_PUBLISH_REFUSED', exit: exitCode.runtimeFailure },
  subscribeRefused: { code: 'MQTT_SUBSCRIBE_REFUSED', exit: exitCode.runtimeFailure },
  /** The encoded packet exceeds packetBytesMax or the broker's maximum packet size. */
  packetTooLarge: { code: 'MQTT_PACKET_TOO_LARGE', exit: exitCode.runtimeFailure },
  topicInvalid: { code: 'MQTT_TOPIC_INVALID', exit: exitCode.runtimeFailure },
  subscriptionsFull: { code: 'MQTT_SUBSCRIPTIONS_FULL', exit: exitCode.runtimeFailure },
  optionsInvalid: { code: 'MQTT_OPTIONS_INVALID', exit: exitCode.badUsageOrConfig },
} as const satisfies Record<string, ErrorSpec>;
