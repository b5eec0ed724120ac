// The API's shapes (CONTRACT.md and the OpenAPI document at /openapi.json).

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}
export interface User {
  id: string;
  username: string;
  email: string;
  is_superuser: boolean;
}
export interface Agent {
  name: string;
  description: string;
  tools: string[];
}
export interface Conversation {
  id: string;
  title: string;
  agent: string;
  created_at: string;
  updated_at: string;
}
export interface ToolCall {
  id: string;
  name: string;
  args: unknown;
  result?: unknown;
}
export interface StoredMessage {
  id: string;
  role: string;
  content: string;
  status: string;
  error: { message?: string } | null;
  tool_calls: ToolCall[];
  tool_call_id: string | null;
}
export interface Approval {
  id: string;
  conversation_id: string;
  agent: string;
  status: string;
  calls: ToolCall[];
}
export interface RunResult {
  conversation_id: string;
  message_id: string;
  output: unknown;
  pending_approval?: Approval | null;
}
export interface Memory {
  id: string;
  content: string;
  kind: string;
  importance: number;
  metadata: Record<string, unknown>;
  created_at: string;
  [more: string]: unknown;
}
export interface Tool {
  name: string;
  version: string;
  description: string;
  category: string;
  enabled: boolean;
  requires_approval: boolean;
  source: string;
}
export interface PromptVariable {
  type: string;
  description: string;
  required: boolean;
  default: unknown;
}
export interface Prompt {
  name: string;
  versions: string[];
  latest: string;
  description: string;
  variables: Record<string, PromptVariable>;
}
export interface PipelineStage {
  name: string;
  depends_on: string[];
}
export interface Pipeline {
  name: string;
  description: string;
  mermaid: string;
  definition: { stages: PipelineStage[]; layers: string[][]; output: string; mode: string };
}
export interface StageResult {
  status: string;
  attempts: number;
  duration: number;
  output: unknown;
  error: { message?: string } | null;
}
export interface PipelineRun {
  id: string;
  pipeline: string;
  status: string;
  output: unknown;
  stages: Record<string, StageResult>;
  error: { message?: string } | null;
  created_at: string;
}
export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at?: string | null;
  expired?: boolean;
  key?: string;
}
export interface EvalCase {
  name: string;
  score: number;
  duration: number;
  assertions: Record<string, boolean>;
  scores: Record<string, number>;
  error: string | null;
  output: string | null;
}
export interface EvalRun {
  id: string;
  kind: string; // agent or memory
  dataset: string;
  target: string; // the agent, or the retrieval mode
  model: string | null;
  prompt_version: string | null;
  score: number; // average case score (agent) or recall@10 (memory)
  threshold: number | null;
  passed: boolean;
  metrics: Record<string, number>;
  details: Record<string, unknown>;
  created_at: string;
  cases?: EvalCase[]; // GET /evals/{id} only
}
