// Eval runs (`mai eval agent|memory`, GET /evals): newest first, filtered by dataset; a run
// opens at #/evals/{id} with its average, pass/fail and per-case scores (GET /evals/{id}).
// Runs are the project's, not a user's: the API answers 403 to anyone but a superuser.
import { useEffect, useRef, useState } from "react";

import { api, ApiError } from "../api";
import type { EvalCase, EvalRun, Page, User } from "../types";
import { ErrorLine, go, when } from "../ui";

const SUPERUSERS_ONLY =
  "Only a superuser can see eval runs: they belong to the project, not to one user, and quote datasets and replies.";

export function Evals({ me, runId }: { me: User | null; runId: string | null }) {
  const forbidden = (e: unknown) => e instanceof ApiError && e.status === 403;
  const [denied, setDenied] = useState(false);
  const onError = (e: unknown) => (forbidden(e) ? setDenied(true) : undefined);

  if (denied || (me !== null && !me.is_superuser)) {
    return (
      <section>
        <p className="notice" role="status">
          {SUPERUSERS_ONLY}
        </p>
      </section>
    );
  }
  return runId ? <RunDetail id={runId} onDenied={onError} /> : <RunList onDenied={onError} />;
}

function RunList({ onDenied }: { onDenied: (e: unknown) => void }) {
  const [runs, setRuns] = useState<EvalRun[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [dataset, setDataset] = useState("");
  const [datasets, setDatasets] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);

  async function load(after: string | null) {
    try {
      const q = new URLSearchParams({ limit: "20" });
      if (after) q.set("after", after);
      if (dataset) q.set("dataset", dataset);
      const page = await api<Page<EvalRun>>(`/evals?${q}`);
      setRuns((prev) => (after && prev ? [...prev, ...page.items] : page.items));
      setCursor(page.next_cursor ?? null);
      // The filter offers every dataset seen so far (the API has no list of datasets).
      setDatasets((known) => [...new Set([...known, ...page.items.map((r) => r.dataset)])].sort());
      setError(null);
    } catch (e) {
      onDenied(e);
      setError(e);
    }
  }
  useEffect(() => void load(null), [dataset]);

  return (
    <section>
      <div className="toolbar">
        <label>
          Dataset{" "}
          <select value={dataset} onChange={(e) => setDataset(e.target.value)}>
            <option value="">All datasets</option>
            {datasets.map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        </label>
      </div>
      <ErrorLine error={error} />
      {runs?.length === 0 ? (
        <p>
          No eval runs{dataset ? ` for ${dataset}` : ""} yet: <code>mai eval agent AGENT DATASET.yaml</code> or{" "}
          <code>mai eval memory FILE</code> records one.
        </p>
      ) : null}
      {runs?.length ? (
        <table aria-label="Eval runs">
          <thead>
            <tr>
              <th>Dataset</th>
              <th className="wide">Model / prompt</th>
              <th>Score</th>
              <th>Result</th>
              <th className="wide">When</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-eval-run={r.id}>
                <td>
                  <a href={`#/evals/${r.id}`}>{r.dataset}</a>
                  <small>
                    {r.kind} {r.target}
                  </small>
                </td>
                <td className="wide">{variantOf(r)}</td>
                <td className="num">{r.score.toFixed(3)}</td>
                <td>
                  <Verdict run={r} />
                </td>
                <td className="wide">{when(r.created_at)}</td>
                <td>
                  <button
                    className="secondary"
                    onClick={() => go(`evals/${r.id}`)}
                    aria-label={`Open ${r.dataset} run of ${when(r.created_at)}`}
                  >
                    Open
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {cursor ? <button onClick={() => void load(cursor)}>Load more</button> : null}
    </section>
  );
}

function RunDetail({ id, onDenied }: { id: string; onDenied: (e: unknown) => void }) {
  const [run, setRun] = useState<EvalRun | null>(null);
  const [error, setError] = useState<unknown>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    api<EvalRun>(`/evals/${encodeURIComponent(id)}`).then(
      (r) => {
        setRun(r);
        setError(null);
      },
      (e) => {
        onDenied(e);
        setError(e);
      },
    );
  }, [id]);
  // Keyboard and screen-reader users land on the run they opened.
  useEffect(() => heading.current?.focus(), [run?.id]);

  const cases = run?.cases ?? [];
  return (
    <section>
      <p>
        <a href="#/evals">← All runs</a>
      </p>
      <ErrorLine error={error} />
      {run ? (
        <>
          <h2 ref={heading} tabIndex={-1}>
            {run.dataset} · {run.kind} {run.target}
          </h2>
          <dl className="scores summary">
            <div>
              <dt>{run.kind === "memory" ? "recall@10" : "average"}</dt>
              <dd data-eval-score>{run.score.toFixed(3)}</dd>
            </div>
            <div>
              <dt>threshold</dt>
              <dd>{run.threshold === null ? "none" : run.threshold.toFixed(3)}</dd>
            </div>
            <div>
              <dt>result</dt>
              <dd>
                <Verdict run={run} />
              </dd>
            </div>
            <div>
              <dt>model / prompt</dt>
              <dd>{variantOf(run)}</dd>
            </div>
            <div>
              <dt>run</dt>
              <dd>{when(run.created_at)}</dd>
            </div>
          </dl>
          {Object.keys(run.metrics).length ? (
            <dl className="scores summary" aria-label="Metrics">
              {Object.entries(run.metrics).map(([name, value]) => (
                <div key={name}>
                  <dt>{name}</dt>
                  <dd>{Number.isInteger(value) ? value : value.toFixed(3)}</dd>
                </div>
              ))}
            </dl>
          ) : null}
          {cases.length ? (
            <table aria-label="Cases">
              <thead>
                <tr>
                  <th>Case</th>
                  <th>Score</th>
                  <th>Checks</th>
                  <th className="wide">Seconds</th>
                  <th className="wide">Output / error</th>
                </tr>
              </thead>
              <tbody>
                {cases.map((c) => (
                  <tr key={c.name} data-eval-case={c.name}>
                    <td>
                      <code>{c.name}</code>
                    </td>
                    <td className="num">{c.score.toFixed(2)}</td>
                    <td>
                      <Checks c={c} />
                    </td>
                    <td className="wide num">{c.duration.toFixed(2)}</td>
                    <td className="wide">
                      {c.error ? <span className="error">{c.error}</span> : <span className="said">{c.output ?? ""}</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="hint">This run has no per-case scores (a memory run reports the metrics above).</p>
          )}
        </>
      ) : null}
    </section>
  );
}

function Checks({ c }: { c: EvalCase }) {
  const items = [
    ...Object.entries(c.assertions).map(([name, ok]) => (
      <li key={`a:${name}`} className={ok ? "pass" : "fail"}>
        <span aria-hidden="true">{ok ? "✓" : "✗"}</span> {name}
        <span className="sr-only">{ok ? " passed" : " failed"}</span>
      </li>
    )),
    ...Object.entries(c.scores).map(([name, value]) => (
      <li key={`s:${name}`}>
        {name} {value.toFixed(2)}
      </li>
    )),
  ];
  return items.length ? <ul className="checks">{items}</ul> : <span className="hint">—</span>;
}

function Verdict({ run }: { run: EvalRun }) {
  if (run.threshold === null) return <span className="status">no threshold</span>;
  return (
    <span className={`status ${run.passed ? "succeeded" : "failed"}`} data-passed={run.passed}>
      {run.passed ? "passed" : "failed"}
    </span>
  );
}

function variantOf(r: EvalRun): string {
  const parts = [r.model, r.prompt_version ? `prompt ${r.prompt_version}` : null].filter(Boolean);
  return parts.length ? parts.join(" · ") : "configured";
}
