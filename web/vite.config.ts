import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served by FastAPI: index.html at `/`, everything else under `/ui/` (see
// entrypoints/web/console.py). `npm run dev` proxies the API to a running `mai serve`.
export default defineConfig({
  base: "/ui/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
  server: {
    proxy: Object.fromEntries(
      ["/api", "/v1", "/graphql", "/health", "/ready"].map((p) => [p, "http://127.0.0.1:8000"]),
    ),
  },
});
