// Pipelines: the DAG drawn from the API's definition (layers and dependencies), and a run
// followed live: each stage's box takes its status as GET /pipelines/runs/{id} reports it.
import { useEffect, useRef, useState, type FormEvent } from "react";

import { api, post } from "../api";
import type { Page, Pipeline, PipelineRun, PipelineStage } from "../types";
import { ErrorLine, Json, when } from "../ui";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const DONE_OK = new Set(["succeeded", "cached", "skipped"]);
const POLL_MS = 400;

export function Pipelines() {
  const [pipelines, setPipelines] = useState<Pipeline[]>([]);
  const [name, setName] = useState("");
  const [input, setInput] = useState("");
  const [run, setRun] = useState<PipelineRun | null>(null);
  const [runs, setRuns] = useState<PipelineRun[]>([]);
  const [error, setError] = useState<unknown>(null);
  const timer = useRef<number>();
  const pipeline = pipelines.find((p) => p.name === name);

  const loadRuns = () =>
    api<Page<PipelineRun>>("/pipelines/runs?limit=10").then((p) => setRuns(p.items), setError);
  useEffect(() => {
    api<Page<Pipeline>>("/pipelines").then((p) => {
      setPipelines(p.items);
      setName((n) => n || p.items[0]?.name || "");
    }, setError);
    void loadRuns();
    return () => window.clearTimeout(timer.current);
  }, []);

  function follow(id: string) {
    window.clearTimeout(timer.current);
    api<PipelineRun>(`/pipelines/runs/${id}`).then((r) => {
      setRun(r);
      if (!FINISHED.has(r.status)) timer.current = window.setTimeout(() => follow(id), POLL_MS);
      else void loadRuns();
    }, setError);
  }

  async function start(e: FormEvent) {
    e.preventDefault();
    try {
      const started = await post<PipelineRun>(`/pipelines/${encodeURIComponent(name)}/run`, {
        input: parseInput(input),
      });
      setRun(started);
      setError(null);
      follow(started.id);
    } catch (err) {
      setError(err);
    }
  }

  return (
    <section>
      <div className="toolbar">
        <label>
          Pipeline{" "}
          <select value={name} onChange={(e) => (setName(e.target.value), setRun(null))}>
            {pipelines.map((p) => (
              <option key={p.name}>{p.name}</option>
            ))}
          </select>
        </label>
      </div>
      {pipeline ? (
        <>
          <p className="hint">
            {pipeline.description} ({pipeline.definition.mode})
          </p>
          <Graph pipeline={pipeline} run={run?.pipeline === pipeline.name ? run : null} />
          <details>
            <summary>Mermaid source</summary>
            <pre className="json">{pipeline.mermaid}</pre>
          </details>
          <form className="stack" onSubmit={start}>
            <label>
              Input <small>(text, or JSON)</small>
              <textarea rows={3} value={input} onChange={(e) => setInput(e.target.value)} />
            </label>
            <button type="submit" disabled={run !== null && !FINISHED.has(run.status)}>
              Run
            </button>
          </form>
        </>
      ) : null}
      <ErrorLine error={error} />
      {run ? (
        <div className="run" aria-live="polite">
          <p>
            Run <code>{run.id.slice(0, 8)}</code>: <strong className={`status ${run.status}`} data-run-status={run.status}>{run.status}</strong>
          </p>
          {run.error ? <ErrorLine error={new Error(run.error.message ?? "failed")} /> : null}
          {FINISHED.has(run.status) ? <Json value={run.output} /> : null}
        </div>
      ) : null}
      <h2>Recent runs</h2>
      <ul className="cards">
        {runs.map((r) => (
          <li key={r.id} className="card">
            <div className="grow">
              <code>{r.pipeline}</code> <span className={`status ${r.status}`}>{r.status}</span>
              <small>{when(r.created_at)}</small>
            </div>
            <button className="secondary" onClick={() => (setName(r.pipeline), setRun(r))}>
              Show
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

const W = 150;
const H = 44;
const GX = 60;
const GY = 20;

function Graph({ pipeline, run }: { pipeline: Pipeline; run: PipelineRun | null }) {
  const { layers, stages, output } = pipeline.definition;
  const pos = new Map<string, { x: number; y: number }>();
  const tallest = Math.max(1, ...layers.map((l) => l.length));
  layers.forEach((layer, col) =>
    layer.forEach((stage, row) => {
      const offset = ((tallest - layer.length) * (H + GY)) / 2;
      pos.set(stage, { x: col * (W + GX), y: offset + row * (H + GY) });
    }),
  );
  const width = layers.length * (W + GX) - GX;
  const height = tallest * (H + GY) - GY;
  return (
    <svg
      className="graph"
      width={width + 8}
      viewBox={`-4 -4 ${width + 8} ${height + 8}`}
      role="img"
      aria-label={`${pipeline.name}: ${stages.map((s) => s.name).join(", ")}`}
    >
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" />
        </marker>
      </defs>
      {stages.flatMap((s) =>
        s.depends_on.map((dep) => {
          const a = pos.get(dep);
          const b = pos.get(s.name);
          if (!a || !b) return null;
          const [x1, y1, x2, y2] = [a.x + W, a.y + H / 2, b.x - 3, b.y + H / 2];
          const mid = (x1 + x2) / 2;
          return (
            <path
              key={`${dep}-${s.name}`}
              d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`}
              className="edge"
              markerEnd="url(#arrow)"
            />
          );
        }),
      )}
      {stages.map((s) => {
        const p = pos.get(s.name);
        if (!p) return null;
        const status = stageStatus(s, run);
        return (
          <g key={s.name} transform={`translate(${p.x},${p.y})`} className={`node ${status}`} data-stage={s.name} data-status={status}>
            <rect width={W} height={H} rx={6} className={s.name === output ? "output" : ""} />
            <text x={W / 2} y={18} textAnchor="middle">
              {s.name.length > 18 ? s.name.slice(0, 17) + "…" : s.name}
            </text>
            <text x={W / 2} y={35} textAnchor="middle" className="sub">
              {status || "\u00a0"}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** A stage's status in `run`: its result's once it has one; while the run goes on, a stage
 * whose dependencies have all finished is running (results arrive as stages end). */
function stageStatus(stage: PipelineStage, run: PipelineRun | null): string {
  if (!run) return "";
  const done = run.stages[stage.name]?.status;
  if (done) return done;
  if (FINISHED.has(run.status)) return "";
  const ready = stage.depends_on.every((d) => DONE_OK.has(run.stages[d]?.status ?? ""));
  return ready ? "running" : "waiting";
}

function parseInput(raw: string): unknown {
  const t = raw.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      return JSON.parse(t);
    } catch {
      return raw;
    }
  }
  return raw;
}
