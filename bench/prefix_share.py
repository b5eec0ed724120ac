"""Shared by the prefix-cache benchmarks: a scripted conversation, the old layout, and how
much of each request a server with a prefix cache could reuse.

A local server (llama.cpp, LM Studio) keeps the previous request's KV cache and evaluates
only what follows the longest common prefix. `render` turns a chat-completions body into
the text such a server evaluates (tools first, then ChatML turns, as llama.cpp's
`chatml-function-calling` template does), and `prefix_share` compares two of them.
"""

from __future__ import annotations

import json
import random
import statistics
from dataclasses import dataclass, field
from typing import Any

from domain.agents.models import AgentDefinition, HistoryPolicy
from domain.memory.tokens import ApproximateTokenCounter

COUNTER = ApproximateTokenCounter()
MEMORY_NOTE = "What you remember about this user"

#: The layout before issue 14: every shipped agent used `max_messages: 10, max_tokens:
#: 4000` (the defaults), a sliding window, and recalled memories plus the summary before
#: the history. Reached through the same code with `history.layout: sliding`.
OLD_HISTORY = HistoryPolicy(max_messages=10, max_tokens=4000, layout="sliding")

USER_TURNS = [
    "Hi! I'm planning a trip to Lisbon in May with my sister. Any tips?",
    "We like food markets and walking. What neighbourhoods should we stay in?",
    "Is Alfama too hilly for someone with a bad knee?",
    "OK, Baixa sounds better. How do we get there from the airport?",
    "What time is it in Lisbon right now compared to Berlin?",
    "My sister is vegetarian. Is that easy in Portugal?",
    "Can you suggest a three-day plan, nothing too packed?",
    "Day two looks long. Could we swap Sintra for something closer?",
    "What is a pastel de nata exactly, and where is the best one?",
    "Do we need to book the Belém tower in advance?",
    "How much cash should we carry, or are cards fine everywhere?",
    "I always forget: what plug type do they use?",
    "Remind me which neighbourhood we picked and why.",
    "Let's talk about the flight. Is Tuesday usually cheaper than Friday?",
    "We fly from Berlin. Roughly how long is the flight?",
    "What should I pack for May weather there?",
    "Is tipping expected in restaurants?",
    "My sister wants to see fado. Is it touristy?",
    "Where can we hear fado that locals like?",
    "How late do restaurants usually serve dinner?",
    "Can you summarise the plan so far in a few bullet points?",
    "Is the Lisboa Card worth it for three days?",
    "What about trams: is tram 28 really worth the queue?",
    "Any day trip that is easy by train and not crowded?",
    "Cascais or Setúbal for a relaxed beach afternoon?",
    "We changed our minds: we will stay four days. Add a day to the plan.",
    "What is a nice last-evening dinner spot with a view?",
    "How early should we leave for the airport on the last day?",
    "Thanks! Anything else I should know about safety?",
    "One last thing: three Portuguese phrases we should learn?",
    "Great, and how do we say thank you as a woman versus a man?",
    "Perfect. Can you recap the four-day plan one more time?",
]

SEEDED_MEMORIES = [
    "The user has a bad knee and avoids steep hills.",
    "The user's sister is vegetarian.",
    "The user lives in Berlin and usually flies from BER.",
    "The user likes food markets and long walks.",
]

_WORDS = str.split(
    "Lisbon is compact and walkable, with trams, viewpoints and long lunches. Stay near "
    "Baixa or Chiado for flat streets and quick metro links. Markets like Time Out and "
    "Campo de Ourique open early; go before noon. Book popular places a day ahead and "
    "carry a light jacket for the evening wind from the river. Trains to Cascais leave "
    "from Cais do Sodré every twenty minutes and take about forty minutes along the coast."
)


def reply_text(seed: int) -> str:
    """A deterministic assistant reply of 35-110 words (a local model's typical answer)."""
    rng = random.Random(seed)
    n = rng.randint(35, 110)
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def summary_text(seed: int) -> str:
    rng = random.Random(10_000 + seed)
    return "The user plans a trip: " + " ".join(rng.choice(_WORDS) for _ in range(70))


def old_layout(definition: AgentDefinition) -> AgentDefinition:
    return definition.model_copy(update={"history": OLD_HISTORY})


def render(body: dict[str, Any]) -> str:
    """The text a llama.cpp-style server evaluates for a chat-completions request."""
    out: list[str] = []
    if body.get("tools"):
        out.append(json.dumps(body["tools"], sort_keys=True, ensure_ascii=False) + "\n")
    for message in body.get("messages", []):
        content = message.get("content") or ""
        if isinstance(content, list):
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        calls = message.get("tool_calls")
        if calls:
            content += json.dumps(calls, sort_keys=True, ensure_ascii=False)
        out.append(f"<|im_start|>{message.get('role')}\n{content}<|im_end|>\n")
    out.append("<|im_start|>assistant\n")
    return "".join(out)


def common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass
class ShareLog:
    """Every request a server received, in order; the chat ones are scored."""

    previous: str = ""
    shares: list[float] = field(default_factory=list)
    left_tokens: list[int] = field(default_factory=list)
    total_tokens: list[int] = field(default_factory=list)
    other_requests: int = 0
    with_memories: int = 0  # chat requests carrying recalled memories

    def record(self, text: str, *, chat: bool) -> None:
        reused = common_prefix(self.previous, text)
        self.previous = text
        if not chat:
            self.other_requests += 1
            return
        self.with_memories += MEMORY_NOTE in text
        total = COUNTER.count(text)
        left = COUNTER.count(text[reused:]) if reused < len(text) else 0
        self.shares.append(reused / len(text))
        self.left_tokens.append(left)
        self.total_tokens.append(total)

    def scored(self) -> tuple[list[float], list[int]]:
        """Shares and tokens left from the second chat request on (the first has no
        predecessor in the conversation)."""
        return self.shares[1:], self.left_tokens[1:]

    @property
    def median_share(self) -> float:
        return statistics.median(self.scored()[0])

    @property
    def median_left(self) -> float:
        return statistics.median(self.scored()[1])

    @property
    def total_left(self) -> int:
        return sum(self.scored()[1])
