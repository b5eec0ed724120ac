// Sign in, or create an account (POST /auth/register) and sign in with it.
import { useState, type FormEvent } from "react";

import { signIn, signUp } from "../api";
import { ErrorLine } from "../ui";

export function SignIn() {
  const [creating, setCreating] = useState(false);
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (creating) await signUp(username, email, password);
      await signIn(username, password);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const action = creating ? "Create account" : "Sign in";
  return (
    <main className="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">{creating ? "Create an account" : "MAI console"}</h1>
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            autoFocus
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        {creating ? (
          <label>
            Email
            <input
              name="email"
              type="email"
              autoComplete="email"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </label>
        ) : null}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={creating ? "new-password" : "current-password"}
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? "…" : action}
        </button>
        <ErrorLine error={error} />
        <button type="button" className="secondary" onClick={() => (setCreating(!creating), setError(null))}>
          {creating ? "I have an account: sign in" : "No account yet? Create one"}
        </button>
        <p className="hint">
          Or in a terminal: <code>mai users create NAME --email E</code> (it asks for the password;
          add <code>--superuser</code> to switch tools).
        </p>
      </form>
    </main>
  );
}
