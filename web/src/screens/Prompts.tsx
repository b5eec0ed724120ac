import { useEffect, useState, type FormEvent } from "react";

import { api, post } from "../api";
import type { Page, Prompt } from "../types";
import { ErrorLine } from "../ui";

export function Prompts() {
  const [prompts, setPrompts] = useState<Prompt[]>([]);
  const [name, setName] = useState("");
  const [version, setVersion] = useState("");
  const [values, setValues] = useState<Record<string, string>>({});
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const prompt = prompts.find((p) => p.name === name);

  useEffect(
    () =>
      void api<Page<Prompt>>("/prompts").then((p) => {
        setPrompts(p.items);
        setName((n) => n || p.items[0]?.name || "");
      }, setError),
    [],
  );
  useEffect(() => {
    setValues({});
    setText(null);
    setVersion("");
  }, [name]);

  async function render(e: FormEvent) {
    e.preventDefault();
    if (!prompt) return;
    const variables: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(prompt.variables)) {
      const raw = values[key];
      if (raw === undefined || raw === "") continue;
      variables[key] = spec.type === "string" || spec.type === "str" ? raw : parse(raw);
    }
    try {
      const out = await post<{ text: string }>(`/prompts/${encodeURIComponent(name)}/render`, {
        variables,
        version: version || null,
      });
      setText(out.text);
      setError(null);
    } catch (err) {
      setText(null);
      setError(err);
    }
  }

  return (
    <section className="split">
      <form onSubmit={render} className="stack">
        <label>
          Prompt
          <select value={name} onChange={(e) => setName(e.target.value)}>
            {prompts.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        {prompt ? (
          <>
            <p className="hint">{prompt.description}</p>
            <label>
              Version
              <select value={version} onChange={(e) => setVersion(e.target.value)}>
                <option value="">latest ({prompt.latest})</option>
                {prompt.versions.map((v) => (
                  <option key={v}>{v}</option>
                ))}
              </select>
            </label>
            {Object.entries(prompt.variables).map(([key, spec]) => (
              <label key={key}>
                {key} <small>({spec.type}{spec.required ? ", required" : ""})</small>
                <input
                  value={values[key] ?? ""}
                  placeholder={spec.default != null ? String(spec.default) : spec.description}
                  onChange={(e) => setValues({ ...values, [key]: e.target.value })}
                />
              </label>
            ))}
            <button type="submit">Render preview</button>
          </>
        ) : null}
      </form>
      <div>
        <ErrorLine error={error} />
        {text !== null ? (
          <pre className="preview" aria-label="Rendered prompt">
            {text}
          </pre>
        ) : null}
      </div>
    </section>
  );
}

function parse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
