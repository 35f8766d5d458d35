/*
 * OneJSON, OneNET's thing-model payloads: builders that write into a caller's buffer and a parser that
 * reads the payload where it lies in the packet buffer (no JSON.parse, no strings, no objects per message).
 *
 * ---- Builders (onejson-build.ts): new OneJsonBuilder() once; every method writes at out[offset] and returns the length,
 * or ONEJSON_NO_ROOM (-1) when it does not fit, or ONEJSON_BAD_VALUE (-2) for a NaN/Infinity number or an
 * id outside 0..MAX_GENERATED_ID. They never throw. A message with members is begin...() + add...() + end():
 *   beginPropertyPost(out, offset, id, timeMs)   {"id":"7","version":"1.0","params":{"led":{"value":true,"time":T}}}
 *                                                `timeMs` < 0 (no trustworthy wall clock) leaves `time` out
 *   beginEventPost(out, offset, id, event, timeMs)  {"id":"7","version":"1.0","params":{"<event>":{"value":{...},"time":T}}}
 *   beginGetReply(out, offset, idBuf, idOffset, idLength)      {"id":"<echo>","code":200,"msg":"success","data":{...}}
 *   beginInvokeReply(out, offset, idBuf, idOffset, idLength)   same shape, for service/{id}/invoke_reply
 *   beginDesiredGet(out, offset, id)             {"id":"7","version":"1.0","params":["led",...]}
 *   beginDesiredDelete(out, offset, id)          {"id":"7","version":"1.0","params":{"led":{"version":3},...}}
 *   addBoolean(identifier, v) / addNumber(identifier, v) / addString(identifier, v) / addIdentifier(identifier)
 *   addDesiredVersion(identifier, version)       (desired/delete; version < 0: "led":{}, any version)
 *   end(): number
 *   reply(out, offset, idBuf, idOffset, idLength, code, msg)   {"id":"<echo>","code":200,"msg":"success"}
 *                                                (set_reply, and every error reply)
 *   errorReply(out, offset, parser, error)       reply() with the parser's id and replyCode/replyMessage(error)
 * Echoed ids are the raw bytes between the request's quotes (escapes kept), so the cloud gets back exactly
 * what it sent. `idBuf` null or `idLength` 0 echoes NO_ID ("0"). `out` must not overlap the id bytes.
 * Ids we generate: MessageIds.next(), a counter 1..9999999999999 (at most 13 digits, OneNET's limit).
 * Allocation on XS (checked in test/onenet/xs.test.ts): none, once each distinct identifier/message has been
 * seen (TextCache of TEXT_CACHE_SIZE); except addString (converts the string to UTF-8) and addNumber
 * with a fraction (formats through String()).
 *
 * ---- Parser (onejson-parse.ts): new OneJsonParser({ maxBytes, maxDepth }) once; parse(kind, buf, offset, length) returns a
 * OneJsonError and fills the parser's fields (reused object):
 *   idKind "string" | "number" | "missing" | "other"; idOffset/idLength (the raw bytes of a string id,
 *   or the digits of a numeric id); code (NaN when absent, Infinity when not a number); msgOffset/msgLength;
 *   containerKind/containerOffset/containerLength: `params` (requests) or `data` (replies)
 * then iterate the params (object members, or array elements for property/get):
 *   rewind(); while (next()) { keyOffset/keyLength, valueKind, valueOffset/valueLength }
 *   keyIs(name) (raw bytes compared; names cached as bytes, as in the builder),
 *   valueNumber(), unwrapValue() (desired/get/reply's {"value":..,"version":n}: the value becomes current,
 *   the version goes to valueVersion, -1 when absent or not a whole number),
 *   idEquals(n), checkParams(model) -> "ok" | "unknown-identifier" | "bad-value" (sets badKey*)
 * or read a property/set in one pass against the properties a device accepts:
 *   const schema = new PropertySchema([{ identifier: "led", type: "bool" }]);   once
 *   parser.parseSet(buf, offset, length, schema) -> OneJsonError ("ok": every member known and of
 *   its type, checked while the payload is scanned); then schema.given(i), bool(i), number(i)
 * String values are reported as raw content between the quotes (escapes kept).
 *
 * ---- What the device answers (documented choice; OneNET leaves device codes to the product):
 *   200 "success"             ok
 *   400 "malformed json" / "json too deep" / "not a json object" / "missing id" / "id must be a string" /
 *       "bad id" / "missing params" / "params of wrong type" / "bad value"   (a bad request: nothing applied)
 *   404 "unknown identifier" / "unknown service"
 *   413 "payload too large"   (over the parser's maxBytes, or over the packet buffer: reported by MQTT)
 * A request without a usable id (missing, not a string or number, empty, longer than MAX_ECHO_ID bytes) is
 * still answered, with id "0" (a digit string as OneNET requires; our counter never yields 0). A numeric id
 * is answered with its digits as a string and code 400. Replies to the cloud's replies are never sent.
 */
export * from "./onejson-parse.js";
export * from "./onejson-build.js";
