/*
 * The packets that open a session, built once per connect into the session's scratch buffer:
 * CONNECT with a fresh password (the OneNET token) that is zeroed as soon as it has gone, and the
 * one SUBSCRIBE for every subscription. Failures are named values, reported to the application.
 */
import type { ResolvedOptions } from "./client-options.js";
import type { Reporter } from "./client-report.js";
import type { MqttClientOptions } from "./client-types.js";
import { encodeConnect, encodeSubscribe, newConnectFields, newSubscribeFields, type ConnectFields, type SubscribeFields } from "./encode.js";
import { errorName } from "./errors.js";

export type BuildResult = "encoded" | "no-password" | "encode-failed";

export class Connector {
  /** Length of what the last successful call wrote. */
  length = 0;
  private readonly password: Uint8Array;
  private readonly connectFields: ConnectFields;
  private readonly subscribeFields: SubscribeFields;
  private readonly writePassword: MqttClientOptions["writePassword"];

  constructor(
    options: MqttClientOptions,
    o: ResolvedOptions,
    private readonly reporter: Reporter,
  ) {
    this.writePassword = options.writePassword;
    this.password = new Uint8Array(o.passwordBufferSize);
    const connect = newConnectFields();
    connect.clientId = options.clientId;
    connect.username = options.username ?? null;
    connect.keepalive = o.keepaliveS;
    connect.cleanSession = o.cleanSession;
    this.connectFields = connect;
    const subs = o.subscriptions;
    const subscribe = newSubscribeFields(subs.length);
    for (let i = 0; i < subs.length; i++) {
      subscribe.topics[i] = subs[i].topic;
      subscribe.qos[i] = subs[i].qos;
    }
    subscribe.count = subs.length;
    this.subscribeFields = subscribe;
  }

  /** CONNECT into tx at 0, with the password writePassword gives now. */
  connect(tx: Uint8Array): BuildResult {
    const fields = this.connectFields;
    const password = this.password;
    let passwordLength = 0;
    const writePassword = this.writePassword;
    if (writePassword) {
      try {
        passwordLength = writePassword(password, 0);
      } catch (error) {
        passwordLength = -1;
        // The error text could quote the key: report only its class.
        this.reporter.error("password-failed", `writePassword threw ${error instanceof Error ? error.name : "a non-error"}`);
      }
      if (!(Number.isInteger(passwordLength) && passwordLength >= 0 && passwordLength <= password.length)) {
        if (passwordLength !== -1) this.reporter.error("password-failed", "writePassword returned a bad length");
        password.fill(0);
        return "no-password";
      }
      // One view per CONNECT (rare), so the encoder sends exactly the token's bytes.
      fields.password = password.subarray(0, passwordLength);
    }
    try {
      this.length = encodeConnect(tx, 0, fields);
    } catch (error) {
      password.fill(0);
      fields.password = null;
      this.reporter.error("encode-failed", `CONNECT: ${errorName(error)}`);
      return "encode-failed";
    }
    password.fill(0, 0, passwordLength);
    fields.password = null;
    return "encoded";
  }

  /** The SUBSCRIBE for every subscription into tx at 0. */
  subscribe(tx: Uint8Array, packetId: number): BuildResult {
    this.subscribeFields.packetId = packetId;
    try {
      this.length = encodeSubscribe(tx, 0, this.subscribeFields);
      return "encoded";
    } catch (error) {
      this.reporter.error("encode-failed", `SUBSCRIBE: ${errorName(error)}`);
      return "encode-failed";
    }
  }
}
