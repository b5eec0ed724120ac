import { useEffect, useState } from "react";

import { api, del } from "../api";
import type { Conversation, Page } from "../types";
import { ErrorLine, go, when } from "../ui";

export function Conversations() {
  const [items, setItems] = useState<Conversation[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function load(after: string | null) {
    try {
      const q = after ? `?limit=20&after=${encodeURIComponent(after)}` : "?limit=20";
      const page = await api<Page<Conversation>>(`/conversations${q}`);
      setItems((prev) => (after && prev ? [...prev, ...page.items] : page.items));
      setCursor(page.next_cursor ?? null);
    } catch (e) {
      setError(e);
    }
  }
  useEffect(() => void load(null), []);

  async function remove(c: Conversation) {
    if (!window.confirm(`Delete "${c.title || c.id}" and all its messages?`)) return;
    try {
      await del(`/conversations/${c.id}`);
      setItems((prev) => prev?.filter((x) => x.id !== c.id) ?? null);
    } catch (e) {
      setError(e);
    }
  }

  return (
    <section>
      <ErrorLine error={error} />
      {items?.length === 0 ? <p>No conversations yet.</p> : null}
      <ul className="cards">
        {items?.map((c) => (
          <li key={c.id} className="card">
            <div className="grow">
              <a href={`#/chat/${c.id}`}>{c.title || "(untitled)"}</a>
              <small>
                {c.agent} · {when(c.updated_at)}
              </small>
            </div>
            <button onClick={() => go(`chat/${c.id}`)}>Open</button>
            <button className="danger" onClick={() => void remove(c)} aria-label={`Delete ${c.title}`}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      {cursor ? <button onClick={() => void load(cursor)}>Load more</button> : null}
    </section>
  );
}
