import { useEffect, useState } from "react";

import { api, patch } from "../api";
import type { Page, Tool, User } from "../types";
import { ErrorLine } from "../ui";

export function Tools({ me }: { me: User | null }) {
  const [tools, setTools] = useState<Tool[]>([]);
  const [error, setError] = useState<unknown>(null);
  const superuser = me?.is_superuser ?? false;

  useEffect(() => void api<Page<Tool>>("/tools").then((p) => setTools(p.items), setError), []);

  async function toggle(t: Tool) {
    try {
      const updated = await patch<Tool>(`/tools/${encodeURIComponent(t.name)}`, { enabled: !t.enabled });
      setTools((xs) => xs.map((x) => (x.name === t.name ? { ...x, enabled: updated.enabled } : x)));
      setError(null);
    } catch (e) {
      setError(e);
    }
  }

  return (
    <section>
      {superuser ? null : <p className="hint">Only a superuser can switch tools on or off.</p>}
      <ErrorLine error={error} />
      <table>
        <thead>
          <tr>
            <th>Tool</th>
            <th>Version</th>
            <th className="wide">Description</th>
            <th>Category</th>
            <th>Enabled</th>
          </tr>
        </thead>
        <tbody>
          {tools.map((t) => (
            <tr key={`${t.name}@${t.version}`}>
              <td>
                <code>{t.name}</code>
                {t.requires_approval ? <span className="badge">approval</span> : null}
              </td>
              <td>{t.version}</td>
              <td className="wide">{t.description}</td>
              <td>{t.category}</td>
              <td>
                <label className="switch">
                  <input
                    type="checkbox"
                    role="switch"
                    checked={t.enabled}
                    disabled={!superuser}
                    onChange={() => void toggle(t)}
                    aria-label={`${t.name} enabled`}
                  />
                  {t.enabled ? "on" : "off"}
                </label>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
