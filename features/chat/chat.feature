Feature: Chatting with an agent
  A user talks to a typed agent turn after turn; every turn is stored, and a failed
  turn loses nothing.

  Background:
    Given a running MAI service
    And "ada" has signed up with password "correct-horse-1"
    And the language model answers

  Scenario: A multi-turn conversation remembers what was said
    When "ada" says "hello" to the "assistant" agent
    And "ada" says "how are you?" in the same conversation
    Then the reply is "echo: how are you? (turn 2)"
    And the conversation holds 4 messages, alternating user and assistant

  Scenario: A streamed reply arrives in pieces and is stored whole
    When "ada" streams "tell me something" to the "assistant" agent
    Then she receives several text deltas followed by done
    And the stored reply equals the streamed text

  Scenario: An agent uses a tool
    When "ada" says "what time is it?" to the "assistant" agent
    Then the agent called the tool "current_time"
    And the reply starts with "The time is"

  Scenario: The language model is down
    Given the language model is unreachable
    When "ada" says "hello" to the "assistant" agent
    Then the turn fails with "MODEL_UNAVAILABLE", marked retryable
    And her message is kept, marked failed
    When the language model answers again
    And "ada" says "hello again" in the same conversation
    Then the reply is "echo: hello again (turn 1)"
