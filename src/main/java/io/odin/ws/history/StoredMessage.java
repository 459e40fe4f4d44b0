package io.odin.ws.history;

/**
 * One message of a stream's history: its sequence number, when it was dispatched (a fixed-width string that sorts
 * in dispatch order across the streams of one store: a token's stream and the broadcast stream interleave by it in
 * a replay) and the frame clients receive, without its {@code id}.
 */
public record StoredMessage(long seq, String order, byte[] frame) {
}
