import { useEffect, useState } from "react";

import { api, currentSession, onSession, signOut } from "./api";
import { ApiKeys } from "./screens/ApiKeys";
import { Chat } from "./screens/Chat";
import { Conversations } from "./screens/Conversations";
import { Evals } from "./screens/Evals";
import { Memories } from "./screens/Memories";
import { Pipelines } from "./screens/Pipelines";
import { Prompts } from "./screens/Prompts";
import { SignIn } from "./screens/SignIn";
import { Tools } from "./screens/Tools";
import type { User } from "./types";
import { useRoute } from "./ui";

const SCREENS = [
  ["chat", "Chat"],
  ["conversations", "Conversations"],
  ["memories", "Memories"],
  ["tools", "Tools"],
  ["prompts", "Prompts"],
  ["pipelines", "Pipelines"],
  ["evals", "Evals"],
  ["keys", "API keys"],
] as const;

export function App() {
  const [signedIn, setSignedIn] = useState(currentSession() !== null);
  const [me, setMe] = useState<User | null>(null);
  const [menuOpen, setMenuOpen] = useState(false);
  const [screen = "chat", ...rest] = useRoute();

  useEffect(() => {
    const stop = onSession((s) => setSignedIn(s !== null));
    return () => void stop();
  }, []);
  useEffect(() => {
    if (!signedIn) return setMe(null);
    api<User>("/users/me").then(setMe, () => setMe(null));
  }, [signedIn]);
  useEffect(() => {
    setMenuOpen(false);
  }, [screen]);

  const title = SCREENS.find(([id]) => id === screen)?.[1] ?? "Chat";
  useTitle(signedIn ? title : "Sign in");
  if (!signedIn) return <SignIn />;

  return (
    <div className="app">
      <header className="top">
        <button
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <strong className="brand">MAI</strong>
        <span className="who">
          {me ? `${me.username}${me.is_superuser ? " (superuser)" : ""}` : ""}
        </span>
        <a href="/docs">API docs</a>
        <a href="/graphql">GraphiQL</a>
        <button onClick={() => void signOut()}>Sign out</button>
      </header>
      <nav id="nav" className={menuOpen ? "open" : ""} aria-label="Screens">
        {SCREENS.map(([id, label]) => (
          <a key={id} href={`#/${id}`} aria-current={id === screen ? "page" : undefined}>
            {label}
          </a>
        ))}
        <a href="/docs" className="phone-only">
          API docs
        </a>
        <a href="/graphql" className="phone-only">
          GraphiQL
        </a>
      </nav>
      <main id="main">
        <h1>{title}</h1>
        {screen === "conversations" ? (
          <Conversations />
        ) : screen === "memories" ? (
          <Memories />
        ) : screen === "tools" ? (
          <Tools me={me} />
        ) : screen === "prompts" ? (
          <Prompts />
        ) : screen === "pipelines" ? (
          <Pipelines />
        ) : screen === "evals" ? (
          <Evals key={rest[0] ?? "list"} me={me} runId={rest[0] ?? null} />
        ) : screen === "keys" ? (
          <ApiKeys />
        ) : (
          <Chat key={rest[0] ?? "new"} conversationId={rest[0] ?? null} />
        )}
      </main>
    </div>
  );
}

function useTitle(title: string) {
  useEffect(() => {
    document.title = `${title} · MAI console`;
  }, [title]);
}
