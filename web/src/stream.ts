// A chat turn over SSE: POST /api/v1/agents/{name}/stream, decoded event by event.
import { createParser } from "eventsource-parser";

import { ApiError, authFetch } from "./api";

export type ChatEvent =
  | { type: "delta"; text: string }
  | { type: "tool_call"; id: string; name: string; args: unknown }
  | { type: "tool_result"; id: string; name: string; result: unknown }
  | { type: "done"; conversation_id: string; message_id: string; pending_approval?: unknown }
  | { type: "error"; error: { code: string; message: string } };

export async function streamTurn(
  agent: string,
  message: string,
  conversationId: string | null,
  onEvent: (e: ChatEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const res = await authFetch(`/api/v1/agents/${encodeURIComponent(agent)}/stream`, {
    method: "POST",
    body: JSON.stringify({ message, conversation_id: conversationId }),
    headers: { Accept: "text/event-stream" },
    signal,
  });
  if (!res.ok || !res.body) {
    const body = await res.json().catch(() => null);
    const e = body?.error ?? { code: "HTTP_" + res.status, message: res.statusText };
    throw new ApiError(res.status, e.code, e.message, e.details);
  }
  const parser = createParser({
    onEvent(ev) {
      if (!ev.event) return; // sse-starlette's pings are comments; nothing else is unnamed
      const data = JSON.parse(ev.data);
      onEvent({ type: ev.event, ...data } as ChatEvent);
    },
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
}
