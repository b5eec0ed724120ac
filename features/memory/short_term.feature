Feature: What the agent sees of a long conversation
  The context is bounded by the agent's budget, tool calls stay whole, old turns are
  summarized, and the cache going away never loses a turn.

  Background:
    Given a running MAI service
    And "ada" has signed up with password "correct-horse-1"
    And the language model answers
    And an agent "brief" that sees at most 4 messages

  Scenario: A long conversation stays within the budget
    When "ada" has a conversation of 10 turns with "brief"
    Then the model saw at most 4 earlier messages on the last turn
    And the conversation holds 20 messages, alternating user and assistant

  Scenario: Old turns are summarized once the window overflows
    Given summaries are written by a test summarizer
    When "ada" has a conversation of 10 turns with "brief"
    Then the model saw a summary of the earlier conversation

  Scenario: A tool call and its result survive truncation together
    When "ada" has a conversation of 3 turns with "brief"
    And "ada" says "what time is it?" in the same conversation
    And "ada" says "thanks" in the same conversation
    Then the model saw the tool call together with its result

  Scenario: The cache goes down mid-conversation
    When "ada" has a conversation of 2 turns with "brief"
    And the conversation cache goes down
    And "ada" says "still there?" in the same conversation
    Then the reply is "echo: still there? (turn 3)"
    And the conversation holds 6 messages, alternating user and assistant
