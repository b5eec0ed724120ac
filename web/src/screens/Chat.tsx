// Chat with streaming: deltas grow the answer as they arrive, tool calls and their results
// show inline, and a turn that pauses for approval offers Approve / Reject in place.
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";

import { api, post } from "../api";
import { streamTurn, type ChatEvent } from "../stream";
import type { Agent, Approval, Conversation, Page, RunResult, StoredMessage } from "../types";
import { ErrorLine, Json } from "../ui";

type Item =
  | { kind: "user"; text: string }
  | { kind: "assistant"; text: string; streaming?: boolean }
  | { kind: "tool"; id: string; name: string; args: unknown; result?: unknown; done?: boolean }
  | { kind: "approval"; approval: Approval; decided?: string }
  | { kind: "error"; text: string };

export function Chat({ conversationId: initial }: { conversationId: string | null }) {
  const [agents, setAgents] = useState<Agent[]>([]);
  const [agent, setAgent] = useState("");
  const [conversationId, setConversationId] = useState(initial);
  const [items, setItems] = useState<Item[]>([]);
  const [draft, setDraft] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const end = useRef<HTMLDivElement>(null);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  useEffect(() => {
    api<Page<Agent>>("/agents").then((p) => {
      setAgents(p.items);
      setAgent((a) => a || (p.items.find((x) => x.name === "assistant") ?? p.items[0])?.name || "");
    }, setError);
  }, []);

  useEffect(() => {
    if (!initial) return;
    (async () => {
      const conv = await api<Conversation>(`/conversations/${initial}`);
      setAgent(conv.agent);
      const msgs = await api<Page<StoredMessage>>(`/conversations/${initial}/messages?limit=100`);
      const pending = await api<Page<Approval>>("/approvals?status=pending");
      setItems([
        ...fromStored(msgs.items),
        ...pending.items
          .filter((a) => a.conversation_id === initial)
          .map((a): Item => ({ kind: "approval", approval: a })),
      ]);
    })().catch(setError);
  }, [initial]);

  useEffect(() => {
    // (braces: newer browsers return a promise from scrollIntoView, not a cleanup)
    void end.current?.scrollIntoView?.({ block: "end" });
  }, [items]);

  function apply(e: ChatEvent) {
    setItems((prev) => {
      const next = [...prev];
      const last = next[next.length - 1];
      if (e.type === "delta") {
        if (last?.kind === "assistant" && last.streaming) {
          next[next.length - 1] = { ...last, text: last.text + e.text };
        } else next.push({ kind: "assistant", text: e.text, streaming: true });
      } else if (e.type === "tool_call") {
        next.push({ kind: "tool", id: e.id, name: e.name, args: e.args });
      } else if (e.type === "tool_result") {
        const i = next.findIndex((x) => x.kind === "tool" && x.id === e.id);
        if (i >= 0) next[i] = { ...(next[i] as Item & { kind: "tool" }), result: e.result, done: true };
      } else if (e.type === "done") {
        if (e.pending_approval)
          next.push({ kind: "approval", approval: e.pending_approval as Approval });
      } else if (e.type === "error") {
        next.push({ kind: "error", text: `${e.error.message} (${e.error.code})` });
      }
      return next.map((x) => (x.kind === "assistant" && e.type !== "delta" ? { ...x, streaming: false } : x));
    });
    if (e.type === "done") {
      setConversationId(e.conversation_id);
      // The address names the conversation, unless the user has moved to another screen
      // while the turn was finishing (the turn still completes and is stored).
      if (mounted.current && /^#\/chat\/?$/.test(location.hash || "#/chat"))
        history.replaceState(null, "", `#/chat/${e.conversation_id}`);
    }
  }

  async function send(e?: FormEvent) {
    e?.preventDefault();
    const text = draft.trim();
    if (!text || busy || !agent) return;
    setDraft("");
    setBusy(true);
    setError(null);
    setItems((prev) => [...prev, { kind: "user", text }]);
    try {
      await streamTurn(agent, text, conversationId, apply);
    } catch (err) {
      setError(err);
    } finally {
      setItems((prev) => prev.map((x) => (x.kind === "assistant" ? { ...x, streaming: false } : x)));
      setBusy(false);
    }
  }

  async function decide(approval: Approval, approve: boolean) {
    setBusy(true);
    setError(null);
    try {
      const result = await post<RunResult>(`/approvals/${approval.id}`, { approve });
      setItems((prev) => {
        const decided = approve ? "approved" : "rejected";
        const ids = new Set(approval.calls.map((c) => c.id));
        const next: Item[] = prev.map((x) =>
          x.kind === "approval" && x.approval.id === approval.id
            ? { ...x, decided }
            : x.kind === "tool" && ids.has(x.id) && !x.done
              ? { ...x, result: `(${decided})`, done: true }
              : x,
        );
        if (result.output !== null && result.output !== "")
          next.push({ kind: "assistant", text: asText(result.output) });
        if (result.pending_approval)
          next.push({ kind: "approval", approval: result.pending_approval });
        return next;
      });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      void send();
    }
  }

  return (
    <section className="chat">
      <div className="toolbar">
        <label>
          Agent{" "}
          <select
            value={agent}
            onChange={(e) => setAgent(e.target.value)}
            disabled={conversationId !== null}
          >
            {agents.map((a) => (
              <option key={a.name} value={a.name} title={a.description}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        {conversationId ? (
          <a href="#/chat" className="button">
            New conversation
          </a>
        ) : null}
      </div>
      <ol className="messages" aria-live="polite" aria-label="Conversation">
        {items.map((item, i) => (
          <li key={i} className={`msg ${item.kind}`}>
            <ItemView item={item} busy={busy} decide={decide} />
          </li>
        ))}
        {items.length === 0 ? <li className="empty">Say something to start.</li> : null}
      </ol>
      <div ref={end} />
      <ErrorLine error={error} />
      <form className="composer" onSubmit={send}>
        <label className="sr-only" htmlFor="message">
          Message
        </label>
        <textarea
          id="message"
          rows={2}
          placeholder="Message (Enter sends, Shift+Enter for a new line)"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKey}
          disabled={!agent}
        />
        <button type="submit" disabled={busy || !draft.trim()}>
          {busy ? "…" : "Send"}
        </button>
      </form>
    </section>
  );
}

function ItemView({
  item,
  busy,
  decide,
}: {
  item: Item;
  busy: boolean;
  decide: (a: Approval, ok: boolean) => void;
}) {
  switch (item.kind) {
    case "user":
      return <p>{item.text}</p>;
    case "assistant":
      return (
        <p data-streaming={item.streaming ? "true" : undefined}>
          {item.text}
          {item.streaming ? <span className="caret" aria-hidden="true" /> : null}
        </p>
      );
    case "error":
      return <p role="alert">{item.text}</p>;
    case "tool":
      return (
        <details open>
          <summary>
            Tool call <code>{item.name}</code> {item.done ? "✓" : "…"}
          </summary>
          <Json value={item.args} />
          {item.done ? <Json value={item.result} /> : null}
        </details>
      );
    case "approval":
      return (
        <div className="approval" role="group" aria-label="Approval needed">
          <p>
            <strong>Approval needed</strong> for{" "}
            {item.approval.calls.map((c) => (
              <span key={c.id}>
                <code>{c.name}</code> <Json value={c.args} />
              </span>
            ))}
          </p>
          {item.decided ? (
            <p className="decided">{item.decided}</p>
          ) : (
            <div className="actions">
              <button disabled={busy} onClick={() => decide(item.approval, true)}>
                Approve
              </button>
              <button disabled={busy} className="secondary" onClick={() => decide(item.approval, false)}>
                Reject
              </button>
            </div>
          )}
        </div>
      );
  }
}

function asText(output: unknown): string {
  return typeof output === "string" ? output : JSON.stringify(output, null, 2);
}

function fromStored(messages: StoredMessage[]): Item[] {
  const items: Item[] = [];
  for (const m of messages) {
    if (m.role === "user") {
      items.push({ kind: "user", text: m.content });
      if (m.status === "failed")
        items.push({ kind: "error", text: m.error?.message ?? "This turn failed." });
    } else if (m.role === "assistant") {
      for (const c of m.tool_calls ?? [])
        items.push({ kind: "tool", id: c.id, name: c.name, args: c.args, result: c.result, done: true });
      if (m.content) items.push({ kind: "assistant", text: m.content });
    } else if (m.role === "tool") {
      const i = items.findIndex((x) => x.kind === "tool" && x.id === m.tool_call_id);
      if (i >= 0) items[i] = { ...(items[i] as Item & { kind: "tool" }), result: m.content, done: true };
    }
  }
  return items;
}
