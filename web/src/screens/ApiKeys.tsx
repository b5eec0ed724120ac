// Personal API keys (POST/GET/DELETE /api-keys): a new key is shown once, then only its prefix.
import { useEffect, useState, type FormEvent } from "react";

import { api, ApiError, del, post } from "../api";
import type { ApiKey, Page } from "../types";
import { ErrorLine, when } from "../ui";

export function ApiKeys() {
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [name, setName] = useState("");
  const [days, setDays] = useState("");
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = () =>
    api<Page<ApiKey>>("/api-keys").then(
      (p) => setKeys(p.items),
      (e) =>
        setError(
          e instanceof ApiError && e.status === 404
            ? new Error("This server has no API keys endpoint (/api/v1/api-keys) yet.")
            : e,
        ),
    );
  useEffect(() => void load(), []);

  async function create(e: FormEvent) {
    e.preventDefault();
    try {
      const key = await post<ApiKey>("/api-keys", {
        name,
        ...(days ? { expires_in_days: Number(days) } : {}),
      });
      setCreated(key);
      setName("");
      setDays("");
      setError(null);
      await load();
    } catch (err) {
      setError(err);
    }
  }

  async function revoke(k: ApiKey) {
    if (!window.confirm(`Revoke "${k.name}"? Clients using it stop working at once.`)) return;
    try {
      await del(`/api-keys/${k.id}`);
      setKeys((xs) => xs.filter((x) => x.id !== k.id));
    } catch (err) {
      setError(err);
    }
  }

  return (
    <section>
      <form className="row" onSubmit={create}>
        <label className="grow">
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required placeholder="laptop, llm CLI…" />
        </label>
        <label>
          Expires in (days)
          <input type="number" min={1} value={days} onChange={(e) => setDays(e.target.value)} placeholder="never" />
        </label>
        <button type="submit">Create key</button>
      </form>
      <ErrorLine error={error} />
      {created?.key ? (
        <div className="notice" role="status">
          <p>
            Your new key <strong>{created.name}</strong> — copy it now, it is not shown again:
          </p>
          <code className="secret">{created.key}</code>{" "}
          <button onClick={() => void navigator.clipboard?.writeText(created.key ?? "")}>Copy</button>
          <p className="hint">
            Use it as <code>Authorization: Bearer …</code> with the REST API, <code>/v1</code>,
            GraphQL or WebSocket.
          </p>
        </div>
      ) : null}
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Prefix</th>
            <th>Created</th>
            <th>Expires</th>
            <th>Last used</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{when(k.created_at)}</td>
              <td>{k.expired ? "expired" : k.expires_at ? when(k.expires_at) : "never"}</td>
              <td>{when(k.last_used_at)}</td>
              <td>
                <button className="danger" onClick={() => void revoke(k)} aria-label={`Revoke ${k.name}`}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {keys.length === 0 ? <p>No keys yet.</p> : null}
    </section>
  );
}
