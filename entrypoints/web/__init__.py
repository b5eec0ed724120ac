"""The browser-facing pages: the web console at `/`, Swagger UI at `/docs` and GraphiQL at
`/graphql`, every script and style served from this server (built by `make web`)."""
