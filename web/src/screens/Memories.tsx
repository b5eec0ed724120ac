// The memory inspector: search (each result with the scores the API returns), a memory's
// provenance (GET /memories/{id}), edit (PATCH) and delete.
import { useEffect, useState, type FormEvent } from "react";

import { api, ApiError, del, patch, post } from "../api";
import type { Memory, Page } from "../types";
import { ErrorLine, Json, when } from "../ui";

interface SearchOut {
  items: Memory[];
  mode: string;
  degraded: boolean;
}

// Fields shown elsewhere on the card; any other number a search result carries is a score.
const SHOWN = new Set(["importance", "access_count"]);
const SIGNALS = ["score", "similarity", "dense", "lexical"];

export function Memories() {
  const [list, setList] = useState<Memory[]>([]);
  const [results, setResults] = useState<SearchOut | null>(null);
  const [q, setQ] = useState("");
  const [k, setK] = useState(5);
  const [content, setContent] = useState("");
  const [error, setError] = useState<unknown>(null);

  const loadList = () =>
    api<Page<Memory>>("/memories?limit=50").then((p) => setList(p.items), setError);
  useEffect(() => void loadList(), []);

  async function search(e: FormEvent) {
    e.preventDefault();
    if (!q.trim()) return setResults(null);
    try {
      setResults(await api<SearchOut>(`/memories/search?q=${encodeURIComponent(q)}&k=${k}`));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }

  async function add(e: FormEvent) {
    e.preventDefault();
    try {
      await post("/memories", { content });
      setContent("");
      await loadList();
    } catch (err) {
      setError(err);
    }
  }

  const changed = (m: Memory | null, id: string) => {
    const swap = (xs: Memory[]) =>
      m ? xs.map((x) => (x.id === id ? { ...x, ...m } : x)) : xs.filter((x) => x.id !== id);
    setList(swap);
    setResults((r) => (r ? { ...r, items: swap(r.items) } : r));
  };

  return (
    <section>
      <form className="row" onSubmit={search} role="search">
        <label className="grow">
          Search
          <input value={q} onChange={(e) => setQ(e.target.value)} placeholder="What do you remember about…" />
        </label>
        <label>
          k
          <input type="number" min={1} max={50} value={k} onChange={(e) => setK(Number(e.target.value))} />
        </label>
        <button type="submit">Search</button>
      </form>
      <ErrorLine error={error} />
      {results ? (
        <section aria-label="Search results">
          <h2>
            Results <small>({results.mode}{results.degraded ? ", degraded: the vector index is down" : ""})</small>
          </h2>
          <MemoryList items={results.items} scored onChange={changed} onError={setError} />
        </section>
      ) : null}
      <h2>Add a memory</h2>
      <form className="row" onSubmit={add}>
        <label className="grow">
          Content
          <input value={content} onChange={(e) => setContent(e.target.value)} />
        </label>
        <button type="submit" disabled={!content.trim()}>
          Remember
        </button>
      </form>
      <h2>All memories</h2>
      <MemoryList items={list} onChange={changed} onError={setError} />
    </section>
  );
}

function MemoryList(props: {
  items: Memory[];
  scored?: boolean;
  onChange: (m: Memory | null, id: string) => void;
  onError: (e: unknown) => void;
}) {
  if (props.items.length === 0) return <p>Nothing here.</p>;
  return (
    <ul className="cards">
      {props.items.map((m) => (
        <MemoryCard key={m.id} memory={m} {...props} />
      ))}
    </ul>
  );
}

function MemoryCard({
  memory: m,
  scored,
  onChange,
  onError,
}: {
  memory: Memory;
  scored?: boolean;
  onChange: (m: Memory | null, id: string) => void;
  onError: (e: unknown) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(m.content);
  const [importance, setImportance] = useState(m.importance);
  const [detail, setDetail] = useState<Memory | null>(null);
  const scores = scored ? scoresOf(m) : [];

  async function save(e: FormEvent) {
    e.preventDefault();
    try {
      const updated = await patch<Memory>(`/memories/${m.id}`, { content: text, importance });
      onChange(updated, m.id);
      setEditing(false);
    } catch (err) {
      onError(missing(err, "Editing"));
    }
  }

  async function remove() {
    if (!window.confirm("Forget this memory?")) return;
    try {
      await del(`/memories/${m.id}`);
      onChange(null, m.id);
    } catch (err) {
      onError(err);
    }
  }

  async function provenance() {
    if (detail) return setDetail(null);
    try {
      setDetail(await api<Memory>(`/memories/${m.id}`));
    } catch (err) {
      onError(missing(err, "Provenance"));
    }
  }

  return (
    <li className="card memory" data-memory-id={m.id}>
      <div className="grow">
        {editing ? (
          <form onSubmit={save} className="stack">
            <label>
              Content
              <textarea value={text} onChange={(e) => setText(e.target.value)} rows={3} autoFocus />
            </label>
            <label>
              Importance ({importance.toFixed(2)})
              <input
                type="range"
                min={0}
                max={1}
                step={0.05}
                value={importance}
                onChange={(e) => setImportance(Number(e.target.value))}
              />
            </label>
            <div className="actions">
              <button type="submit">Save</button>
              <button type="button" className="secondary" onClick={() => setEditing(false)}>
                Cancel
              </button>
            </div>
          </form>
        ) : (
          <p className="content">{m.content}</p>
        )}
        <small>
          {m.kind}
          {typeof m.source === "string" ? ` · from ${m.source}` : ""} · importance{" "}
          {m.importance.toFixed(2)} · {when(m.created_at)}
        </small>
        {scores.length ? (
          <dl className="scores">
            {scores.map(([name, value]) => (
              <div key={name}>
                <dt>{name}</dt>
                <dd>{value === null ? "—" : value.toFixed(3)}</dd>
              </div>
            ))}
          </dl>
        ) : null}
        {detail ? (
          <div className="provenance">
            <strong>Provenance</strong>
            <Json value={provenanceOf(detail)} />
          </div>
        ) : null}
      </div>
      <div className="actions">
        <button className="secondary" onClick={() => void provenance()} aria-expanded={detail !== null}>
          Details
        </button>
        <button onClick={() => setEditing(true)} disabled={editing}>
          Edit
        </button>
        <button className="danger" onClick={() => void remove()}>
          Delete
        </button>
      </div>
    </li>
  );
}

/** Every score a search result carries: the rank (`score`), `similarity`, and each
 * retrieval signal (`dense`, `lexical`: null when that retriever did not find it), then any
 * other number or per-signal breakdown a newer API adds. */
function scoresOf(m: Memory): [string, number | null][] {
  const out: [string, number | null][] = [];
  for (const key of SIGNALS) if (key in m) out.push([key, m[key] as number | null]);
  for (const [key, value] of Object.entries(m)) {
    if (SIGNALS.includes(key) || SHOWN.has(key)) continue;
    if (typeof value === "number") out.push([key, value]);
    else if (value && typeof value === "object" && /signal|score/i.test(key))
      for (const [k, v] of Object.entries(value as Record<string, unknown>))
        if (typeof v === "number") out.push([`${key}.${k}`, v]);
  }
  return out;
}

/** A 405 means this server predates GET/PATCH /memories/{id}: say so, not "not allowed". */
function missing(err: unknown, what: string): unknown {
  return err instanceof ApiError && err.status === 405
    ? new Error(`${what} needs GET/PATCH /api/v1/memories/{id}, which this server does not have.`)
    : err;
}

function provenanceOf(m: Memory): Record<string, unknown> {
  const { content: _c, ...rest } = m;
  void _c;
  return rest;
}
